//! The published models, as exact formulas with their constants and sources (risk-models.md): LiFFT
//! cumulative damage and risk, the revised NIOSH lifting equation, ISO 11226 trunk-posture verdicts
//! and holding times, Hoogendoorn exposure flags, and (comparison only) a vendor's event rules. It
//! owns the numbers; it must never apply them to a worker (that is `tasks`, `exposure` and `risk`),
//! and never contain a constant without its source.

pub mod hoogendoorn;
pub mod iso11226;
pub mod lifft;
pub mod niosh;
pub mod vendor;
