//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// AgentOps Cockpit — an operations console for fleets of LLM agents.
#[derive(Debug, Parser)]
#[command(name = "cockpit", version, about, arg_required_else_help = true)]
pub struct Cli {
    /// Config file (default: the platform config dir's agentops-cockpit/config.toml).
    #[arg(long, global = true, env = "COCKPIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine headless: OTLP receivers and the API.
    Serve(EngineArgs),
    /// Load OTLP/JSON files (Collector file-exporter format) and print the stats, or keep serving.
    Replay(ReplayArgs),
    /// Print the effective configuration and the paths in use.
    Config(EngineArgs),
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
    }
}
