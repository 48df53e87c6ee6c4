//! The in-process transport: the TUI reads the engine and the control plane directly.

use std::sync::Arc;

use super::data::{Backend, Fut, Snapshot, applied, decided, incident_updated};
use crate::control::incidents;
use crate::control::model::ActionRequest;
use crate::serve::Cockpit;

/// The engine in this process.
pub struct Local {
    cockpit: Cockpit,
    actor: String,
    inner: Arc<Taker>,
    demo: Option<Arc<crate::demo::fleet::DemoControl>>,
}

/// What taking a snapshot needs (shared with the blocking task that takes it).
struct Taker {
    cockpit: Cockpit,
}

/// The OS user running this process: `$USER`, else `$LOGNAME`, else the name `/etc/passwd`
/// gives the process's uid (containers, services and `docker exec` often set neither
/// variable, and the audit log would name no one), else `uid N`.
pub fn os_user(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    var("USER").filter(|u| !u.is_empty()).or_else(|| var("LOGNAME").filter(|u| !u.is_empty())).or_else(|| {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Some(user_of_uid(&passwd, uid).unwrap_or_else(|| format!("uid {uid}")))
    })
}

/// The name of `uid` in a passwd file's text.
fn user_of_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// The actor the audit log names for this console: OS user, host, and SSH origin.
pub fn local_actor(var: impl Fn(&str) -> Option<String>) -> String {
    let user = os_user(&var).unwrap_or_else(|| "unknown".into());
    let origin = var("SSH_CLIENT").and_then(|s| s.split_whitespace().next().map(str::to_owned));
    match origin {
        Some(ip) => format!("tui:{user} from {ip}"),
        None => format!("tui:{user} (local)"),
    }
}

impl Local {
    /// Wraps an engine and control plane.
    pub fn new(cockpit: Cockpit) -> Arc<Self> {
        let inner = Arc::new(Taker { cockpit: cockpit.clone() });
        Arc::new(Self { cockpit, actor: local_actor(|k| std::env::var(k).ok()), inner, demo: None })
    }

    /// The same, with the demo fleet's incident switch.
    pub fn with_demo(cockpit: Cockpit, demo: Arc<crate::demo::fleet::DemoControl>) -> Arc<Self> {
        let inner = Arc::new(Taker { cockpit: cockpit.clone() });
        Arc::new(Self { cockpit, actor: local_actor(|k| std::env::var(k).ok()), inner, demo: Some(demo) })
    }
}

impl Taker {
    fn take(&self, window: u64) -> Snapshot {
        crate::interface::take_snapshot(&self.cockpit, window)
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("background task failed: {e}"))
}

impl Backend for Local {
    fn snapshot(&self, window: u64) -> Fut<'_, Result<Snapshot, String>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { blocking(move || inner.take(window)).await })
    }

    fn trace(&self, trace_id: String) -> Fut<'_, Result<Option<TraceView>, String>> {
        let engine = Arc::clone(&self.cockpit.engine);
        Box::pin(async move {
            let Ok(bytes) = hex::decode(&trace_id) else { return Err(format!("{trace_id:?} is not a trace id")) };
            let Ok(id) = <[u8; 16]>::try_from(bytes.as_slice()) else {
                return Err(format!("{trace_id:?} is not a trace id"));
            };
            blocking(move || engine.store().read().trace(&id)).await
        })
    }

    fn act(&self, req: ActionRequest) -> Fut<'_, Result<String, String>> {
        let (engine, control, actor) =
            (Arc::clone(&self.cockpit.engine), Arc::clone(&self.cockpit.control), self.actor.clone());
        Box::pin(async move {
            let asked = req.clone();
            let r = blocking(move || {
                let known = engine.known_agents();
                control.apply(&req, &actor, &|a| known.contains(a), &|a| engine.last_known_good(a))
            })
            .await?;
            r.map(|r| applied(&asked, &r.after, r.revision, r.audit_id)).map_err(|e| e.to_string())
        })
    }

    fn decide(&self, id: String, approve: bool, reason: String) -> Fut<'_, Result<String, String>> {
        let (control, actor) = (Arc::clone(&self.cockpit.control), self.actor.clone());
        Box::pin(async move {
            let r = blocking(move || control.decide(&id, approve, &reason, &actor)).await?;
            r.map(|(a, changed)| decided(&a, changed)).map_err(|e| e.to_string())
        })
    }

    fn open_incident(&self, sev: String, title: String, agent: Option<String>) -> Fut<'_, Result<String, String>> {
        let (control, actor) = (Arc::clone(&self.cockpit.control), self.actor.clone());
        Box::pin(async move {
            let r =
                blocking(move || control.open_incident(&sev, &title, agent.as_deref(), &actor, "opened from the TUI"))
                    .await?;
            r.map(|id| format!("✓ incident {id} opened")).map_err(|e| e.to_string())
        })
    }

    fn incident_update(
        &self,
        id: i64,
        kind: String,
        text: String,
        trace_id: Option<String>,
    ) -> Fut<'_, Result<String, String>> {
        let (control, actor) = (Arc::clone(&self.cockpit.control), self.actor.clone());
        Box::pin(async move {
            let said = incident_updated(id, &kind);
            let r = blocking(move || control.incident_update(id, &kind, &text, trace_id.as_deref(), &actor)).await?;
            r.map(|()| said).map_err(|e| e.to_string())
        })
    }

    fn export_incident(&self, id: i64) -> Fut<'_, Result<String, String>> {
        let control = Arc::clone(&self.cockpit.control);
        Box::pin(async move {
            let list = blocking(move || control.incidents()).await?.map_err(|e| e.to_string())?;
            list.iter().find(|i| i.id == id).map(incidents::markdown).ok_or_else(|| format!("no incident {id}"))
        })
    }

    fn source(&self) -> String {
        "local".into()
    }

    fn demo_incident(&self, name: String) -> Fut<'_, Result<String, String>> {
        let demo = self.demo.clone();
        Box::pin(async move {
            match demo {
                Some(d) => d.trigger(&name),
                None => Err("no demo fleet runs in this console".into()),
            }
        })
    }
}

use crate::store::query::TraceView;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_the_os_user_from_the_environment_or_the_passwd_file() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(
            local_actor(env(&[("USER", "alice"), ("SSH_CLIENT", "10.0.0.7 5022 22")])),
            "tui:alice from 10.0.0.7"
        );
        assert_eq!(local_actor(env(&[("USER", ""), ("LOGNAME", "bob")])), "tui:bob (local)");
        // Neither variable: the passwd file's name for the uid, not "unknown".
        assert!(!local_actor(env(&[])).contains("unknown"));
        let passwd = "root:x:0:0:root:/root:/bin/bash\nbroken\ncarol:x:1000:1000::/home/carol:/bin/sh\n";
        assert_eq!(user_of_uid(passwd, 1000).as_deref(), Some("carol"));
        assert_eq!(user_of_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_of_uid(passwd, 7), None);
    }
}
