//! Emulated wearables over Unix and TCP sockets (work in progress).
