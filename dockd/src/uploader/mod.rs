//! The upload driver's I/O side: the handle every surface (page, console, status) asks about the
//! upload queue. It must never hold worker data or a secret.

pub mod handle;
