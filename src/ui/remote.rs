//! The attached transport: the same TUI over a `cockpit serve` elsewhere, through the operator
//! API and its event stream.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::data::{Backend, Fut, Snapshot, applied, decided, incident_updated};
use crate::control::model::{ActionRequest, Approval};
use crate::store::query::TraceView;

/// A console attached to an engine over HTTP.
pub struct Remote {
    base: String,
    token: Option<String>,
    console: String,
    client: reqwest::Client,
    changes: Arc<Notify>,
    viewing: Mutex<Option<String>>,
    read_only: bool,
}

/// This console's default name: `user@host`.
pub fn default_console_name() -> String {
    let user = super::local::os_user(|k| std::env::var(k).ok()).unwrap_or_else(|| "operator".into());
    let host =
        std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

async fn error_of(r: reqwest::Response) -> String {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    match body["error"].as_str() {
        Some(e) => format!("{e} ({status})"),
        None => format!("the engine answered {status}"),
    }
}

impl Remote {
    /// Connects (asks who we are) and starts listening to the event stream.
    pub async fn connect(base: &str, token: Option<String>, console: String) -> Result<Arc<Self>, String> {
        let base = if base.starts_with("http://") || base.starts_with("https://") {
            base.to_owned()
        } else {
            format!("http://{base}")
        };
        let base = base.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
        let mut req = client.get(format!("{base}/api/v1/whoami"));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| format!("cannot reach {base}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{base}: {}", error_of(resp).await));
        }
        let who: Value = resp.json().await.map_err(|e| e.to_string())?;
        let read_only = who["role"] != "operator" || who["read_only"] == true;
        let remote = Arc::new(Self {
            base,
            token,
            console,
            client,
            changes: Arc::new(Notify::new()),
            viewing: Mutex::new(None),
            read_only,
        });
        tokio::spawn(Self::listen(Arc::downgrade(&remote)));
        Ok(remote)
    }

    /// Follows `/api/v1/events`; every event asks the TUI for a fresh snapshot.
    async fn listen(me: std::sync::Weak<Self>) {
        loop {
            let Some(this) = me.upgrade() else { return };
            let stream_client = reqwest::Client::new();
            let mut req = stream_client.get(format!("{}/api/v1/events", this.base));
            if let Some(t) = &this.token {
                req = req.bearer_auth(t);
            }
            let changes = Arc::clone(&this.changes);
            drop(this);
            if let Ok(mut resp) = req.send().await {
                while let Ok(Some(chunk)) = resp.chunk().await {
                    if chunk.windows(6).any(|w| w == b"event:") {
                        changes.notify_one();
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.get(format!("{}{path}", self.base)).header("x-cockpit-console", &self.console);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req
    }

    fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        let mut req =
            self.client.post(format!("{}{path}", self.base)).header("x-cockpit-console", &self.console).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, String> {
        let resp = req.send().await.map_err(|e| format!("not delivered — cannot reach {}: {e}", self.base))?;
        if resp.status().is_success() {
            resp.json().await.map_err(|e| e.to_string())
        } else {
            Err(error_of(resp).await)
        }
    }
}

impl Backend for Remote {
    fn snapshot(&self, window: u64) -> Fut<'_, Result<Snapshot, String>> {
        Box::pin(async move {
            let mut req = self.get(&format!("/api/v1/snapshot?window={window}"));
            if let Some(v) = self.viewing.lock().clone() {
                req = req.header("x-cockpit-viewing", v);
            }
            let resp = req.send().await.map_err(|e| format!("cannot reach {}: {e}", self.base))?;
            if !resp.status().is_success() {
                return Err(error_of(resp).await);
            }
            let mut s: Snapshot = resp.json().await.map_err(|e| format!("unexpected snapshot: {e}"))?;
            s.policy.read_only |= self.read_only;
            Ok(s)
        })
    }

    fn trace(&self, trace_id: String) -> Fut<'_, Result<Option<TraceView>, String>> {
        Box::pin(async move {
            let resp = self.get(&format!("/api/v1/traces/{trace_id}")).send().await.map_err(|e| e.to_string())?;
            match resp.status().as_u16() {
                404 => Ok(None),
                s if (200..300).contains(&s) => resp.json().await.map(Some).map_err(|e| e.to_string()),
                _ => Err(error_of(resp).await),
            }
        })
    }

    fn act(&self, req: ActionRequest) -> Fut<'_, Result<String, String>> {
        Box::pin(async move {
            let body = serde_json::to_value(&req).map_err(|e| e.to_string())?;
            let v = self.send(self.post("/api/v1/actions", body)).await?;
            Ok(applied(&req, &v["after"], &v["revision"], &v["audit_id"]))
        })
    }

    fn decide(&self, id: String, approve: bool, reason: String) -> Fut<'_, Result<String, String>> {
        Box::pin(async move {
            let decision = if approve { "approve" } else { "deny" };
            let v =
                self.send(self.post(
                    &format!("/api/v1/approvals/{id}/decision"),
                    json!({"decision": decision, "reason": reason}),
                ))
                .await?;
            let a: Approval =
                serde_json::from_value(v["approval"].clone()).map_err(|e| format!("approval {id}: {e}"))?;
            Ok(decided(&a, v["changed"].as_bool().unwrap_or(true)))
        })
    }

    fn open_incident(&self, sev: String, title: String, agent: Option<String>) -> Fut<'_, Result<String, String>> {
        Box::pin(async move {
            let v = self
                .send(self.post(
                    "/api/v1/incidents",
                    json!({"sev": sev, "title": title, "agent": agent, "reason": "opened from an attached console"}),
                ))
                .await?;
            Ok(format!("✓ incident {} opened", v["id"]))
        })
    }

    fn incident_update(
        &self,
        id: i64,
        kind: String,
        text: String,
        trace_id: Option<String>,
    ) -> Fut<'_, Result<String, String>> {
        Box::pin(async move {
            self.send(self.post(
                &format!("/api/v1/incidents/{id}/updates"),
                json!({"kind": kind, "text": text, "trace_id": trace_id}),
            ))
            .await?;
            Ok(incident_updated(id, &kind))
        })
    }

    fn export_incident(&self, id: i64) -> Fut<'_, Result<String, String>> {
        Box::pin(async move {
            let resp = self.get(&format!("/api/v1/incidents/{id}/export")).send().await.map_err(|e| e.to_string())?;
            if resp.status().is_success() {
                resp.text().await.map_err(|e| e.to_string())
            } else {
                Err(error_of(resp).await)
            }
        })
    }

    fn source(&self) -> String {
        self.base.clone()
    }

    fn changes(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.changes))
    }

    fn set_viewing(&self, target: Option<String>) {
        *self.viewing.lock() = target;
    }

    fn console(&self) -> Option<String> {
        Some(self.console.clone())
    }
}
