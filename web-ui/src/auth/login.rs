//! The sign-in and sign-out handlers: the sign-in page and form (`/login`), JSON sign-in for API
//! clients (`/api/v1/login`), `/logout` and `/api/v1/logout`, and `/api/v1/session`. They must never echo a password,
//! never keep a session id across a sign-in (a new one every time), and never redirect to
//! anything `safe_next` did not pass.

use std::sync::Arc;

use axum::{
    Extension, Json,
    body::{Body, to_bytes},
    extract::{RawQuery, State},
    http::{
        HeaderMap, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE},
    },
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    Auth, Busy, ClientIp, LOGIN_PATH, SessionId, SignIn, checks::COME_BACK, error_json,
    retry_after_secs, safe_next, see_other,
};
use crate::{
    SharedView,
    access::{CsrfToken, CurrentUser},
    pages::{self, LoginForm, LoginProblem},
};

/// Sign-in bodies are small; anything bigger is not read.
const BODY_LIMIT: usize = 16 * 1024;
/// Longer user names are refused without a password check.
const MAX_USERNAME: usize = 128;
/// Longer passwords are refused without a password check (argon2 on megabytes is a DoS).
const MAX_PASSWORD: usize = 1024;

/// `GET /login`: the sign-in page; a signed-in visitor goes straight on to `next` (or `/`).
pub(crate) async fn page(
    State(view): State<SharedView>,
    State(auth): State<Arc<Auth>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = query.as_deref().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "next")
            .map(|(_, next)| next.into_owned())
    });
    let next = next.as_deref().and_then(safe_next);
    if auth.signed_in(&headers).is_some() {
        return see_other(next.unwrap_or("/"));
    }
    let form = LoginForm {
        next,
        username: "",
        problem: None,
    };
    pages::login(StatusCode::OK, &view.snapshot().dock, &form)
}

