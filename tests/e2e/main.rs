//! End-to-end tests: each starts the real `dockd` binary as a process on its own temp folder, docks
//! emulated wearables over its socket, and checks what a user or another program can see — the
//! SQLite file, `dockd status`, the web page — against the emulator's ground truth. They must never
//! reach into the daemon's memory.

mod cli;
mod spine;
mod support;
