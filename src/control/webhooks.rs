//! Webhooks: CloudEvents 1.0 (structured JSON) from an outbox table, signed with HMAC-SHA256,
//! retried with backoff, surviving restarts.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{ControlPlane, now_ms, rfc3339_ms};

/// One webhook endpoint (`[[webhooks]]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// HMAC-SHA256 key for the `X-Cockpit-Signature` header.
    #[serde(default)]
    pub secret: Option<String>,
    /// Event types to send (`policy.changed`, `approval.requested`, `approval.decided`,
    /// `incident.opened`, `incident.escalated`, `incident.resolved`); empty = all.
    #[serde(default)]
    pub events: Vec<String>,
}

/// The CloudEvents `type` prefix.
pub const TYPE_PREFIX: &str = "dev.agentops.cockpit.";

/// Queues an event for every webhook that wants it, inside the caller's transaction.
pub fn enqueue(tx: &Transaction<'_>, hooks: &[WebhookConfig], event: &str, data: Value) -> rusqlite::Result<()> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "specversion": "1.0",
        "id": id,
        "source": "urn:agentops-cockpit",
        "type": format!("{TYPE_PREFIX}{event}"),
        "time": rfc3339_ms(now_ms()),
        "datacontenttype": "application/json",
        "data": data,
    })
    .to_string();
    for hook in hooks.iter().filter(|h| h.events.is_empty() || h.events.iter().any(|e| e == event)) {
        tx.execute(
            "INSERT INTO outbox (webhook, event_id, body, created_at, next_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![hook.url, id, body, now_ms()],
        )?;
    }
    Ok(())
}

/// `sha256=<hex>` of the body under the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivery state of one webhook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// The URL.
    pub url: String,
    /// Events delivered.
    pub delivered: u64,
    /// Events waiting (including retries).
    pub pending: u64,
    /// The last error, if the oldest pending event has failed.
    pub last_error: Option<String>,
    /// Attempts of the oldest pending event.
    pub attempts: u64,
}

/// Delivery state per webhook.
pub fn states(conn: &Connection, hooks: &[WebhookConfig]) -> rusqlite::Result<Vec<DeliveryState>> {
    hooks
        .iter()
        .map(|h| {
            let delivered: i64 = conn.query_row(
                "SELECT COUNT(*) FROM outbox WHERE webhook = ?1 AND delivered_at IS NOT NULL",
                params![h.url],
                |r| r.get(0),
            )?;
            let pending: i64 = conn.query_row(
                "SELECT COUNT(*) FROM outbox WHERE webhook = ?1 AND delivered_at IS NULL",
                params![h.url],
                |r| r.get(0),
            )?;
            let oldest: Option<(Option<String>, i64)> = conn
                .query_row(
                    "SELECT last_error, attempts FROM outbox WHERE webhook = ?1 AND delivered_at IS NULL ORDER BY id LIMIT 1",
                    params![h.url],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            Ok(DeliveryState {
                url: h.url.clone(),
                delivered: delivered.max(0) as u64,
                pending: pending.max(0) as u64,
                last_error: oldest.as_ref().and_then(|o| o.0.clone()),
                attempts: oldest.map_or(0, |o| o.1.max(0) as u64),
            })
        })
        .collect()
}

/// Backoff after `attempts` failures: 1 s, 2 s, 4 s … capped at 5 minutes.
pub fn backoff_ms(attempts: u32) -> i64 {
    1000i64.saturating_mul(1i64 << attempts.min(9)).min(300_000)
}

/// Delivers due outbox events until the process stops; events go out in order per webhook.
pub async fn run(control: Arc<ControlPlane>) {
    if control.webhooks().is_empty() {
        return;
    }
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhooks disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    loop {
        for hook in control.webhooks().to_vec() {
            deliver_due(&control, &client, &hook).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn deliver_due(control: &ControlPlane, client: &reqwest::Client, hook: &WebhookConfig) {
    loop {
        let next: Option<(i64, String, u32, i64)> = control.with_db(|db| {
            db.query_row(
                "SELECT id, body, attempts, next_at FROM outbox WHERE webhook = ?1 AND delivered_at IS NULL ORDER BY id LIMIT 1",
                params![hook.url],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .ok()
        });
        let Some((id, body, attempts, next_at)) = next else { return };
        if next_at > now_ms() {
            return;
        }
        let mut req = client.post(&hook.url).header("content-type", "application/cloudevents+json").body(body.clone());
        if let Some(secret) = &hook.secret {
            req = req.header("x-cockpit-signature", signature(secret, body.as_bytes()));
        }
        let outcome = match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(e.to_string()),
        };
        let stored = control.with_db(|db| match &outcome {
            Ok(()) => db.execute(
                "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
                params![id, now_ms()],
            ),
            Err(e) => db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1",
                params![id, now_ms() + backoff_ms(attempts), e],
            ),
        });
        if let Err(e) = stored {
            tracing::error!("webhook outbox: {e}");
            return;
        }
        if let Err(e) = outcome {
            tracing::warn!("webhook {} failed (attempt {}): {e}", hook.url, attempts + 1);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!((backoff_ms(0), backoff_ms(1), backoff_ms(3)), (1000, 2000, 8000));
        assert_eq!(backoff_ms(30), 300_000);
    }
}