/// `POST /login` (form fields `username`, `password`, `next`): on success a new session and a
/// 303 to `next` (or `/`); otherwise the page again with the problem in words (401, 429).
pub(crate) async fn form(
    State(view): State<SharedView>,
    State(auth): State<Arc<Auth>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return pages::message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The dock could not read this form. Go back and try again.",
        );
    };
    let (mut username, mut password, mut next) = (String::new(), String::new(), None);
    for (name, value) in form_urlencoded::parse(&bytes) {
        match &*name {
            "username" => username = value.into_owned(),
            "password" => password = value.into_owned(),
            "next" => next = Some(value.into_owned()),
            _ => {}
        }
    }
    let next = next.as_deref().and_then(safe_next);
    let shown_name = if username.len() <= MAX_USERNAME {
        username.as_str()
    } else {
        ""
    };
    let mut status = None;
    let problem = if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        LoginProblem::TooLong
    } else {
        match auth.sign_in(&username, password, client).await {
            SignIn::Started { id, .. } => {
                auth.end_presented(&headers);
                let mut response = see_other(next.unwrap_or("/"));
                if let Ok(cookie) = auth.session_cookie(&id).try_into() {
                    response.headers_mut().insert(SET_COOKIE, cookie);
                }
                return response;
            }
            SignIn::Refused => LoginProblem::Refused,
            SignIn::Wait(wait) => LoginProblem::Wait(retry_after_secs(wait)),
            SignIn::Busy(busy) => {
                status = Some(busy_status(busy));
                LoginProblem::Wait(retry_after_secs(COME_BACK))
            }
            SignIn::Broken => return broken_page(),
        }
    };
    let status = status.unwrap_or(match problem {
        LoginProblem::Refused => StatusCode::UNAUTHORIZED,
        LoginProblem::Wait(_) => StatusCode::TOO_MANY_REQUESTS,
        LoginProblem::TooLong => StatusCode::BAD_REQUEST,
    });
    let form = LoginForm {
        next,
        username: shown_name,
        problem: Some(problem),
    };
    let mut response = pages::login(status, &view.snapshot().dock, &form);
    if let LoginProblem::Wait(secs) = problem {
        response.headers_mut().insert(RETRY_AFTER, secs.into());
    }
    response
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/v1/login` with `{"username", "password"}` (as `application/json`, so a cross-site
/// form cannot send it without a CORS preflight): 200 with `{user, role, csrf_token}` and the
/// session cookie; 401 on bad credentials; 429 with `Retry-After` when throttled.
pub(crate) async fn json(
    State(auth): State<Arc<Auth>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return error_json(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json");
    }
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return error_json(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    };
    let Ok(Credentials { username, password }) = serde_json::from_slice(&bytes) else {
        return error_json(
            StatusCode::BAD_REQUEST,
            "expected {\"username\": …, \"password\": …}",
        );
    };
    if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return error_json(StatusCode::BAD_REQUEST, "user name or password too long");
    }
    match auth.sign_in(&username, password, client).await {
        SignIn::Started { id, session } => {
            auth.end_presented(&headers);
            let body = SessionBody::new(&session.user, &session.csrf);
            (
                [
                    (SET_COOKIE, auth.session_cookie(&id)),
                    (CACHE_CONTROL, "no-store".to_owned()),
                ],
                Json(body),
            )
                .into_response()
        }
        SignIn::Refused => error_json(StatusCode::UNAUTHORIZED, "wrong user name or password"),
        SignIn::Wait(wait) => {
            let secs = retry_after_secs(wait);
            let mut response = error_json(StatusCode::TOO_MANY_REQUESTS, "too many attempts");
            response.headers_mut().insert(RETRY_AFTER, secs.into());
            response
        }
        SignIn::Busy(busy) => {
            let error = match busy {
                Busy::Address => "a sign-in from this address is already being checked",
                Busy::Dock => "the dock is busy checking other sign-ins",
            };
            let mut response = error_json(busy_status(busy), error);
            let secs = retry_after_secs(COME_BACK);
            response.headers_mut().insert(RETRY_AFTER, secs.into());
            response
        }
        SignIn::Broken => error_json(StatusCode::INTERNAL_SERVER_ERROR, "sign-in failed"),
    }
}

/// `POST /logout`: ends the session, removes the cookie, back to the sign-in page.
pub(crate) async fn logout(
    State(auth): State<Arc<Auth>>,
    session: Option<Extension<SessionId>>,
) -> Response {
    if let Some(Extension(id)) = session {
        auth.sign_out(&id).await;
    }
    let mut response = see_other(LOGIN_PATH);
    if let Ok(clear) = auth.clear_cookie().try_into() {
        response.headers_mut().insert(SET_COOKIE, clear);
    }
    response
}

/// `POST /api/v1/logout` (with the `X-CSRF-Token` header): ends the session and removes the
/// cookie; 204 with no body.
pub(crate) async fn logout_json(
    State(auth): State<Arc<Auth>>,
    session: Option<Extension<SessionId>>,
) -> Response {
    if let Some(Extension(id)) = session {
        auth.sign_out(&id).await;
    }
    let mut response = (StatusCode::NO_CONTENT, [(CACHE_CONTROL, "no-store")]).into_response();
    if let Ok(clear) = auth.clear_cookie().try_into() {
        response.headers_mut().insert(SET_COOKIE, clear);
    }
    response
}

/// `GET /api/v1/session`: who is signed in, and the CSRF token for the client's next writes.
pub(crate) async fn session(
    user: Option<Extension<CurrentUser>>,
    token: Option<Extension<CsrfToken>>,
) -> Response {
    match (user, token) {
        (Some(Extension(user)), Some(Extension(token))) => (
            [(CACHE_CONTROL, "no-store")],
            Json(SessionBody::new(&user, token.as_str())),
        )
            .into_response(),
        _ => error_json(StatusCode::UNAUTHORIZED, "sign in first"),
    }
}

/// The session as the API shows it.
#[derive(serde::Serialize)]
struct SessionBody<'a> {
    user: &'a str,
    role: crate::access::Role,
    csrf_token: &'a str,
}

impl<'a> SessionBody<'a> {
    fn new(user: &'a CurrentUser, csrf_token: &'a str) -> Self {
        SessionBody {
            user: &user.name,
            role: user.role,
            csrf_token,
        }
    }
}

/// 429 when the client's own address has a check in flight, 503 when the dock is full.
fn busy_status(busy: Busy) -> StatusCode {
    match busy {
        Busy::Address => StatusCode::TOO_MANY_REQUESTS,
        Busy::Dock => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn broken_page() -> Response {
    pages::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-in failed",
        "The dock could not sign you in just now. Try again in a minute.",
    )
}
