//! End-to-end tests: each starts the real `dockd` binary as a process on its own temp folder, docks
//! emulated wearables over its socket, and checks what a user or another program can see — the
//! SQLite file, `dockd status`, the web page — against the emulator's ground truth. They must never
//! reach into the daemon's memory.

// Test code: a step that fails should fail the test, loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod analysis;
mod browser;
mod cli;
mod control;
mod diagnostics;
mod encryption;
mod operations;
mod package;
mod privacy;
mod roster;
mod spine;
mod support;
mod tidy;
mod update;
mod update_ux;
mod upload;
mod upload_crash;
mod usb;
