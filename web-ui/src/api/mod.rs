//! The JSON API, version 1, for the dock: the same snapshot the status page shows, as a document
//! and as a live event stream (sign-in and session are in `crate::auth::login`; the routes are in
//! `crate::ROUTES`). It must never accept request bodies and never add fields that identify
//! workers.

mod events;
pub(crate) mod openapi;
mod status;

pub(crate) use events::events;
pub(crate) use openapi::openapi;
pub(crate) use status::status;
