//! The TUI without a terminal: every view rendered into ratatui's TestBackend and
//! snapshot-tested at 80x24 and 160x48 (time frozen), key handling through the pure update,
//! theme colours per cell, and levers pulled from the TUI reaching the control plane.

use std::sync::Arc;

use agentops_cockpit::control::model::ApprovalStatus;
use agentops_cockpit::ui::app::{App, Effect, Mode, Msg, Page, Pending, approval_rows, tab, update};
use agentops_cockpit::ui::data::Snapshot;
use agentops_cockpit::ui::keymap::Keymap;
use agentops_cockpit::ui::theme::{BUILTIN, Depth, Theme};
use agentops_cockpit::ui::{fixture, press, views};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<(Snapshot, Option<agentops_cockpit::store::query::TraceView>)> = OnceCell::const_new();

async fn data() -> &'static (Snapshot, Option<agentops_cockpit::store::query::TraceView>) {
    FIXTURE.get_or_init(|| async { fixture::snapshot(90, 3600).await.expect("fixture") }).await
}

fn theme(depth: Depth) -> Theme {
    Theme::parse(BUILTIN[0].1, "dark", depth).expect("theme")
}

fn app_with(s: &Snapshot) -> App {
    let mut app = App::new(Keymap::default());
    update(&mut app, Msg::Snapshot(Arc::new(s.clone())));
    app
}

/// Types a `:` command line and presses Enter.
fn command(app: &mut App, line: &str) -> Vec<Effect> {
    press(app, KeyCode::Char(':'));
    for c in line.chars() {
        press(app, KeyCode::Char(c));
    }
    press(app, KeyCode::Enter)
}

fn render(app: &App, w: u16, h: u16, theme: &Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| views::draw(f, app, theme)).expect("draw");
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_view_at_80x24_and_160x48() {
    let (s, trace) = data().await;
    let theme = theme(Depth::None);
    let names = ["overview", "outcomes", "tools", "safety", "cost", "drift", "traces", "approvals", "incidents"];
    for (i, name) in names.iter().enumerate() {
        let mut app = app_with(s);
        press(&mut app, KeyCode::Char(char::from(b'1' + i as u8)));
        for (w, h) in [(80, 24), (160, 48)] {
            let t = render(&app, w, h, &theme);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&t));
        }
    }
    // Drill-downs: the waterfall, a span's attributes, an approval, an incident's timeline.
    let mut app = app_with(s);
    app.tab = tab::TRACES;
    app.stack = vec![Page::Trace(trace.as_ref().map(|t| t.trace_id.clone()).unwrap_or_default())];
    update(&mut app, Msg::Trace(trace.as_ref().map(|t| t.trace_id.clone()).unwrap_or_default(), Ok(trace.clone())));
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("waterfall_{w}x{h}"), text(&render(&app, w, h, &theme)));
    }
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("span_160x48", text(&render(&app, 160, 48, &theme)));
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('8'));
    press(&mut app, KeyCode::Enter);
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("approval_detail_{w}x{h}"), text(&render(&app, w, h, &theme)));
    }
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('9'));
    press(&mut app, KeyCode::Enter);
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("incident_detail_{w}x{h}"), text(&render(&app, w, h, &theme)));
    }
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_80x24", text(&render(&app, 80, 24, &theme)));
}

