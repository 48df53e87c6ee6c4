//! `cockpit`: parse the command line, load the configuration, run one command.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use agentops_cockpit::cli::{Cli, Command, EngineArgs};
use agentops_cockpit::config::{self, Config};
use agentops_cockpit::engine::Engine;
use agentops_cockpit::{control_cli, report, serve, tui_cmd};

/// Ingest is allocation-bound (see BENCHMARKS.md): mimalloc is faster there than glibc malloc and
/// returns freed hot-window memory instead of fragmenting it.
#[global_allocator]
static ALLOC: agentops_cockpit::allocator::Mimalloc = agentops_cockpit::allocator::Mimalloc;

fn main() -> ExitCode {
    agentops_cockpit::ui::timing::mark_start();
    let _ = color_eyre::install();
    let cli = Cli::parse();
    if let Some(path) = &cli.frame_timing {
        agentops_cockpit::ui::timing::enable(path.clone());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cockpit: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

fn load_config(cli_path: Option<&Path>, args: &EngineArgs) -> Result<Config, String> {
    let (path, required) = match cli_path {
        Some(p) => (Some(p.to_path_buf()), true),
        None => (config::default_config_path(), false),
    };
    let mut cfg = Config::load(path.as_deref(), required)?;
    args.apply(&mut cfg);
    Ok(cfg)
}

fn init_logging(data_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    agentops_cockpit::logging::init(data_dir)
}

/// Reads `15s`, `2m`, `1h` (a bare number is seconds).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match s.strip_suffix('s') {
        Some(secs) => secs.parse().map(std::time::Duration::from_secs).map_err(|e| format!("{s}: {e}")),
        None => config::parse_window(s).map(std::time::Duration::from_secs),
    }
}

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("cockpit: {message}");
    ExitCode::from(code)
}

