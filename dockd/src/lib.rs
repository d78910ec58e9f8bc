//! dockd: the charging dock's daemon for workplace-safety wearables.
//!
//! # Layout
//! - `link`: the wearable link protocol, sans-IO (frames, messages, segments, time anchors, session).
//! - `transport`: the stream seam every transport implements, and the socket transport.
//! - `emulator`: emulated wearables (firmware model, synthetic shifts, faults) for demo and tests.
//! - `worker`: the badge-tag type that never prints.
//!
//! See ARCHITECTURE.md at the repository root for how these fit together.

pub mod accounts;
pub mod analysis;
pub mod analyst;
pub mod app;
pub mod backup;
pub mod clock;
pub mod config;
pub mod control;
pub mod diag;
pub mod dock;
pub mod emulator;
pub mod https_client;
pub mod ingest;
pub mod link;
pub mod locked;
pub mod logbook;
pub mod metrics;
pub mod privacy;
pub mod pull;
pub mod role;
pub mod selftest;
pub mod shutdown;
pub mod site;
pub mod store;
pub mod systemd;
pub mod transport;
pub mod update;
pub mod upload;
pub mod uploader;
pub mod version;
pub mod views;
pub mod web_tls;
pub mod worker;