/// Keys rebound in config: the footer, the titles and the help show the keys in force, so an
/// operator who rebound the kill switch is not told to press a key that no longer pulls it.
#[tokio::test(flavor = "multi_thread")]
async fn rebound_keys_are_the_ones_shown() {
    let (s, _) = data().await;
    let overrides = [
        ("kill", vec!["X"]),
        ("approve", vec!["y"]),
        ("down", vec!["n", "down"]),
        ("rollback", vec![]),
        ("sort", vec!["o"]),
        ("jump_trace", vec![]),
    ]
    .into_iter()
    .map(|(n, ks)| (n.to_owned(), ks.into_iter().map(str::to_owned).collect()))
    .collect();
    let mut app = App::new(Keymap::with_overrides(&overrides).expect("valid keys"));
    update(&mut app, Msg::Snapshot(Arc::new(s.clone())));
    let theme = theme(Depth::None);
    let screen = text(&render(&app, 160, 48, &theme));
    let footer = screen.lines().last().unwrap_or_default();
    assert!(footer.contains("X kill") && !footer.contains("K kill"), "{footer}");
    assert!(!footer.contains("rollback"), "an unbound lever is not offered: {footer}");
    // Titles: the rebound sort key; no trace key offered where it is unbound.
    for (tab_key, title) in [
        ('3', "Tools — sorted by name (o)"),
        ('4', "Recent guardrail decisions ─"),
        ('8', "Approvals — y approve · d deny · Enter details ─"),
    ] {
        press(&mut app, KeyCode::Char(tab_key));
        let screen = text(&render(&app, 160, 48, &theme));
        assert!(screen.contains(title), "{title}: {screen}");
    }
    press(&mut app, KeyCode::Char('?'));
    assert!(text(&render(&app, 80, 24, &theme)).contains("Help — n/k scroll"));
    let help = text(&render(&app, 160, 48, &theme));
    let kill = help.lines().find(|l| l.contains("kill switch on/off")).unwrap_or_default();
    assert!(kill.contains(" X  ") && kill.contains("kill"), "{kill}");
    let rollback = help.lines().find(|l| l.contains("roll the agent back")).unwrap_or_default();
    assert!(rollback.contains("(none)") && rollback.contains("rollback"), "{rollback}");
    // The rebound key moves the help; the old one no longer does.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.help_line, 0);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.help_line, 1);
    // Out of the help, the old kill key is no lever now, and says so on the status line.
    press(&mut app, KeyCode::Esc);
    let effects = press(&mut app, KeyCode::Char('K'));
    assert!(effects.is_empty() && matches!(app.mode, Mode::Normal), "{effects:?}");
    let status = text(&render(&app, 160, 48, &theme));
    assert!(status.contains("K does nothing here · ? lists the keys"), "{status}");
    // The hint (any message) passes with the next key: the footer has its keys again.
    press(&mut app, KeyCode::Char('1'));
    let footer = text(&render(&app, 160, 48, &theme)).lines().last().unwrap_or_default().to_owned();
    assert!(footer.contains("X kill") && !footer.contains("does nothing"), "{footer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_drive_the_pure_update() {
    let (s, _) = data().await;
    let mut app = app_with(s);
    // Tabs by number and by Tab.
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.tab, tab::TOOLS);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, tab::SAFETY);
    // Window cycling asks for a refresh.
    let e = press(&mut app, KeyCode::Char('t'));
    assert_eq!(e, vec![Effect::Window(21_600)]);
    // Filter narrows the runs; Esc clears it.
    press(&mut app, KeyCode::Char('7'));
    let all = agentops_cockpit::ui::app::visible_runs(&app.snapshot, "").len();
    press(&mut app, KeyCode::Char('/'));
    for c in "billing".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let some = agentops_cockpit::ui::app::visible_runs(&app.snapshot, &app.filter);
    assert!(!some.is_empty() && some.len() < all && some.iter().all(|r| r.agent == "billing-ops"));
    // Drill down to the waterfall (a trace is requested) and back.
    let e = press(&mut app, KeyCode::Enter);
    assert!(matches!(e.as_slice(), [Effect::LoadTrace(_)]), "{e:?}");
    assert!(matches!(app.stack.last(), Some(Page::Trace(_))));
    press(&mut app, KeyCode::Esc);
    assert!(app.stack.is_empty());
    press(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty(), "Esc again clears the filter");
    // j/k/G/g move the selection within bounds.
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected[tab::TRACES], all - 1);
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.selected[tab::TRACES], 0);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected[tab::TRACES], 0);
    // Help opens and closes.
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    // An unknown command is an error line; :window sets the window.
    for line in [":frobnicate", ":window 24h"] {
        press(&mut app, KeyCode::Char(':'));
        for c in line[1..].chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let e = press(&mut app, KeyCode::Enter);
        if line == ":frobnicate" {
            let (msg, err) = app.message.clone().expect("message");
            assert!(err && msg.contains("unknown command :frobnicate"), "{msg}");
        } else {
            assert_eq!(e, vec![Effect::Window(86_400)]);
        }
    }
    // Tab completes commands and agents.
    press(&mut app, KeyCode::Char(':'));
    for c in "kil".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input, "kill ");
    for c in "billing".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.input, "kill billing-ops ");
    // q quits.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[tokio::test(flavor = "multi_thread")]
