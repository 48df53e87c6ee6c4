//! `cockpit audit …` and `cockpit incident …`: offline tools over `control.db`.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{AuditAction, IncidentAction};
use crate::control::audit::{self, Verdict};
use crate::control::schema::CONTROL_DB;
use crate::control::{ControlOptions, ControlPlane, incidents};

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("cockpit: {message}");
    ExitCode::from(code)
}

/// Verifies or tails the audit log.
pub fn audit(data_dir: &Path, action: &AuditAction) -> ExitCode {
    if !data_dir.join(CONTROL_DB).exists() {
        return fail(format!("no control database in {} (pass --data-dir)", data_dir.display()), 2);
    }
    let conn = match crate::control::schema::open(data_dir) {
        Ok(c) => c,
        Err(e) => return fail(e, 2),
    };
    match action {
        AuditAction::Verify => match audit::verify(&conn) {
            Ok(Verdict::Intact { entries }) => {
                println!("audit chain intact: {entries} entries");
                ExitCode::SUCCESS
            }
            Ok(Verdict::Broken { id, why }) => {
                println!("audit chain broken at entry {id}: {why}");
                ExitCode::FAILURE
            }
            Err(e) => fail(format!("cannot read the audit log: {e}"), 2),
        },
        AuditAction::Tail { lines } => match audit::tail(&conn, *lines) {
            Ok(entries) => {
                for e in entries {
                    let incident = e.incident.map(|i| format!(" [incident {i}]")).unwrap_or_default();
                    println!(
                        "#{} {} {} {} {}: {} → {} — {}{incident}",
                        e.id, e.at, e.actor, e.action, e.target, e.before, e.after, e.reason
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("cannot read the audit log: {e}"), 2),
        },
    }
}

/// Exports an incident as Markdown.
pub fn incident(data_dir: &Path, action: &IncidentAction) -> ExitCode {
    if !data_dir.join(CONTROL_DB).exists() {
        return fail(format!("no control database in {} (pass --data-dir)", data_dir.display()), 2);
    }
    let control = match ControlPlane::open(data_dir, ControlOptions { read_only: true, ..ControlOptions::default() }) {
        Ok(c) => c,
        Err(e) => return fail(e, 2),
    };
    match action {
        IncidentAction::Export { id, output } => {
            let list = match control.incidents() {
                Ok(l) => l,
                Err(e) => return fail(e, 2),
            };
            let Some(i) = list.iter().find(|i| i.id == *id) else {
                return fail(format!("no incident {id}"), 1);
            };
            let text = incidents::markdown(i);
            match output {
                Some(path) => match std::fs::write(path, text) {
                    Ok(()) => {
                        println!("wrote {}", path.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(format!("cannot write {}: {e}", path.display()), 1),
                },
                None => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
            }
        }
    }
}
