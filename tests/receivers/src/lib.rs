//! Test-only receivers for batched cloud upload (issue 14): a real HTTPS receiver ([`https`]) with
//! a test CA, its own SQLite database and failure modes set at run time, a real S3-compatible
//! server ([`s3`], `s3s-fs` verifying SigV4) started as a child process, a real HTTP `CONNECT`
//! proxy ([`proxy`]) as site networks require, DuckDB ([`duckdb`]) to query what it keeps as
//! a fleet would, and a release server with signed test releases ([`releases`], issue 17). It
//! owns what the receiving end does in the tests; it must never be linked into the daemon, never
//! know dockd's types (the wire contract is its only interface) and never ignore a TLS or
//! signature check.

pub mod duckdb;
pub mod https;
pub mod proxy;
pub mod releases;
pub mod s3;
mod store;
mod tls;

pub use https::{Fault, HttpsReceiver, ReceiverConfig, ReceiverError};
pub use proxy::ConnectProxy;
pub use releases::{Attack, Release, ReleaseKit, ReleaseServer, Serve};
pub use s3::{S3Error, S3Server};
pub use store::{Delivery, Item};
pub use tls::TestCa;