async fn levers_need_a_confirmation_with_a_reason_and_fleet_levers_a_typed_name() {
    let (s, _) = data().await;
    let mut app = app_with(s);
    // K on the selected agent opens a confirmation; nothing is sent yet.
    let e = press(&mut app, KeyCode::Char('K'));
    assert!(e.is_empty());
    let Mode::Confirm(c) = &app.mode else { panic!("no confirmation: {:?}", app.mode) };
    assert!(c.title.contains("KILL SWITCH") && c.lines.iter().any(|l| l.contains("Agents affected")), "{c:?}");
    assert!(
        c.lines.iter().any(|l| l.contains("Pending approvals touched: 1")),
        "billing-ops has a pending approval: {:?}",
        c.lines
    );
    // Enter without a reason does nothing but say so.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    for ch in "runaway loop".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    let e = press(&mut app, KeyCode::Enter);
    let [Effect::Act(req)] = e.as_slice() else { panic!("{e:?}") };
    assert_eq!(
        (req.lever.as_str(), req.agent.as_str(), req.reason.as_str()),
        ("enabled", "billing-ops", "runaway loop")
    );
    assert_eq!(req.value, serde_json::json!(false));
    // Fleet-wide: the reason is not enough, the word "fleet" must be typed too.
    for ch in ":kill *".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    press(&mut app, KeyCode::Enter);
    for ch in "stop all".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "no typed target yet");
    for ch in "fleet".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    let e = press(&mut app, KeyCode::Enter);
    assert!(matches!(e.as_slice(), [Effect::Act(r)] if r.agent == "*"), "{e:?}");
    // Esc cancels: nothing changes.
    for ch in ":allow research-assistant -web.fetch".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    press(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else { panic!("no confirmation") };
    assert!(c.lines.iter().any(|l| l.contains("Tools no longer allowed: web.fetch")), "{:?}", c.lines);
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.message, Some(("cancelled: nothing changed".into(), false)));
    // Approve from the inbox: a reason, then the decision. The tab key clears the message.
    press(&mut app, KeyCode::Char('8'));
    assert_eq!(app.message, None);
    press(&mut app, KeyCode::Char('a'));
    for ch in "verified with finance".chars() {
        press(&mut app, KeyCode::Char(ch));
    }
    let e = press(&mut app, KeyCode::Enter);
    assert!(matches!(e.as_slice(), [Effect::Decide { approve: true, .. }]), "{e:?}");
}