async fn run(cli: Cli) -> ExitCode {
    let Some(command) = cli.command else {
        let cfg = match load_config(cli.config.as_deref(), &cli.engine) {
            Ok(c) => c,
            Err(e) => return fail(e, 2),
        };
        let _guard = init_logging(&cfg.data_dir());
        // A cockpit already serves here: offer to attach rather than fail on busy ports.
        if tui_cmd::engine_running(&cfg).await {
            eprint!("A cockpit is already serving on {}. Attach to it? [Y/n] ", cfg.api);
            let mut answer = String::new();
            let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
            if interactive
                && std::io::stdin().read_line(&mut answer).is_ok()
                && !answer.trim().eq_ignore_ascii_case("n")
            {
                return match tui_cmd::run_attach(&cfg, None, None).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(e, 2),
                };
            }
            return fail(format!("not starting a second engine on {}; run `cockpit attach`", cfg.api), 2);
        }
        return match tui_cmd::run_local(&cfg).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e, 2),
        };
    };
    match command {
        Command::Config(args) => {
            let cfg = match load_config(cli.config.as_deref(), &args) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            let path = cli.config.clone().or_else(config::default_config_path);
            println!("# config file: {}", path.map_or("(none)".into(), |p| p.display().to_string()));
            println!("# data dir:    {}", cfg.data_dir().display());
            print!("{}", cfg.to_masked_toml());
            // What the TUI would refuse at its start (a theme not found, a key bound twice) is
            // said here too, so a config can be checked before an incident needs it.
            match tui_cmd::look(&cfg) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => fail(e, 2),
            }
        }
        Command::Serve(args) => match load_config(cli.config.as_deref(), &args) {
            Ok(cfg) => serve_until_stopped(&cfg, None).await,
            Err(e) => fail(e, 2),
        },
        Command::Replay(r) => {
            let cfg = match load_config(cli.config.as_deref(), &r.engine) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            if r.serve {
                return serve_until_stopped(&cfg, Some(&r.files)).await;
            }
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let _guard = r.engine.data_dir.as_deref().and_then(init_logging);
                return match tui_cmd::run_replay(&cfg, &r.files, r.engine.data_dir.as_deref()).await {
                    Ok(false) => ExitCode::SUCCESS,
                    Ok(true) => ExitCode::FAILURE,
                    Err(e) => fail(e, 2),
                };
            }
            let engine = match cfg.engine().and_then(|mut e| {
                // A replay keeps no state unless --data-dir says where.
                e.data_dir = r.engine.data_dir.clone();
                e.data_clock = true;
                Engine::start(e)
            }) {
                Ok(e) => e,
                Err(e) => return fail(e, 2),
            };
            let loaded = report::load_files(&engine, &r.files).await;
            for p in &loaded.problems {
                eprintln!("cockpit: {p}");
            }
            println!("{}", serde_json::to_string(&engine.stats()).unwrap_or_default());
            let e = Arc::clone(&engine);
            let _ = tokio::task::spawn_blocking(move || e.shutdown()).await;
            if loaded.bad_lines > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Command::Demo(args) => {
            let cfg = match load_config(cli.config.as_deref(), &args.engine) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            match tui_cmd::run_demo(&cfg, &args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e, 2),
            }
        }
        Command::Attach(args) => {
            let engine_args = EngineArgs { theme: args.theme.clone(), ..EngineArgs::default() };
            let cfg = match load_config(cli.config.as_deref(), &engine_args) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            match tui_cmd::run_attach(&cfg, args.url.as_deref(), args.console.clone()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e, 2),
            }
        }
        Command::Loadgen(args) => {
            let duration = match parse_duration(&args.duration) {
                Ok(d) => d,
                Err(e) => return fail(format!("--duration: {e}"), 2),
            };
            let ceiling = match args.ceiling.as_deref().map(parse_duration).transpose() {
                Ok(d) => d,
                Err(e) => return fail(format!("--ceiling: {e}"), 2),
            };
            let opts = agentops_cockpit::loadgen::Options {
                endpoint: args.endpoint.trim_end_matches('/').to_owned(),
                protocol: args.protocol,
                gzip: args.gzip,
                duration,
                rate: args.rate,
                connections: usize::from(args.connections),
                runs_per_request: args.runs_per_request,
                distinct: 32,
                shape: agentops_cockpit::loadgen::Shape { agents: args.agents, tools: args.tools, models: args.models },
                ceiling,
            };
            match agentops_cockpit::loadgen::run(opts).await {
                Ok(r) if args.json => {
                    println!("{}", serde_json::to_string(&r).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Ok(r) => {
                    if let (Some(c), Some(ratio)) = (r.ceiling_spans_per_sec, r.ceiling_ratio) {
                        println!("decode-only ceiling {c:.0} spans/s; this run reached {:.0}% of it", ratio * 100.0);
                    }
                    println!(
                        "sent {} spans in {:.1}s: accepted {} ({:.0}/s), rejected {}, throttled {} in {} requests (each sent again), failed requests {}; export p50 {:.1} ms, p99 {:.1} ms",
                        r.sent,
                        r.seconds,
                        r.accepted,
                        r.accepted_spans_per_sec,
                        r.rejected,
                        r.throttled,
                        r.throttled_requests,
                        r.errors,
                        r.p50_ms.unwrap_or(0.0),
                        r.p99_ms.unwrap_or(0.0)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e, 1),
            }
        }
        Command::Audit(args) => {
            let cfg = match load_config(
                cli.config.as_deref(),
                &EngineArgs { data_dir: args.data_dir.clone(), ..EngineArgs::default() },
            ) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            control_cli::audit(&cfg.data_dir(), &args.action)
        }
        Command::Incident(args) => {
            let cfg = match load_config(
                cli.config.as_deref(),
                &EngineArgs { data_dir: args.data_dir.clone(), ..EngineArgs::default() },
            ) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            control_cli::incident(&cfg.data_dir(), &args.action)
        }
        Command::Report(args) => {
            let engine_args = EngineArgs { prices: args.prices.clone(), ..EngineArgs::default() };
            let cfg = match load_config(cli.config.as_deref(), &engine_args) {
                Ok(c) => c,
                Err(e) => return fail(e, 2),
            };
            match report::run(&args, &cfg).await {
                Ok((text, bad_lines)) => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(text.as_bytes());
                    if !text.ends_with('\n') {
                        let _ = writeln!(out);
                    }
                    if bad_lines { ExitCode::FAILURE } else { ExitCode::SUCCESS }
                }
                Err(e) => fail(e, 1),
            }
        }
    }
}

async fn serve_until_stopped(cfg: &Config, replay_files: Option<&[std::path::PathBuf]>) -> ExitCode {
    let _guard = init_logging(&cfg.data_dir());
    if let Err(e) = cfg.max_request_bytes() {
        return fail(e, 2);
    }
    let cockpit = match cfg.engine().and_then(|mut e| {
        e.data_clock = replay_files.is_some();
        serve::Cockpit::start(cfg, e)
    }) {
        Ok(c) => c,
        Err(e) => return fail(e, 2),
    };
    cockpit.spawn_background();
    if let Some(files) = replay_files {
        let loaded = report::load_files(&cockpit.engine, files).await;
        for p in &loaded.problems {
            eprintln!("cockpit: {p}");
        }
    }
    let listeners = match serve::bind(cfg).await {
        Ok(l) => l,
        Err(e) => return fail(e, 2),
    };
    let record = listeners.address_record();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{record}");
    let _ = out.flush();
    tracing::info!("serving: {record}");
    match serve::run(cfg, cockpit, listeners, serve::stop_signal()).await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e, 1),
    }
}
