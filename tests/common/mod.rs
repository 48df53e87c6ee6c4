//! Shared helpers: a real `cockpit serve` process on ephemeral ports, and OTLP fixtures.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use serde_json::Value;

/// One gRPC message frame (uncompressed) around `payload`; `declared_len` lies about its length.
pub fn grpc_frame(payload: &[u8], declared_len: Option<u32>) -> Vec<u8> {
    let mut f = vec![0u8];
    f.extend_from_slice(&declared_len.unwrap_or(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// What a raw gRPC call answered.
pub struct GrpcAnswer {
    /// grpc-status of a failed call (errors come trailers-only, in the headers); empty on success.
    pub status: String,
    /// grpc-message of a failed call.
    pub message: String,
    /// The response message's bytes.
    pub body: Vec<u8>,
}

/// Posts a frame to an OTLP service's Export method (`service` as in "logs.v1.LogsService") as
/// it is: a tonic client cannot send invalid bytes.
pub async fn grpc_raw(server: &Server, service: &str, frame: Vec<u8>) -> GrpcAnswer {
    let client = reqwest::Client::builder().http2_prior_knowledge().build().expect("client");
    let resp = client
        .post(format!("{}/opentelemetry.proto.collector.{service}/Export", server.grpc_url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(frame)
        .send()
        .await
        .expect("grpc request");
    let h = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (status, message) = (h("grpc-status"), h("grpc-message"));
    let bytes = resp.bytes().await.expect("body");
    GrpcAnswer { status, message, body: bytes.get(5..).unwrap_or_default().to_vec() }
}

/// A running `cockpit serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub grpc: String,
    pub http: String,
    pub api: String,
    pub data_dir: tempfile::TempDir,
    pub token: Option<String>,
}

impl Server {
    /// Starts `cockpit serve` on ephemeral ports with extra flags and environment.
    pub fn start_with(extra: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_in(tempfile::tempdir().expect("temp dir"), extra, env)
    }

    /// Takes the data dir (for a restart on it), leaving an empty one behind.
    pub fn take_data_dir(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"))
    }

    /// Starts `cockpit serve` on a given data dir.
    pub fn start_in(data_dir: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cockpit"));
        cmd.arg("serve");
        // Ephemeral ports, unless the test chose one.
        for flag in ["--otlp-grpc", "--otlp-http", "--api"] {
            if !extra.contains(&flag) {
                cmd.args([flag, "127.0.0.1:0"]);
            }
        }
        cmd.arg("--data-dir")
            .arg(data_dir.path())
            .args(extra)
            .env_remove("COCKPIT_OPERATOR_TOKEN")
            .env_remove("COCKPIT_VIEWER_TOKEN")
            .env_remove("COCKPIT_INGEST_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut token = None;
        for (k, v) in env {
            cmd.env(k, v);
            if *k == "COCKPIT_OPERATOR_TOKEN" {
                token = Some((*v).to_owned());
            }
        }
        // Keep the developer's own config file out of tests.
        cmd.env_remove("COCKPIT_CONFIG").env("XDG_CONFIG_HOME", data_dir.path());
        let mut child = cmd.spawn().expect("spawn cockpit");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("address line");
        let addrs: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("address record {line:?}: {e}"));
        let get = |k: &str| addrs[k].as_str().expect("address").to_owned();
        // Without a configured operator token, serve generates one in the data dir.
        let token = token.or_else(|| {
            std::fs::read_to_string(data_dir.path().join("operator.token")).ok().map(|t| t.trim().to_owned())
        });
        Server { grpc: get("otlp_grpc"), http: get("otlp_http"), api: get("api"), child, data_dir, token }
    }

    /// GET an API path with the operator token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut req = reqwest::Client::new().get(format!("http://{}{path}", self.api));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("api request")
    }

    /// POST JSON to an API path with a bearer token (`None`: no token).
    pub async fn post(&self, path: &str, token: Option<&str>, body: serde_json::Value) -> reqwest::Response {
        let mut req = reqwest::Client::new().post(format!("http://{}{path}", self.api)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("api request")
    }

    /// The operator token.
    pub fn op(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn start() -> Server {
        Self::start_with(&[], &[])
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// GET /api/v1/stats.
    pub async fn stats(&self) -> Value {
        let mut req = reqwest::Client::new().get(format!("http://{}/api/v1/stats", self.api));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("stats request").json().await.expect("stats json")
    }

    /// Waits until the ingest queue is empty and `pred` holds, or fails after 10 s.
    pub async fn wait_stats(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.stats().await;
            if s["ingest_pending"] == 0 && pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "stats never matched: {s}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until everything accepted has been stored or deduplicated.
    pub async fn settled(&self) -> Value {
        self.wait_stats(|s| {
            s["spans_accepted"]
                == s["spans_stored"].as_u64().unwrap_or(0) + s["spans_deduplicated"].as_u64().unwrap_or(0)
        })
        .await
    }

    pub async fn healthz(&self) -> bool {
        reqwest::get(format!("http://{}/healthz", self.api)).await.map(|r| r.status().is_success()).unwrap_or(false)
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "did not stop after SIGTERM; log: {}",
                std::fs::read_to_string(self.data_dir.path().join("cockpit.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}

pub fn s(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

pub fn i(key: &str, v: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(v))
}

pub fn trace_id(n: u64) -> Vec<u8> {
    let mut id = vec![0xab; 8];
    id.extend_from_slice(&n.to_be_bytes());
    id
}

pub fn span_id(n: u64) -> Vec<u8> {
    (n | 1 << 60).to_be_bytes().to_vec()
}

pub fn span(trace: u64, id: u64, parent: Option<u64>, name: &str, attrs: Vec<KeyValue>, error: bool) -> Span {
    let start = 1_700_000_000_000_000_000 + id * 1_000_000;
    Span {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 500_000,
        attributes: attrs,
        status: error.then(|| Status { code: status::StatusCode::Error as i32, message: "failed".into() }),
        ..Default::default()
    }
}

pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", service), s("service.version", "1.4.0")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// One run: an `invoke_agent` root with a `chat` child and two `execute_tool` children, one failing.
pub fn run_spans(trace: u64, agent: &str) -> Vec<Span> {
    vec![
        span(
            trace,
            1,
            None,
            &format!("invoke_agent {agent}"),
            vec![
                s("gen_ai.operation.name", "invoke_agent"),
                s("gen_ai.agent.name", agent),
                s("gen_ai.agent.version", "2.1"),
            ],
            false,
        ),
        span(
            trace,
            2,
            Some(1),
            "chat gpt-4o",
            vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.request.model", "gpt-4o"),
                i("gen_ai.usage.input_tokens", 1200),
                i("gen_ai.usage.output_tokens", 300),
            ],
            false,
        ),
        span(
            trace,
            3,
            Some(1),
            "execute_tool lookup_order",
            vec![s("gen_ai.operation.name", "execute_tool"), s("gen_ai.tool.name", "lookup_order")],
            false,
        ),
        span(
            trace,
            4,
            Some(1),
            "execute_tool refund",
            vec![
                s("gen_ai.operation.name", "execute_tool"),
                s("gen_ai.tool.name", "refund"),
                s("error.type", "permission_denied"),
            ],
            true,
        ),
    ]
}

/// Asserts the stats of exactly one `run_spans` run of `agent`.
pub fn assert_one_run(stats: &Value, agent: &str) {
    assert_eq!(stats["spans_accepted"], 4, "{stats}");
    assert_eq!(stats["spans_rejected"], 0, "{stats}");
    assert_eq!(stats["runs"], 1, "{stats}");
    assert_eq!(stats["llm_calls"], 1, "{stats}");
    assert_eq!(stats["tool_calls"], 2, "{stats}");
    assert_eq!(stats["agents"], serde_json::json!([{"name": agent, "runs": 1, "versions": ["2.1"]}]), "{stats}");
    assert_eq!(
        stats["tools"],
        serde_json::json!([{"name": "lookup_order", "calls": 1, "errors": 0}, {"name": "refund", "calls": 1, "errors": 1}]),
        "{stats}"
    );
}
