//! The signed self-update (issue 17): what a release must prove (`manifest`, `keys`), how it is
//! fetched (`fetch`), where versions live and which one runs (`slots`), and the launcher that
//! starts a version on trial, judges its health and rolls it back (`launcher`). It owns the
//! update's decisions; the pure parts never do I/O, and nothing here installs or runs a version
//! that the compiled-in keys did not verify.

pub mod fetch;
pub mod keys;
pub mod manifest;
