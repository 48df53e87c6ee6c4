//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// AgentOps Cockpit — an operations console for fleets of LLM agents.
#[derive(Debug, Parser)]
#[command(
    name = "cockpit",
    version,
    about,
    long_about = "AgentOps Cockpit — an operations console for fleets of LLM agents.\n\nWith no command: the engine (OTLP receivers and the API) and the TUI over it."
)]
pub struct Cli {
    /// Config file (default: the platform config dir's agentops-cockpit/config.toml).
    #[arg(long, global = true, env = "COCKPIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Record time to first frame and key press → frame latency; written to FILE as JSON when
    /// the TUI exits.
    #[arg(long, global = true, value_name = "FILE")]
    pub frame_timing: Option<PathBuf>,
    /// Engine and TUI flags (with no command).
    #[command(flatten)]
    pub engine: EngineArgs,
    /// What to run (default: the engine and the TUI).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine headless: OTLP receivers and the API.
    Serve(EngineArgs),
    /// Load OTLP/JSON files (Collector file-exporter format) and open the TUI over them (print
    /// the stats instead when stdout is not a terminal), or keep serving with --serve.
    Replay(ReplayArgs),
    /// Print the effective configuration and the paths in use.
    Config(EngineArgs),
    /// Print every dashboard's figures for a window, as Markdown or JSON.
    Report(ReportArgs),
    /// A simulated agent fleet talking to the engine over the real protocols, with the TUI.
    Demo(DemoArgs),
    /// The TUI over a `cockpit serve` elsewhere, through its operator API.
    Attach(AttachArgs),
    /// Realistic agent traffic at a rate or flat out, to measure an engine.
    Loadgen(LoadgenArgs),
    /// Check or show the audit log.
    Audit(AuditArgs),
    /// Incident tools.
    Incident(IncidentArgs),
}

/// Flags of `cockpit loadgen`.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Receiver: `http://127.0.0.1:4317` for gRPC, `http://127.0.0.1:4318` for HTTP.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub endpoint: String,
    /// Wire format.
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: crate::loadgen::Protocol,
    /// Compress with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// How long, like 15s or 1m.
    #[arg(long, default_value = "15s")]
    pub duration: String,
    /// Target spans per second (absent: flat out).
    #[arg(long, value_name = "SPANS_PER_SEC")]
    pub rate: Option<f64>,
    /// Concurrent connections (1 to 4096).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=crate::loadgen::MAX_CONNECTIONS as i64))]
    pub connections: u16,
    /// Runs (of ~8–15 spans) per export request.
    #[arg(long, default_value_t = 64)]
    pub runs_per_request: usize,
    /// Distinct agents the traffic names (default: the demo fleet's five).
    #[arg(long)]
    pub agents: Option<usize>,
    /// Distinct tools (default: the demo fleet's own).
    #[arg(long)]
    pub tools: Option<usize>,
    /// Distinct models (default: the demo fleet's own).
    #[arg(long)]
    pub models: Option<usize>,
    /// First measure the decode-only ceiling this long (gRPC): the same load against a receiver
    /// inside the loadgen that only decodes; the report adds the ceiling and the ratio.
    #[arg(long, value_name = "DURATION")]
    pub ceiling: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `cockpit attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The engine's API (default: the configured API address). Token from COCKPIT_OPERATOR_TOKEN,
    /// or COCKPIT_VIEWER_TOKEN for a read-only console.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// This console's name in presence and the audit log (default: user@host).
    #[arg(long)]
    pub console: Option<String>,
    /// TUI theme: dark, light, high-contrast, mono, or a theme file.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

/// Flags of `cockpit demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Engine flags (listeners default to free ports; state to a fresh directory).
    #[command(flatten)]
    pub engine: EngineArgs,
    /// No TUI: print the address record and run until SIGINT/SIGTERM.
    #[arg(long)]
    pub headless: bool,
    /// Only the fleet, against an engine elsewhere (needs --otlp-endpoint and --api-endpoint).
    #[arg(long, requires_all = ["otlp_endpoint", "api_endpoint"])]
    pub fleet_only: bool,
    /// OTLP endpoint of that engine (`http://host:4318` for HTTP; gRPC is its port 4317).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// OTLP/gRPC endpoint of that engine (default: the OTLP endpoint's host, port 4317).
    #[arg(long, value_name = "URL")]
    pub otlp_grpc_endpoint: Option<String>,
    /// Agent API of that engine (`http://host:7317`).
    #[arg(long, value_name = "URL")]
    pub api_endpoint: Option<String>,
    /// Time compression: runs come N times as often and scripted incidents N times sooner.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Random seed (the same seed replays the same fleet).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No scripted timeline: incidents start only with `:demo incident NAME`.
    #[arg(long)]
    pub no_timeline: bool,
}

