//! The signed self-update (issue 17): what a release must prove (`manifest`, `keys`), how it is
//! fetched (`fetch`), where versions live and which one runs (`slots`), one check and one install
//! (`install`), the daemon's updater task (`daemon`), and the launcher that starts a version on
//! trial, judges its health from outside and rolls it back (`launcher`, `health`). It owns the
//! update's decisions; the pure parts never do I/O, and nothing here installs or runs a version
//! that the compiled-in keys did not verify.

pub mod daemon;
pub mod fetch;
pub mod health;
pub mod install;
pub mod keys;
pub mod launcher;
pub mod manifest;
pub mod slots;
