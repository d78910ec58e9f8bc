//! The signed self-update (issue 17), being built: so far its pure first step, `manifest` — what
//! a release server's signed manifest must prove before anything is downloaded. It owns the
//! update's decisions; it must never install, download or restart by itself (the I/O around it
//! comes next, as `pull/client.rs` drives `link/session.rs`).

pub mod manifest;