/// Flags of `cockpit audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AuditAction,
    /// The data directory holding `control.db`.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// `cockpit audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain; exit 0 when intact, 1 naming the first broken entry.
    Verify,
    /// Print the newest entries.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
    },
}

/// Flags of `cockpit incident`.
#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: IncidentAction,
    /// The data directory holding `control.db`.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// `cockpit incident` subcommands.
#[derive(Debug, Subcommand)]
pub enum IncidentAction {
    /// Write an incident as Markdown for the postmortem.
    Export {
        /// Incident id.
        id: i64,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// Output formats of `cockpit report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Markdown daily review.
    Md,
    /// The `/api/v1/summary` document.
    Json,
}

/// Flags of `cockpit report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: 5m, 15m, 1h, 6h, 24h, 7d (any number with s, m, h, d).
    #[arg(long, default_value = "24h")]
    pub window: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Only this agent.
    #[arg(long)]
    pub agent: Option<String>,
    /// A running engine's API (default: the configured API address). Token from
    /// COCKPIT_OPERATOR_TOKEN or COCKPIT_VIEWER_TOKEN.
    #[arg(long, value_name = "URL", conflicts_with = "replay")]
    pub api: Option<String>,
    /// Report over OTLP/JSON files instead, with a throwaway engine.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub replay: Vec<PathBuf>,
    /// A LiteLLM price file to use over the built-in prices.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Keep (or, without --replay, read) state in this directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Listener and storage flags shared by every command that runs the engine.
#[derive(Debug, Args, Clone, Default)]
pub struct EngineArgs {
    /// OTLP/gRPC listen address (port 0 = any free port).
    #[arg(long, value_name = "ADDR")]
    pub otlp_grpc: Option<String>,
    /// OTLP/HTTP listen address.
    #[arg(long, value_name = "ADDR")]
    pub otlp_http: Option<String>,
    /// API listen address.
    #[arg(long, value_name = "ADDR")]
    pub api: Option<String>,
    /// Where state lives.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Hot-window memory budget, like 512MiB or 2GiB.
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<String>,
    /// A LiteLLM price file to use over the built-in prices.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Disable every lever (kill switches, allowlists, approvals, rollback) in the TUI and the API.
    #[arg(long)]
    pub read_only: bool,
    /// TUI theme: dark, light, high-contrast, mono, or a theme file.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

/// Flags of `cockpit replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// OTLP/JSON files, one export request per line.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Keep serving (OTLP and API) after loading.
    #[arg(long)]
    pub serve: bool,
    /// Engine flags.
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl EngineArgs {
    /// Applies the flags over a configuration (flags win).
    pub fn apply(&self, cfg: &mut Config) {
        let set = |slot: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                *slot = v.clone();
            }
        };
        set(&mut cfg.otlp_grpc, &self.otlp_grpc);
        set(&mut cfg.otlp_http, &self.otlp_http);
        set(&mut cfg.api, &self.api);
        set(&mut cfg.memory_budget, &self.memory_budget);
        if let Some(d) = &self.data_dir {
            cfg.data_dir = Some(d.clone());
        }
        if let Some(p) = &self.prices {
            cfg.prices_file = Some(p.clone());
        }
        if self.read_only {
            cfg.read_only = true;
        }
        if let Some(t) = &self.theme {
            cfg.theme = t.clone();
        }
    }
}
