//! Configuration: defaults, then the config file, then `COCKPIT_*` environment, then flags.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::analytics::AnalyticsConfig;
use crate::analytics::prices::{Price, PriceTable};
use crate::api::auth::Tokens;
use crate::control::webhooks::WebhookConfig;
use crate::engine::{EngineConfig, QUEUE_CAPACITY};
use crate::ingest::convert::Limits;
use crate::store::settle::SettlePolicy;

/// The effective configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// OTLP/gRPC listen address.
    pub otlp_grpc: String,
    /// OTLP/HTTP listen address.
    pub otlp_http: String,
    /// API listen address.
    pub api: String,
    /// Where state lives (default: the platform data directory).
    pub data_dir: Option<PathBuf>,
    /// Hot-window memory budget, like `512MiB` or `2GiB`.
    pub memory_budget: String,
    /// Largest OTLP request accepted, after decompression.
    pub max_request_size: String,
    /// Longest attribute string kept whole; longer ones are cut and their size noted.
    pub max_attribute_bytes: usize,
    /// Items that may wait in the ingest queue before ingest answers "retry later".
    pub queue_capacity: usize,
    /// Bearer token required on OTLP ingest (`COCKPIT_INGEST_TOKEN`).
    pub ingest_token: Option<String>,
    /// Operator token (`COCKPIT_OPERATOR_TOKEN`).
    pub operator_token: Option<String>,
    /// Viewer token (`COCKPIT_VIEWER_TOKEN`).
    pub viewer_token: Option<String>,
    /// Agent token (`COCKPIT_AGENT_TOKEN`).
    pub agent_token: Option<String>,
    /// A LiteLLM `model_prices_and_context_window.json` to import over the built-in prices.
    pub prices_file: Option<PathBuf>,
    /// Per-model price overrides (USD per token), applied last.
    pub prices: BTreeMap<String, Price>,
    /// How long rollups are kept, days.
    pub retention_days: u32,
    /// Drift and alert thresholds.
    pub analytics: AnalyticsConfig,
    /// Refuse every lever (TUI and API).
    pub read_only: bool,
    /// Where control-plane events are posted.
    pub webhooks: Vec<WebhookConfig>,
    /// TUI theme: dark, light, high-contrast, mono, a name in `<config dir>/themes/`, or a path.
    pub theme: String,
    /// Key binding overrides: action name → a key or a list of keys (the help, `?`, names them).
    #[serde(deserialize_with = "one_or_many")]
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            otlp_grpc: "127.0.0.1:4317".into(),
            otlp_http: "127.0.0.1:4318".into(),
            api: "127.0.0.1:7317".into(),
            data_dir: None,
            memory_budget: "512MiB".into(),
            max_request_size: "64MiB".into(),
            max_attribute_bytes: 64 * 1024,
            queue_capacity: QUEUE_CAPACITY,
            ingest_token: None,
            operator_token: None,
            viewer_token: None,
            agent_token: None,
            prices_file: None,
            prices: BTreeMap::new(),
            retention_days: 8,
            analytics: AnalyticsConfig::default(),
            read_only: false,
            webhooks: Vec::new(),
            theme: "dark".into(),
            keys: BTreeMap::new(),
        }
    }
}

/// An action's keys in `[keys]`: one (`kill = "X"`) or a list (`down = ["j", "down"]`).
#[derive(Deserialize)]
#[serde(untagged, expecting = "a key like \"K\" or a list of keys like [\"j\", \"down\"]")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Reads `[keys]` as lists of keys.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let raw: BTreeMap<String, OneOrMany> = Deserialize::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(name, keys)| match keys {
            OneOrMany::One(k) => (name, vec![k]),
            OneOrMany::Many(ks) => (name, ks),
        })
        .collect())
}

/// The platform's config file path for the cockpit.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "agentops-cockpit").map(|d| d.config_dir().join("config.toml"))
}

fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "agentops-cockpit")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("cockpit-data"))
}

/// Parses a window like `5m`, `1h`, `24h`, `7d` (or `90s`) into seconds.
pub fn parse_window(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a window like 15m, 1h or 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h, d or w)")),
    };
    match n.checked_mul(secs) {
        Some(0) | None => Err(format!("{s:?} is not a usable window")),
        Some(v) => Ok(v.max(60)),
    }
}

/// Parses a size like `512MiB`, `2GiB`, `64MB` or a plain number of bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let size = bytesize::ByteSize::from_str(s.trim()).map_err(|e| format!("{s:?} is not a size like 512MiB: {e}"))?;
    usize::try_from(size.as_u64()).map_err(|_| format!("{s:?} is too large"))
}

