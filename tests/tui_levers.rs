//! Every lever pulled through the TUI's update function, carried out in-process as the TUI
//! does, lands in the control plane with its audit entry naming the console's OS user.

use std::sync::Arc;

use agentops_cockpit::config::Config;
use agentops_cockpit::control::model::NewApproval;
use agentops_cockpit::demo::dataset;
use agentops_cockpit::serve::Cockpit;
use agentops_cockpit::ui::app::{App, Effect, Msg, update};
use agentops_cockpit::ui::data::Backend;
use agentops_cockpit::ui::keymap::Keymap;
use agentops_cockpit::ui::local::Local;
use agentops_cockpit::ui::press;
use crossterm::event::KeyCode;

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_lever_from_the_tui_reaches_the_audit_log() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = Config { data_dir: Some(dir.path().to_path_buf()), ..Config::default() };
    let mut ecfg = cfg.engine().expect("engine config");
    ecfg.data_clock = true;
    let cockpit = Cockpit::start(&cfg, ecfg).expect("cockpit");
    let file = dir.path().join("fleet.jsonl");
    std::fs::write(&file, dataset::build(7, 90, dataset::END_NS).jsonl()).expect("write");
    agentops_cockpit::report::load_files(&cockpit.engine, &[file]).await;
    let local = Local::new(cockpit.clone());
    let mut app = App::new(Keymap::default());
    update(&mut app, Msg::Snapshot(Arc::new(local.snapshot(3600).await.expect("snapshot"))));

    // Each lever, the audit entry it writes, and what the footer then says, in the operator's words.
    let levers: &[(&str, &str, &str, &str)] = &[
        (":kill billing-ops", "policy.enabled", "billing-ops", "billing-ops killed"),
        (":revive billing-ops", "policy.enabled", "billing-ops", "billing-ops revived"),
        (
            ":allow research-assistant -web.fetch",
            "policy.tools",
            "research-assistant",
            "research-assistant may call 2 tools",
        ),
        (
            ":allow research-assistant +web.fetch",
            "policy.tools",
            "research-assistant",
            "research-assistant may call 3 tools",
        ),
        (":readonly code-review", "policy.tools", "code-review", "code-review may call 1 tool"),
        (":strip code-review mcp:github", "policy.tools", "code-review", "code-review may call no tools"),
        (":allow code-review all", "policy.tools", "code-review", "code-review may call every tool"),
        (":approval billing-ops writes", "policy.approval", "billing-ops", "billing-ops asks approval for writes"),
        (":rollback support-triage", "policy.pin", "support-triage", "support-triage pinned to 4.1"),
        (":pin support-triage 4.2", "policy.pin", "support-triage", "support-triage pinned to 4.2"),
        (":unpin support-triage", "policy.pin", "support-triage", "support-triage unpinned"),
        (":kill *", "policy.enabled", "*", "the fleet killed"),
        (":revive *", "policy.enabled", "*", "the fleet revived"),
    ];
    for (line, action, target, said) in levers {
        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, &line[1..]);
        assert!(press(&mut app, KeyCode::Enter).is_empty(), "{line}: nothing happens before the confirmation");
        typed(&mut app, "drill");
        if *target == "*" {
            press(&mut app, KeyCode::Tab);
            typed(&mut app, "fleet");
        }
        let effects = press(&mut app, KeyCode::Enter);
        let [Effect::Act(req)] = effects.as_slice() else { panic!("{line}: {effects:?}") };
        let outcome = local.act(req.clone()).await;
        assert!(outcome.is_ok(), "{line}: {outcome:?}");
        let last = cockpit.control.audit(1).expect("audit").pop().expect("an entry");
        assert_eq!(
            (last.action.as_str(), last.target.as_str(), last.reason.as_str()),
            (*action, *target, "drill"),
            "{line}"
        );
        assert!(last.actor.starts_with("tui:"), "{}", last.actor);
        // The footer's message says what changed, then names the audit entry before any list,
        // so a narrow terminal that cuts it keeps the entry.
        let msg = outcome.unwrap_or_default();
        assert!(msg.starts_with(&format!("✓ {said} · revision ")), "{line}: {msg}");
        assert!(msg.contains(&format!("audit #{}", last.id)), "{line}: {msg}");
        update(&mut app, Msg::Snapshot(Arc::new(local.snapshot(3600).await.expect("snapshot"))));
    }
    // The rollback pinned the last known good version; read-only kept only declared reads.
    let policy = cockpit.control.policy();
    assert_eq!(policy.effective("support-triage", None).pin, "", "unpinned at the end");
    let entries = cockpit.control.audit(100).expect("audit");
    let rollback =
        entries.iter().find(|e| e.action == "policy.pin" && e.after.contains("4.1")).expect("rollback entry");
    assert_eq!(rollback.after, "\"4.1\"");
    let readonly =
        entries.iter().find(|e| e.action == "policy.tools" && e.target == "code-review").expect("read-only entry");
    assert!(
        readonly.after.contains("mcp:github/get_pull_request") && !readonly.after.contains("create_review"),
        "{}",
        readonly.after
    );

    // Approve and deny from the inbox.
    for approve in [true, false] {
        cockpit
            .control
            .create_approval(NewApproval {
                agent: "billing-ops".into(),
                tool: "billing.issue_credit".into(),
                ttl_seconds: Some(600),
                ..NewApproval::default()
            })
            .expect("approval");
        update(&mut app, Msg::Snapshot(Arc::new(local.snapshot(3600).await.expect("snapshot"))));
        press(&mut app, KeyCode::Char('8'));
        press(&mut app, KeyCode::Char('g'));
        press(&mut app, KeyCode::Char(if approve { 'a' } else { 'd' }));
        typed(&mut app, "checked");
        let effects = press(&mut app, KeyCode::Enter);
        let [Effect::Decide { id, approve: a, reason }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(*a, approve);
        let said = local.decide(id.clone(), *a, reason.clone()).await.expect("decided");
        let want = if approve { "✓ approved: billing-ops may call" } else { "✓ denied: billing-ops will not call" };
        assert_eq!(said, format!("{want} billing.issue_credit ({id})"));
        // The same decision again changes nothing, and says so.
        let again = local.decide(id.clone(), *a, reason.clone()).await.expect("same decision");
        let status = if approve { "approved" } else { "denied" };
        assert_eq!(again, format!("{id} was already {status}: nothing changed"));
        let last = cockpit.control.audit(1).expect("audit").pop().expect("entry");
        assert_eq!((last.action.as_str(), last.target.as_str()), ("approval.decide", id.as_str()));
        assert!(last.after.contains(if approve { "approved" } else { "denied" }), "{}", last.after);
        assert!(last.actor.starts_with("tui:"));
    }

    // An incident's updates say what they did.
    let opened = local.open_incident("SEV-2".into(), "drill".into(), Some("billing-ops".into())).await;
    let id = cockpit.control.incidents().expect("incidents").iter().map(|i| i.id).max().expect("opened");
    assert_eq!(opened, Ok(format!("✓ incident {id} opened")));
    let trace = Some("0123456789abcdef0123456789abcdef".to_owned());
    for (kind, trace_id, said) in [
        ("note", None, format!("✓ note added to incident {id}")),
        ("run", trace, format!("✓ run linked to incident {id}")),
        ("resolved", None, format!("✓ incident {id} resolved")),
    ] {
        assert_eq!(local.incident_update(id, kind.into(), "drill".into(), trace_id).await, Ok(said));
    }
    let engine = Arc::clone(&cockpit.engine);
    let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
}