/// The decision dialog shows the approval as it is now: the time left while it is typed, and a
/// decision made elsewhere (or the expiry) the moment a snapshot brings it; a decided approval
/// opens no dialog at all.
#[tokio::test(flavor = "multi_thread")]
async fn the_decision_dialog_follows_the_approval() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('8'));
    press(&mut app, KeyCode::Char('d'));
    let Mode::Confirm(c) = &app.mode else { panic!("no dialog") };
    let agentops_cockpit::ui::app::Pending::Decide { id, .. } = &c.pending else { panic!("{:?}", c.pending) };
    let id = id.clone();
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains("Status: pending · asked 0s ago · expires in 15m"), "{screen}");
    // Long arguments wrap onto several rows; the dialog grows to keep its last line on screen.
    let mut long = s.clone();
    let a = long.approvals.iter_mut().find(|a| a.id == id).expect("listed");
    a.arguments =
        serde_json::json!({"to": "archive@data-backup.example", "subject": "export", "attachments": ["customers.csv"]});
    press(&mut app, KeyCode::Esc);
    update(&mut app, Msg::Snapshot(Arc::new(long)));
    press(&mut app, KeyCode::Char('d'));
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains("\"subject\":\"export\"") && screen.contains("Enter confirms · Esc cancels"), "{screen}");
    // Another console denies it while the reason is typed.
    let mut later = s.clone();
    let a = later.approvals.iter_mut().find(|a| a.id == id).expect("listed");
    a.status = ApprovalStatus::Denied;
    a.decided_by = Some("tui:alice".into());
    update(&mut app, Msg::Snapshot(Arc::new(later.clone())));
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains("✖ now denied by tui:alice: Enter will be refused"), "{screen}");
    assert!(!screen.contains("Status: pending"), "{screen}");
    // Out of the dialog, the cursor is still on it, though it moved below the pending one; and
    // the decided approval does not open a dialog again.
    press(&mut app, KeyCode::Esc);
    let rows = approval_rows(&app.snapshot);
    assert_eq!((rows[1].id.as_str(), app.selected[tab::APPROVALS]), (id.as_str(), 1));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.mode, Mode::Normal);
    let said = app.message.as_ref().map(|(m, _)| m.as_str()).unwrap_or_default();
    assert_eq!(said, format!("approval {id} is already denied: nothing to decide"));
    // Incidents: a newer one goes on top. Until the operator points at a row, the cursor stays
    // on the top one; once they have, it stays on the one they pointed at.
    press(&mut app, KeyCode::Char('9'));
    let open_one = |app: &mut App| {
        let mut newer = (*app.snapshot).clone();
        let mut opened = newer.incidents[0].clone();
        opened.id = newer.incidents.iter().map(|i| i.id).max().unwrap_or(0) + 1;
        newer.incidents.push(opened);
        update(app, Msg::Snapshot(Arc::new(newer)));
        agentops_cockpit::ui::app::incident_rows(&app.snapshot).iter().map(|i| i.id).collect::<Vec<_>>()
    };
    let ids = open_one(&mut app);
    assert_eq!(app.selected[tab::INCIDENTS], 0, "not pointed at: the newest, on top");
    press(&mut app, KeyCode::Char('j'));
    let pointed = ids[1];
    let ids = open_one(&mut app);
    assert_eq!(ids[app.selected[tab::INCIDENTS]], pointed, "{ids:?}");
}

