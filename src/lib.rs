//! AgentOps Cockpit: a terminal operations console for fleets of LLM agents.
//!
//! Telemetry in (`ingest`), meaning (`semconv`, `model`), memory (`store`), and the faces that
//! read it (`api`, the `serve` command).
#![warn(missing_docs)]

pub mod allocator;
pub mod analytics;
pub mod api;
pub mod cli;
pub mod config;
pub mod control;
pub mod control_cli;
pub mod demo;
pub mod engine;
pub mod ingest;
pub mod interface;
pub mod loadgen;
pub mod logging;
pub mod model;
pub mod report;
pub mod semconv;
pub mod serve;
pub mod store;
pub mod tui_cmd;
pub mod ui;
