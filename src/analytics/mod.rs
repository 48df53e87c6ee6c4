//! Analytics: per-minute rollups, the figures of every dashboard, prices, drift and alerts.

pub mod alerts;
pub mod drift;
pub mod figures;
pub mod persist;
pub mod prices;
pub mod report;
pub mod rollup;
pub mod sketch;

use serde::{Deserialize, Serialize};

/// Analytics settings (the `[analytics]` table of the config file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Drift thresholds.
    pub drift: drift::DriftConfig,
    /// Alert thresholds.
    pub alerts: alerts::AlertConfig,
}