#[test]
fn empty_lists_say_why_they_are_empty() {
    let theme = theme(Depth::None);
    let mut app = app_with(&Snapshot::default());
    press(&mut app, KeyCode::Char('3'));
    assert!(text(&render(&app, 80, 24, &theme)).contains("No data in this window."));
    press(&mut app, KeyCode::Char('8'));
    assert!(text(&render(&app, 80, 24, &theme)).contains("No approvals: no agent has asked for one."));
    press(&mut app, KeyCode::Char('9'));
    assert!(text(&render(&app, 80, 24, &theme)).contains("No incidents. Alerts open them"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_names_the_version_it_pins_or_refuses_when_there_is_none() {
    let (s, _) = data().await;
    // support-triage runs 4.2 after 4.1, which met the SLO: the confirmation says 4.2 → 4.1 and
    // pins exactly 4.1.
    let mut app = app_with(s);
    assert!(command(&mut app, "rollback support-triage").is_empty());
    let Mode::Confirm(c) = &app.mode else { panic!("no confirmation: {:?}", app.mode) };
    assert!(c.lines[0].starts_with("pin: 4.2 → 4.1 "), "{:?}", c.lines);
    let Pending::Act(req) = &c.pending else { panic!("not a lever: {:?}", c.pending) };
    assert_eq!((req.lever.as_str(), &req.value), ("pin", &serde_json::json!("4.1")));
    // billing-ops has run one version only: nothing to roll back to, and no confirmation opens.
    let mut app = app_with(s);
    assert!(command(&mut app, "rollback billing-ops").is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let (msg, err) = app.message.clone().expect("message");
    assert!(err && msg.contains("nothing to roll back to"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn theme_colours_per_cell_and_no_color() {
    let (s, _) = data().await;
    let app = app_with(s);
    // True colour: the selected state cell "● live" uses the theme's good colour.
    let t = render(&app, 160, 48, &theme(Depth::TrueColor));
    let buf = t.backend().buffer();
    let (x, y) = (0..48u16)
        .flat_map(|y| (0..160u16).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "●")
        .expect("a live agent");
    assert_eq!(buf[(x, y)].fg, Color::Rgb(0x5f, 0xd7, 0x5f));
    // The header bar has the header background.
    assert_eq!(buf[(1, 0)].bg, Color::Rgb(0x26, 0x26, 0x26));
    // 256 colours map to indexed colours; NO_COLOR produces no colour attributes at all.
    let t = render(&app, 160, 48, &theme(Depth::Ansi256));
    assert!(matches!(t.backend().buffer()[(x, y)].fg, Color::Indexed(_)));
    let t = render(&app, 160, 48, &theme(Depth::None));
    let buf = t.backend().buffer();
    for y in 0..48 {
        for x in 0..160 {
            let c = &buf[(x, y)];
            assert!(matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset), "colour at {x},{y}: {c:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_approvals_preview_follows_the_selection_and_leaves_room_on_short_terminals() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('8'));
    let rows = approval_rows(&app.snapshot);
    let (first, second) = (rows[0].summary.clone(), rows[1].summary.clone());
    // At 80x24 the table has no room for the summary: the preview under it says it whole.
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains(&first) && !screen.contains(&second), "{screen}");
    press(&mut app, KeyCode::Char('j'));
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains(&second) && !screen.contains(&first), "{screen}");
    // Too short for a list and the box: the list keeps the room.
    let screen = text(&render(&app, 80, 14, &theme));
    assert!(!screen.contains(&second), "{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_narrow_header_keeps_the_states_an_operator_must_not_miss() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut s = s.clone();
    s.consoles = Some(2);
    let mut app = app_with(&s);
    app.conn = agentops_cockpit::ui::app::Conn::Stale { age_secs: 12, error: "refused".into() };
    let header = |w: u16| text(&render(&app, w, 24, &theme)).lines().next().unwrap_or_default().to_owned();
    // Wide: everything, the product's name first.
    let wide = header(200);
    for part in ["AgentOps Cockpit", "window 1h", "⚠ 3 alerts", "SEV-1 #1 open", "STALE 12s", "2 consoles"] {
        assert!(wide.contains(part), "{part} missing from {wide:?}");
    }
    // At 80 columns the name and the console count give way; the stale data, the incident, the
    // alerts and the pending approvals stay.
    let narrow = header(80);
    for part in ["STALE 12s", "SEV-1 #1 open", "⚠ 3 alerts", "2 pending"] {
        assert!(narrow.contains(part), "{part} missing from {narrow:?}");
    }
    assert!(!narrow.contains("AgentOps Cockpit") && !narrow.contains("consoles"), "{narrow:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_safety_view_says_when_no_red_team_run_was_seen() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('4'));
    assert!(text(&render(&app, 80, 24, &theme)).contains("25.0% of 4 runs"));
    let mut none = s.clone();
    none.summary.safety.red_team_runs = 0;
    none.summary.safety.injection_asr = None;
    let mut app = app_with(&none);
    press(&mut app, KeyCode::Char('4'));
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains("injection success (red team) no red-team runs"), "{screen}");
    assert!(!screen.contains("of 0 runs"), "{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn incident_commands_act_on_the_incident_in_view_when_given_no_id() {
    let (s, _) = data().await;
    let open = s.incidents.iter().find(|i| i.status == "open").expect("an open incident in the fixture");
    // Nowhere near an incident: the id is needed.
    let mut app = app_with(s);
    assert!(command(&mut app, "resolve").is_empty());
    let (msg, err) = app.message.clone().expect("message");
    assert!(err && msg.contains("needs an incident id"), "{msg}");
    // In its timeline: :resolve opens the confirmation for it, naming it.
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('9'));
    app.stack.push(Page::Incident(open.id));
    assert!(command(&mut app, "resolve").is_empty());
    let Mode::Confirm(c) = &app.mode else { panic!("no confirmation: {:?}", app.mode) };
    assert_eq!(c.title, format!("Resolve incident {}", open.id));
    assert_eq!(c.lines.first(), Some(&open.title));
    assert!(matches!(c.pending, Pending::Resolve(id) if id == open.id), "{:?}", c.pending);
    press(&mut app, KeyCode::Esc);
    // :note takes the whole line as the note; a leading number is still an id.
    let effects = command(&mut app, "note paged the owner");
    let [Effect::IncidentUpdate { id, kind, text, .. }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!((*id, kind.as_str(), text.as_str()), (open.id, "note", "paged the owner"));
    let effects = command(&mut app, "note 77 elsewhere");
    assert!(matches!(effects.as_slice(), [Effect::IncidentUpdate { id: 77, .. }]), "{effects:?}");
    assert!(matches!(command(&mut app, "export").as_slice(), [Effect::Export(id)] if *id == open.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_help_scrolls_to_the_levers_and_commands_at_80x24() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('?'));
    let screen = text(&render(&app, 80, 24, &theme));
    // Longer than the screen: the levers and the commands start below its edge, and it says so.
    assert!(screen.contains("Help — j/k scroll") && !screen.contains(":rollback"), "{screen}");
    press(&mut app, KeyCode::Char('G'));
    let screen = text(&render(&app, 80, 24, &theme));
    assert!(screen.contains(":rollback") && screen.contains(":quit"), "{screen}");
    assert!(!screen.contains("1  Overview"), "{screen}");
    // Up from the bottom moves at once (the view does not sit past the end).
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.help_line, agentops_cockpit::ui::app::help_len() - 2);
    // Everything fits on a tall terminal: no scrolling to offer.
    press(&mut app, KeyCode::Char('g'));
    let wide = text(&render(&app, 120, 60, &theme));
    assert!(wide.contains("Help — Esc closes") && wide.contains(":quit") && wide.contains("1  Overview"), "{wide}");
    // At 160x48 the keys and the commands stand side by side, whole, on the same rows.
    let two = text(&render(&app, 160, 48, &theme));
    assert!(!two.contains("scroll"), "{two}");
    let row = |needle: &str| two.lines().position(|l| l.contains(needle));
    assert_eq!(row("1  Overview"), row("Commands (:)").map(|r| r + 1), "{two}");
    assert!(row("export the incident").is_some() && row(":quit").is_some(), "{two}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_too_long_for_the_footer_ends_in_an_ellipsis() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut app = app_with(s);
    let long = format!("✓ tools billing-ops: revision 12, audit #34 · now {}", "x".repeat(200));
    app.message = Some((long, false));
    let screen = text(&render(&app, 80, 24, &theme));
    let footer = screen.lines().last().unwrap_or_default().trim_end().to_owned();
    assert!(footer.contains("audit #34") && footer.ends_with('…'), "{footer:?}");
    assert_eq!(footer.chars().count(), 80, "{footer:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_header_counts_one_of_a_thing_in_the_singular() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let mut s = s.clone();
    s.summary.alerts.truncate(1);
    s.consoles = Some(1);
    let header = text(&render(&app_with(&s), 200, 24, &theme)).lines().next().unwrap_or_default().to_owned();
    for part in ["⚠ 1 alert │", "1 console"] {
        assert!(header.contains(part), "{part} missing from {header:?}");
    }
    assert!(!header.contains("1 alerts") && !header.contains("1 consoles"), "{header:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_header_says_when_ingest_is_shedding_load_even_at_80_columns() {
    let (s, _) = data().await;
    let theme = theme(Depth::None);
    let header =
        |s: &Snapshot, w: u16| text(&render(&app_with(s), w, 24, &theme)).lines().next().unwrap_or_default().to_owned();
    // Nothing refused: no warning.
    assert!(!header(s, 200).contains("shedding"), "{:?}", header(s, 200));
    let mut shedding = s.clone();
    shedding.ingest_rate = 82_000.0;
    shedding.refused_rate = 37.4;
    // Beside the alerts and the open incident at 80 columns; the rate gives way first.
    let narrow = header(&shedding, 80);
    for part in ["⚠ shedding 37 req/s", "SEV-1 #1 open", "⚠ 3 alerts"] {
        assert!(narrow.contains(part), "{part} missing from {narrow:?}");
    }
    assert!(!narrow.contains("/s in"), "{narrow:?}");
    // A few refusals over the window are not rounded away.
    shedding.refused_rate = 0.2;
    assert!(header(&shedding, 200).contains("⚠ shedding 0.2 req/s"), "{:?}", header(&shedding, 200));
}

/// New runs push the older down the runs list: the cursor stays on the run it was on, except on
/// the top row, which keeps showing the newest.
#[tokio::test(flavor = "multi_thread")]
async fn the_runs_cursor_stays_on_its_run_as_new_runs_arrive() {
    let (s, _) = data().await;
    let mut app = app_with(s);
    press(&mut app, KeyCode::Char('7'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    let held = app.snapshot.runs[2].trace_id.clone();
    let arrive = |app: &mut App| {
        let mut next = (*app.snapshot).clone();
        let mut newest = next.runs[0].clone();
        newest.trace_id = format!("{:032x}", next.runs.len() + 1);
        next.runs.insert(0, newest);
        update(app, Msg::Snapshot(Arc::new(next)));
    };
    arrive(&mut app);
    assert_eq!((app.selected[tab::TRACES], &app.snapshot.runs[3].trace_id), (3, &held));
    press(&mut app, KeyCode::Char('g'));
    arrive(&mut app);
    assert_eq!(app.selected[tab::TRACES], 0, "the top row stays on the newest run");
}

/// As the first data fills the agents list in, the cursor stays on the top row: it follows an
/// agent only once the operator has pointed at one.
#[tokio::test(flavor = "multi_thread")]
async fn the_agents_cursor_stays_on_top_while_the_list_fills_in() {
    let (s, _) = data().await;
    let mut first = s.clone();
    first.summary.agents.retain(|a| a.name == "code-review");
    first.policy.effective.retain(|name, _| name == "code-review");
    let mut app = app_with(&first);
    update(&mut app, Msg::Snapshot(Arc::new(s.clone())));
    let names: Vec<String> =
        agentops_cockpit::ui::app::agent_lines(&app.snapshot).into_iter().map(|a| a.name).collect();
    assert_eq!((names[0].as_str(), app.selected[tab::OVERVIEW]), ("billing-ops", 0), "{names:?}");
    // Pointed at code-review, the cursor stays on it as an agent sorted before it appears.
    press(&mut app, KeyCode::Char('j'));
    let mut more = s.clone();
    let mut early = more.summary.agents[0].clone();
    early.name = "aardvark".into();
    more.summary.agents.push(early);
    update(&mut app, Msg::Snapshot(Arc::new(more)));
    let lines = agentops_cockpit::ui::app::agent_lines(&app.snapshot);
    assert_eq!(lines[app.selected[tab::OVERVIEW]].name, names[1]);
}
