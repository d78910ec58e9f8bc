//! The sign-in page: one form (user name, password), server-rendered, usable with a keyboard and
//! a screen reader and on a 375 px phone, with no script at all. It must never put the password
//! back into the page, and never put the user name or `next` into it unescaped.

use std::fmt;

use axum::{http::StatusCode, response::Response};

use super::{Escaped, Shell};

/// What went wrong with the last attempt, in words on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginProblem {
    Refused,
    /// Throttled: whole seconds to wait.
    Wait(u64),
    TooLong,
}

/// What the form shows.
pub(crate) struct LoginForm<'a> {
    /// Where to go after signing in (already checked by `auth::safe_next`).
    pub(crate) next: Option<&'a str>,
    /// The user name to fill in again after a failed attempt.
    pub(crate) username: &'a str,
    pub(crate) problem: Option<LoginProblem>,
}

/// The page with `status` (200, or 401/429/400 after a failed attempt). Never cached: it may hold
/// a user name.
pub(crate) fn page(status: StatusCode, dock: &str, form: &LoginForm<'_>) -> Response {
    Shell::new(&format!("Sign in · {dock}"))
        .own_heading()
        .main_class("login")
        .render(status, None, &Body { dock, form }.to_string())
}

struct Body<'a> {
    dock: &'a str,
    form: &'a LoginForm<'a>,
}

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LoginForm {
            next,
            username,
            problem,
        } = self.form;
        write!(
            f,
            "<h1>Sign in</h1>\n<p class=\"login-dock\">{}</p>\n",
            Escaped(self.dock)
        )?;
        // The message comes first so a screen reader meets it before the fields; the fields
        // point at it with aria-describedby.
        let described = if let Some(problem) = problem {
            writeln!(
                f,
                "<p id=\"login-problem\" class=\"login-problem\" role=\"alert\">{}</p>",
                problem_text(*problem)
            )?;
            " aria-describedby=\"login-problem\" aria-invalid=\"true\""
        } else {
            ""
        };
        f.write_str("<form class=\"login-form\" method=\"post\" action=\"/login\">\n")?;
        if let Some(next) = next {
            writeln!(
                f,
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                Escaped(next)
            )?;
        }
        // Focus starts where typing is needed: the name, or the password when the name is
        // already filled in.
        let (name_focus, password_focus) = if username.is_empty() {
            (" autofocus", "")
        } else {
            ("", " autofocus")
        };
        write!(
            f,
            "<label for=\"username\">User name</label>\n\
             <input id=\"username\" name=\"username\" type=\"text\" value=\"{}\" \
             autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" \
             maxlength=\"128\" required{name_focus}{described}>\n\
             <label for=\"password\">Password</label>\n\
             <input id=\"password\" name=\"password\" type=\"password\" \
             autocomplete=\"current-password\" maxlength=\"1024\" \
             required{password_focus}{described}>\n\
             <button type=\"submit\">Sign in</button>\n</form>\n\
             <p class=\"login-help\">Forgot your password? Ask an admin of this dock to set a new one.</p>\n",
            Escaped(username),
        )
    }
}

fn problem_text(problem: LoginProblem) -> String {
    match problem {
        LoginProblem::Refused => {
            "That user name and password do not match. Check them and try again.".to_owned()
        }
        LoginProblem::Wait(1) => "Too many attempts. Wait 1 second, then try again.".to_owned(),
        LoginProblem::Wait(secs) => {
            format!("Too many attempts. Wait {secs} seconds, then try again.")
        }
        LoginProblem::TooLong => "That user name or password is too long.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(form: &LoginForm<'_>) -> String {
        Body {
            dock: "Dock <A>",
            form,
        }
        .to_string()
    }

    #[test]
    fn every_field_has_a_label_and_the_right_autocomplete() {
        let html = render(&LoginForm {
            next: None,
            username: "",
            problem: None,
        });
        assert!(html.contains("<label for=\"username\">User name</label>"));
        assert!(html.contains("<label for=\"password\">Password</label>"));
        assert!(html.contains("autocomplete=\"username\""));
        assert!(html.contains("autocomplete=\"current-password\""));
        assert!(html.contains("name=\"username\" type=\"text\" value=\"\""));
        assert!(html.contains("required autofocus>"));
        assert!(html.contains("Dock &lt;A&gt;"));
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains("name=\"next\""));
    }

    #[test]
    fn after_a_failed_attempt_the_name_is_kept_escaped_and_the_problem_is_announced() {
        let html = render(&LoginForm {
            next: Some("/x?a=\"><script>"),
            username: "\"><script>alert(1)</script>",
            problem: Some(LoginProblem::Refused),
        });
        assert!(!html.contains("<script"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(html.contains("role=\"alert\">That user name and password do not match."));
        assert!(html.contains("aria-describedby=\"login-problem\""));
        assert!(html.contains("name=\"next\" value=\"/x?a=&quot;&gt;&lt;script&gt;\""));
        // Focus moves on to the password.
        assert!(html.contains("required autofocus aria-describedby"));
        assert_eq!(html.matches("autofocus").count(), 1);
    }

    #[test]
    fn a_throttled_attempt_says_how_long_to_wait() {
        assert_eq!(
            problem_text(LoginProblem::Wait(1)),
            "Too many attempts. Wait 1 second, then try again."
        );
        assert!(problem_text(LoginProblem::Wait(4)).contains("Wait 4 seconds"));
    }
}
