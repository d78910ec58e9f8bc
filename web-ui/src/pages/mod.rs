//! The site's page kit and its own pages. The kit is the one place for what every page shares:
//! the document shell with the site navigation and the account bar (`shell`), the one error type
//! with its message page and the one blocking helper (`failure`), the one HTML escaper
//! (`escape`), the one percent-encoder (`address`), the one form parser (`form`) and numbers and times in words (`format`).
//! The pages here are status, sign-in, and 404/405 (in `shell`). Pages must never interpolate
//! text without `Escaped`, never emit inline scripts, inline styles or event handlers (the CSP
//! forbids them), and never link a role to a page it may not open; scripts and styles come from
//! `crate::assets`. A new page copies nothing: it renders its `<main>` and hands it to
//! [`Shell::render`].

mod address;
mod escape;
mod failure;
mod form;
mod format;
mod login;
mod shell;
mod status;

pub(crate) use address::{percent_encode, url};
pub(crate) use escape::Escaped;
pub(crate) use failure::Failure;
pub use failure::blocking;
pub(crate) use form::FormFields;
pub(crate) use format::{bytes, civil_from_days, count, counted, time_element};
pub(crate) use login::{LoginForm, LoginProblem, page as login};
pub(crate) use shell::{
    Back, Shell, TO_THE_DOCK, Viewer, Visitor, message, message_for, method_not_allowed, not_found,
};
pub(crate) use status::page as status;
