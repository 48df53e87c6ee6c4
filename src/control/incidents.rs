//! Incident export: Markdown for the postmortem, with the playbook's investigation checklist.

use std::fmt::Write;

use super::model::Incident;

/// The playbook's investigation checklist, by severity.
const CHECKLIST: &[(&str, &[&str])] = &[
    (
        "SEV-0",
        &[
            "Contain first: kill switch or allowlist narrowing on every affected agent (fleet-wide if unsure)",
            "Confirm the exfiltration, unauthorized action or harmful output from the traces below",
            "List every tool call with side effects in the affected runs; revoke credentials they used",
            "Identify the entry point (prompt injection source, tool output, user input)",
            "Notify security and the data owners; preserve traces and this export",
            "Restore levers one at a time, watching guardrail trips and tool calls",
        ],
    ),
    (
        "SEV-1",
        &[
            "Contain: narrow the allowlist or require approval for writes on the affected agent",
            "Reproduce the near miss or injection from the linked traces",
            "Check red-team results and guardrail coverage for the category involved",
            "Decide whether the guardrail, the prompt or the tool needs the fix",
            "Restore levers once the fix is verified",
        ],
    ),
    (
        "SEV-2",
        &[
            "Find the change: version, prompt, model alias or tool behind the regression (Drift view)",
            "Compare the failing runs with the baseline version's",
            "Roll back (pin the last known good version) if the regression is in a release",
            "Check cost and latency figures recovered after containment",
            "Record the root cause and the follow-up actions",
        ],
    ),
];

/// The incident as Markdown: summary, timeline, affected traces, checklist.
pub fn markdown(i: &Incident) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Incident {} — {} — {}\n", i.id, i.sev, i.title);
    let _ = writeln!(o, "- Status: {}", i.status);
    let _ = writeln!(o, "- Agent: {}", i.agent.as_deref().unwrap_or("fleet-wide"));
    let _ = writeln!(o, "- Opened: {} by {}", i.opened_at, i.opened_by);
    if let Some(c) = &i.closed_at {
        let _ = writeln!(o, "- Resolved: {c}");
    }
    let _ = writeln!(o, "\n## Timeline\n");
    for e in &i.timeline {
        let trace = e.trace_id.as_deref().map(|t| format!(" (trace `{t}`)")).unwrap_or_default();
        let _ = writeln!(o, "- {} **{}** {}{trace}", e.at, e.kind, e.text);
    }
    let mut traces: Vec<&str> = i.timeline.iter().filter_map(|e| e.trace_id.as_deref()).collect();
    traces.sort_unstable();
    traces.dedup();
    let _ = writeln!(o, "\n## Affected traces\n");
    if traces.is_empty() {
        o.push_str("None linked yet.\n");
    }
    for t in traces {
        let _ = writeln!(o, "- `{t}`");
    }
    let _ = writeln!(o, "\n## Investigation checklist\n");
    let items = CHECKLIST.iter().find(|(sev, _)| *sev == i.sev).map_or(&[][..], |(_, items)| *items);
    for item in items {
        let _ = writeln!(o, "- [ ] {item}");
    }
    let _ = writeln!(o, "\n## Root cause\n\n_To be written._\n\n## Follow-up actions\n\n_To be written._");
    o
}
