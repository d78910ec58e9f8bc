//! Emulated wearables (work in progress).