impl Config {
    /// Reads the file at `path` (if it exists, or must exist when `required`), then the environment.
    pub fn load(path: Option<&Path>, required: bool) -> Result<Self, String> {
        let mut cfg = match path {
            Some(p) if p.exists() || required => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("config {}: {e}", p.display()))?
            }
            _ => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok());
        Ok(cfg)
    }

    /// Overrides from `COCKPIT_*` variables (flags are applied after, by the CLI).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let set = |slot: &mut String, key: &str| {
            if let Some(v) = var(key).filter(|v| !v.is_empty()) {
                *slot = v;
            }
        };
        set(&mut self.otlp_grpc, "COCKPIT_OTLP_GRPC");
        set(&mut self.otlp_http, "COCKPIT_OTLP_HTTP");
        set(&mut self.api, "COCKPIT_API");
        set(&mut self.memory_budget, "COCKPIT_MEMORY_BUDGET");
        set(&mut self.max_request_size, "COCKPIT_MAX_REQUEST_SIZE");
        if let Some(v) = var("COCKPIT_DATA_DIR").filter(|v| !v.is_empty()) {
            self.data_dir = Some(v.into());
        }
        for (slot, key) in [
            (&mut self.ingest_token, "COCKPIT_INGEST_TOKEN"),
            (&mut self.operator_token, "COCKPIT_OPERATOR_TOKEN"),
            (&mut self.viewer_token, "COCKPIT_VIEWER_TOKEN"),
            (&mut self.agent_token, "COCKPIT_AGENT_TOKEN"),
        ] {
            if let Some(v) = var(key).filter(|v| !v.trim().is_empty()) {
                *slot = Some(v.trim().to_owned());
            }
        }
    }

    /// The data directory in effect.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// Engine settings, with sizes parsed.
    pub fn engine(&self) -> Result<EngineConfig, String> {
        Ok(EngineConfig {
            memory_budget: parse_size(&self.memory_budget).map_err(|e| format!("memory budget: {e}"))?,
            queue_capacity: self.queue_capacity.max(1),
            limits: Limits { max_attr_bytes: self.max_attribute_bytes.max(64) },
            prices: self.price_table()?,
            settle: SettlePolicy::default(),
            data_clock: false,
            data_dir: Some(self.data_dir()),
            analytics: self.analytics.clone(),
            retention_days: self.retention_days.max(1),
        })
    }

    /// Built-in prices, then the LiteLLM file, then the per-model overrides.
    pub fn price_table(&self) -> Result<PriceTable, String> {
        let mut table = PriceTable::builtin();
        if let Some(path) = &self.prices_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read prices file {}: {e}", path.display()))?;
            table.import_litellm(&text).map_err(|e| format!("prices file {}: {e}", path.display()))?;
        }
        for (model, price) in &self.prices {
            table.set(model, price.clone());
        }
        Ok(table)
    }

    /// The largest request body, bytes.
    pub fn max_request_bytes(&self) -> Result<usize, String> {
        parse_size(&self.max_request_size).map_err(|e| format!("max request size: {e}"))
    }

    /// The API tokens.
    pub fn tokens(&self) -> Tokens {
        Tokens {
            operator: self.operator_token.clone(),
            viewer: self.viewer_token.clone(),
            agent: self.agent_token.clone(),
        }
    }

    /// The configuration as TOML with secrets masked, for `cockpit config`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        for t in [&mut shown.ingest_token, &mut shown.operator_token, &mut shown.viewer_token, &mut shown.agent_token] {
            if t.is_some() {
                *t = Some("<set>".into());
            }
        }
        for w in &mut shown.webhooks {
            if w.secret.is_some() {
                w.secret = Some("<set>".into());
            }
        }
        shown.data_dir = Some(self.data_dir());
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_queue_is_the_documented_one() {
        // The config's default once said 200,000 while the engine and docs/ingest.md said
        // 50,000: under overload the queue held four times the memory the budget allowed for.
        let engine = Config::default().engine().expect("engine config");
        assert_eq!(engine.queue_capacity, QUEUE_CAPACITY);
        assert_eq!(engine.queue_capacity, EngineConfig::default().queue_capacity);
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("5m"), Ok(300));
        assert_eq!(parse_window("24h"), Ok(86_400));
        assert_eq!(parse_window("7d"), Ok(604_800));
        assert_eq!(parse_window("30s"), Ok(60), "a window is at least a minute");
        assert!(parse_window("1y").is_err());
        assert!(parse_window("0h").is_err());
        assert!(parse_window("h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn env_overrides_file_values() {
        let mut cfg: Config = toml::from_str("otlp_grpc = \"127.0.0.1:1\"\nmemory_budget = \"1GiB\"").expect("toml");
        cfg.apply_env(|k| match k {
            "COCKPIT_OTLP_GRPC" => Some("127.0.0.1:2".into()),
            "COCKPIT_OPERATOR_TOKEN" => Some(" secret ".into()),
            _ => None,
        });
        assert_eq!(cfg.otlp_grpc, "127.0.0.1:2");
        assert_eq!(cfg.memory_budget, "1GiB");
        assert_eq!(cfg.operator_token.as_deref(), Some("secret"));
        assert!(cfg.to_masked_toml().contains("<set>"));
        assert!(!cfg.to_masked_toml().contains("secret"));
    }

    #[test]
    fn an_action_takes_one_key_or_a_list() {
        let cfg: Config = toml::from_str("[keys]\nkill = \"X\"\ndown = [\"j\", \"down\"]\nsort = []").expect("toml");
        assert_eq!(cfg.keys["kill"], ["X"]);
        assert_eq!(cfg.keys["down"], ["j", "down"]);
        assert!(cfg.keys["sort"].is_empty());
        let err = toml::from_str::<Config>("[keys]\nkill = 3").expect_err("a number is no key");
        assert!(err.to_string().contains("a key like"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<Config>("otlp_grcp = \"x\"").expect_err("typo must fail");
        assert!(err.to_string().contains("otlp_grcp"), "{err}");
    }
}
