//! The wearable link protocol, sans-IO (work in progress).
