//! The simulated fleet: agent profiles and the runs they emit, in three instrumentation
//! dialects so the semantic mapping is exercised. `dataset` builds a deterministic history for
//! fixtures and screenshots.

pub mod dataset;
pub mod fleet;
pub mod profiles;
pub mod runs;
