//! Test-only receivers for batched cloud upload (issue 14): a real HTTPS receiver ([`https`]) with
//! a test CA, its own SQLite database and failure modes set at run time, a real S3-compatible
//! server ([`s3`], `s3s-fs` verifying SigV4) started as a child process, a real HTTP `CONNECT`
//! proxy ([`proxy`]) as site networks require, and DuckDB ([`duckdb`]) to query what it keeps as
//! a fleet would. It owns what the receiving end does in the tests; it must never be linked into
//! the daemon, never know dockd's types (the wire contract is its only interface) and never
//! ignore a TLS or signature check.

pub mod duckdb;
pub mod https;
pub mod proxy;
pub mod s3;
mod store;
mod tls;

pub use https::{Fault, HttpsReceiver, ReceiverConfig, ReceiverError};
pub use proxy::ConnectProxy;
pub use s3::{S3Error, S3Server};
pub use store::{Delivery, Item};
pub use tls::TestCa;
