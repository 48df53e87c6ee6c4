//! Attached consoles: one engine, two consoles driven through the update function over the real
//! API; a restart while attached; a read-only viewer console.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentops_cockpit::ui::app::{App, Conn, Effect, Mode, Msg, tab, update};
use agentops_cockpit::ui::data::Backend;
use agentops_cockpit::ui::keymap::Keymap;
use agentops_cockpit::ui::press;
use agentops_cockpit::ui::remote::Remote;
use common::*;
use crossterm::event::KeyCode;
use prost::Message;
use serde_json::{Value, json};

async fn console(server: &Server, name: &str, token: Option<String>) -> (Arc<Remote>, App) {
    let remote = Remote::connect(&format!("http://{}", server.api), token, name.into()).await.expect("attach");
    let mut app = App::new(Keymap::default());
    app.console = remote.console();
    refresh(&remote, &mut app).await;
    (remote, app)
}

async fn refresh(remote: &Arc<Remote>, app: &mut App) {
    let s = remote.snapshot(3600).await.expect("snapshot");
    update(app, Msg::Snapshot(Arc::new(s)));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Carries out an effect as the TUI loop would.
async fn perform(remote: &Arc<Remote>, e: Effect) -> Result<String, String> {
    match e {
        Effect::Act(req) => remote.act(req).await,
        Effect::Decide { id, approve, reason } => remote.decide(id, approve, reason).await,
        other => panic!("unexpected effect {other:?}"),
    }
}

async fn send_run(server: &Server, agent: &str) {
    let r = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(agent, run_spans(1, agent)).encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

async fn until_known(remote: &Arc<Remote>, agent: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !remote.snapshot(3600).await.expect("snapshot").policy.effective.contains_key(agent) {
        assert!(Instant::now() < deadline, "{agent} never became known");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_consoles_see_each_others_levers_within_a_second() {
    let server = Server::start();
    send_run(&server, "triage").await;
    let (a, mut app_a) = console(&server, "console-a", server.token.clone()).await;
    let (b, mut app_b) = console(&server, "console-b", server.token.clone()).await;
    until_known(&a, "triage").await;
    let r = server
        .post("/api/v1/approvals", None, json!({"agent": "triage", "tool": "refund", "summary": "refund $40"}))
        .await;
    assert_eq!(r.status(), 201);
    refresh(&a, &mut app_a).await;
    refresh(&b, &mut app_b).await;
    assert_eq!(app_b.snapshot.consoles, Some(2), "presence counts both consoles");

    // Console A approves from its inbox.
    press(&mut app_a, KeyCode::Char('8'));
    press(&mut app_a, KeyCode::Char('a'));
    typed(&mut app_a, "customer verified");
    let effects = press(&mut app_a, KeyCode::Enter);
    let [effect] = effects.as_slice() else { panic!("{effects:?}") };
    let decided = Instant::now();
    let said = perform(&a, effect.clone()).await.expect("decision delivered");
    assert!(said.starts_with("✓ approved: triage may call refund (apr-"), "{said}");
    loop {
        refresh(&b, &mut app_b).await;
        if app_b
            .snapshot
            .approvals
            .iter()
            .all(|x| x.status != agentops_cockpit::control::model::ApprovalStatus::Pending)
        {
            break;
        }
        assert!(decided.elapsed() < Duration::from_secs(1), "the decision reached console B within a second");
    }

    // Console B trips the kill switch on the agent selected in its Overview.
    press(&mut app_b, KeyCode::Char('1'));
    assert!(matches!(app_b.mode, Mode::Normal));
    press(&mut app_b, KeyCode::Char('K'));
    typed(&mut app_b, "containment drill");
    let effects = press(&mut app_b, KeyCode::Enter);
    let [effect] = effects.as_slice() else { panic!("{effects:?}") };
    let tripped = Instant::now();
    let said = perform(&b, effect.clone()).await.expect("lever delivered");
    assert!(said.starts_with("✓ triage killed · revision ") && said.contains("audit #"), "{said}");
    loop {
        refresh(&a, &mut app_a).await;
        if app_a.snapshot.policy.effective.get("triage").is_some_and(|e| !e.enabled) {
            break;
        }
        assert!(tripped.elapsed() < Duration::from_secs(1), "the kill switch reached console A within a second");
    }

    // The audit log names the console behind each lever.
    let audit: Value = server.get("/api/v1/audit").await.json().await.expect("json");
    let entries = audit["entries"].as_array().expect("entries");
    let actor = |action: &str| {
        entries.iter().find(|e| e["action"] == action).and_then(|e| e["actor"].as_str()).map(str::to_owned)
    };
    assert_eq!(actor("approval.decide").as_deref(), Some("api:operator via console-a"));
    assert_eq!(actor("policy.enabled").as_deref(), Some("api:operator via console-b"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_restart_makes_consoles_stale_then_current_again() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let api = format!("127.0.0.1:{port}");
    let mut server = Server::start_with(&["--api", &api], &[]);
    send_run(&server, "triage").await;
    let (remote, mut app) = console(&server, "console-a", server.token.clone()).await;
    until_known(&remote, "triage").await;
    let r = server
        .post(
            "/api/v1/actions",
            server.op(),
            json!({"lever": "approval", "agent": "triage", "value": "all", "reason": "before restart"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(server.terminate(), Some(0));
    // Down: snapshots fail, the console goes stale, and a lever confirmation says so.
    let err = remote.snapshot(3600).await.expect_err("engine is down");
    update(&mut app, Msg::Conn(Conn::Stale { age_secs: 3, error: err }));
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char('K'));
    let Mode::Confirm(c) = &app.mode else { panic!("no confirmation") };
    assert!(c.lines.iter().any(|l| l.contains("STALE")), "{:?}", c.lines);
    press(&mut app, KeyCode::Esc);
    // A lever that cannot be delivered is reported, not assumed.
    let undelivered = remote
        .act(agentops_cockpit::control::model::ActionRequest {
            lever: "enabled".into(),
            agent: "triage".into(),
            value: json!(false),
            reason: "while down".into(),
            environment: None,
            incident: None,
        })
        .await;
    assert!(undelivered.is_err_and(|e| e.contains("not delivered")));
    // Back on the same data dir and port: the console reconnects and shows current state.
    let again = Server::start_in(server.take_data_dir(), &["--api", &api], &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        if let Ok(s) = remote.snapshot(3600).await {
            break s;
        }
        assert!(Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    update(&mut app, Msg::Conn(Conn::Live));
    assert_eq!(
        s.policy.layers.get("triage").and_then(|l| l.approval).map(|a| a.as_str()),
        Some("all"),
        "state survived"
    );
    drop(again);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_token_attaches_read_only() {
    let server = Server::start_with(&[], &[("COCKPIT_OPERATOR_TOKEN", "op-tok"), ("COCKPIT_VIEWER_TOKEN", "view-tok")]);
    send_run(&server, "triage").await;
    let (remote, mut app) = console(&server, "viewer-1", Some("view-tok".into())).await;
    until_known(&remote, "triage").await;
    refresh(&remote, &mut app).await;
    assert!(app.snapshot.policy.read_only, "a viewer console is read-only");
    app.tab = tab::OVERVIEW;
    let effects = press(&mut app, KeyCode::Char('K'));
    assert!(effects.is_empty());
    assert!(matches!(app.mode, Mode::Normal), "no confirmation opens");
    assert!(app.message.as_ref().is_some_and(|(m, err)| *err && m.contains("read-only")));
    // And the API refuses the viewer's levers too.
    let denied = remote
        .act(agentops_cockpit::control::model::ActionRequest {
            lever: "enabled".into(),
            agent: "triage".into(),
            value: json!(false),
            reason: "viewer".into(),
            environment: None,
            incident: None,
        })
        .await;
    assert!(denied.is_err_and(|e| e.contains("operator token")));
}
