//! Alert rules: a table of checks over recent windows, with thresholds from config. An alert
//! keeps the time it started firing until it stops; a rule over a sliding window keeps firing
//! for a short while after its condition stops holding, so a rate near its threshold does not
//! open, clear and open again every few seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::figures::AlertRow;
use super::rollup::{Bucket, GuardCell, LlmCell, Merge, RunCell, ToolCell};

/// Alert thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// The success-rate objective (also the bar for last-known-good versions).
    pub slo_success_rate: f64,
    /// Runs an agent needs in the window before rate rules judge it.
    pub min_runs: u64,
    /// Error-budget burn rate (over one hour) that pages.
    pub burn_rate: f64,
    /// Fleet spend budget, USD per hour.
    pub budget_usd_per_hour: Option<f64>,
    /// Tool error rate (over five minutes) that alerts.
    pub tool_error_rate: f64,
    /// Calls a tool needs before the error-rate rule judges it.
    pub tool_min_calls: u64,
    /// Guardrail trip rate (over five minutes) that alerts.
    pub guardrail_trip_rate: f64,
    /// Decisions needed before the trip-rate rule judges.
    pub guardrail_min_decisions: u64,
    /// An approval pending longer than this (seconds) alerts.
    pub approval_wait_seconds: u64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            slo_success_rate: 0.90,
            min_runs: 20,
            burn_rate: 2.0,
            budget_usd_per_hour: None,
            tool_error_rate: 0.25,
            tool_min_calls: 10,
            guardrail_trip_rate: 0.30,
            guardrail_min_decisions: 10,
            approval_wait_seconds: 600,
        }
    }
}

/// What rules see beyond the window's bucket.
#[derive(Debug, Clone, Default)]
pub struct AlertInputs {
    /// Age of the oldest pending approval, seconds.
    pub oldest_pending_approval_s: Option<u64>,
    /// Pending approvals.
    pub pending_approvals: u64,
}

/// A rule firing for a subject (an agent, a tool, or the fleet).
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The agent concerned, if one.
    pub agent: Option<String>,
    /// What the rule fired on (tool name, guardrail…), for identity.
    pub subject: String,
    /// One line.
    pub message: String,
}

type Check = fn(&Bucket, &AlertConfig, &AlertInputs, f64) -> Vec<Firing>;

/// A rule: name, severity, the window it looks at (minutes), and its check.
pub struct Rule {
    /// Rule name.
    pub name: &'static str,
    /// SEV-0/1/2.
    pub severity: &'static str,
    /// Window, minutes.
    pub window_minutes: i64,
    /// Seconds the alert keeps firing after its condition stops holding (0: clears at once).
    pub keep_firing_s: u64,
    /// The check.
    pub check: Check,
}

/// The built-in rules.
pub const RULES: &[Rule] = &[
    Rule {
        name: "success_rate_drop",
        severity: "SEV-2",
        window_minutes: 15,
        keep_firing_s: 120,
        check: success_rate_drop,
    },
    Rule {
        name: "error_budget_burn",
        severity: "SEV-2",
        window_minutes: 60,
        keep_firing_s: 120,
        check: error_budget_burn,
    },
    Rule {
        name: "spend_over_budget",
        severity: "SEV-2",
        window_minutes: 15,
        keep_firing_s: 120,
        check: spend_over_budget,
    },
    Rule {
        name: "tool_error_spike",
        severity: "SEV-2",
        window_minutes: 5,
        keep_firing_s: 120,
        check: tool_error_spike,
    },
    Rule {
        name: "guardrail_trip_spike",
        severity: "SEV-1",
        window_minutes: 5,
        keep_firing_s: 120,
        check: guardrail_trip_spike,
    },
    // Any success in the hour fires: it does not hover around a threshold.
    Rule {
        name: "red_team_injection_success",
        severity: "SEV-1",
        window_minutes: 60,
        keep_firing_s: 0,
        check: injection_success,
    },
    // The pending approvals are counted exactly: one decided is no longer waiting.
    Rule {
        name: "approvals_waiting",
        severity: "SEV-2",
        window_minutes: 1,
        keep_firing_s: 0,
        check: approvals_waiting,
    },
];

fn by_agent<C: Merge + Default + Clone>(t: &super::rollup::Table<C>) -> BTreeMap<String, C> {
    let mut out: BTreeMap<String, C> = BTreeMap::new();
    for (k, c) in &t.0 {
        out.entry(k.agent.to_string()).or_default().merge(c);
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// A rate that is below `bar`, with as few decimals as keep it visibly below: rounding 89.8%
/// to "90%" beside "below the 90% objective" reads as a false alarm to whoever is on call.
fn pct_below(x: f64, bar: f64) -> String {
    let (x, bar) = (x * 100.0, bar * 100.0);
    for decimals in 0..=2 {
        let scale = 10f64.powi(decimals);
        if (x * scale).round() < bar * scale {
            return format!("{x:.*}%", decimals as usize);
        }
    }
    // Closer than 0.005 points: cut instead of rounding, so it still reads below.
    format!("{:.2}%", (x * 100.0).floor() / 100.0)
}

fn success_rate_drop(b: &Bucket, cfg: &AlertConfig, _: &AlertInputs, _: f64) -> Vec<Firing> {
    by_agent::<RunCell>(&b.runs)
        .into_iter()
        .filter(|(_, c)| c.runs >= cfg.min_runs)
        .filter_map(|(agent, c)| {
            let rate = c.success as f64 / c.runs as f64;
            (rate < cfg.slo_success_rate).then(|| Firing {
                message: format!(
                    "{agent}: success rate {} over 15m is below the {} objective ({} of {} runs)",
                    pct_below(rate, cfg.slo_success_rate),
                    pct(cfg.slo_success_rate),
                    c.success,
                    c.runs
                ),
                subject: agent.clone(),
                agent: Some(agent),
            })
        })
        .collect()
}

fn error_budget_burn(b: &Bucket, cfg: &AlertConfig, _: &AlertInputs, _: f64) -> Vec<Firing> {
    let budget = 1.0 - cfg.slo_success_rate;
    if budget <= 0.0 {
        return Vec::new();
    }
    by_agent::<RunCell>(&b.runs)
        .into_iter()
        .filter(|(_, c)| c.runs >= cfg.min_runs)
        .filter_map(|(agent, c)| {
            let burn = (1.0 - c.success as f64 / c.runs as f64) / budget;
            (burn >= cfg.burn_rate).then(|| Firing {
                message: format!("{agent}: burning its error budget {burn:.1}× too fast over 1h"),
                subject: agent.clone(),
                agent: Some(agent),
            })
        })
        .collect()
}

fn spend_over_budget(b: &Bucket, cfg: &AlertConfig, _: &AlertInputs, hours: f64) -> Vec<Firing> {
    let Some(budget) = cfg.budget_usd_per_hour else { return Vec::new() };
    let mut all = LlmCell::default();
    b.llm.0.values().for_each(|c| all.merge(c));
    let rate = (all.reported_cost_usd + all.computed_cost_usd) / hours.max(1e-9);
    if rate <= budget {
        return Vec::new();
    }
    // Name the biggest spender.
    let top = by_agent::<LlmCell>(&b.llm)
        .into_iter()
        .max_by(|x, y| {
            (x.1.reported_cost_usd + x.1.computed_cost_usd).total_cmp(&(y.1.reported_cost_usd + y.1.computed_cost_usd))
        })
        .map(|(a, _)| a);
    vec![Firing {
        message: format!(
            "fleet spend ${rate:.2}/h over 15m exceeds the ${budget:.2}/h budget{}",
            top.as_ref().map(|a| format!(" (top spender: {a})")).unwrap_or_default()
        ),
        subject: "fleet".into(),
        agent: top,
    }]
}

fn tool_error_spike(b: &Bucket, cfg: &AlertConfig, _: &AlertInputs, _: f64) -> Vec<Firing> {
    let mut tools: BTreeMap<&str, ToolCell> = BTreeMap::new();
    for (k, c) in &b.tools.0 {
        tools.entry(&*k.what).or_default().merge(c);
    }
    tools
        .into_iter()
        .filter(|(_, c)| c.calls >= cfg.tool_min_calls)
        .filter_map(|(tool, c)| {
            let rate = c.errors as f64 / c.calls as f64;
            (rate >= cfg.tool_error_rate).then(|| Firing {
                agent: None,
                subject: tool.to_owned(),
                message: format!(
                    "tool {tool}: {} of {} calls failed over 5m ({} authz, {} timeout)",
                    c.errors, c.calls, c.authz, c.timeout
                ),
            })
        })
        .collect()
}

fn guardrail_trip_spike(b: &Bucket, cfg: &AlertConfig, _: &AlertInputs, _: f64) -> Vec<Firing> {
    by_agent::<GuardCell>(&b.guards)
        .into_iter()
        .filter(|(_, c)| c.total() >= cfg.guardrail_min_decisions)
        .filter_map(|(agent, c)| {
            let rate = c.trips() as f64 / c.total() as f64;
            (rate >= cfg.guardrail_trip_rate).then(|| Firing {
                message: format!(
                    "{agent}: {} of {} guardrail checks tripped over 5m ({} blocked)",
                    c.trips(),
                    c.total(),
                    c.block
                ),
                subject: agent.clone(),
                agent: Some(agent),
            })
        })
        .collect()
}

fn injection_success(b: &Bucket, _: &AlertConfig, _: &AlertInputs, _: f64) -> Vec<Firing> {
    by_agent::<RunCell>(&b.runs)
        .into_iter()
        .filter(|(_, c)| c.attacks_succeeded > 0)
        .map(|(agent, c)| Firing {
            message: format!(
                "{agent}: {} of {} red-team injection attempts succeeded in the last hour",
                c.attacks_succeeded, c.red_team_runs
            ),
            subject: agent.clone(),
            agent: Some(agent),
        })
        .collect()
}

fn approvals_waiting(_: &Bucket, cfg: &AlertConfig, inputs: &AlertInputs, _: f64) -> Vec<Firing> {
    match inputs.oldest_pending_approval_s {
        Some(age) if age >= cfg.approval_wait_seconds => vec![Firing {
            agent: None,
            subject: "approvals".into(),
            message: format!("{} approval(s) pending; the oldest has waited {}m", inputs.pending_approvals, age / 60),
        }],
        _ => Vec::new(),
    }
}

/// An alert that is firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    /// Rule.
    pub rule: &'static str,
    /// Severity.
    pub severity: &'static str,
    /// Agent, if one.
    pub agent: Option<String>,
    /// Message, as of the last evaluation its condition held at.
    pub message: String,
    /// When it started firing, ns.
    pub since_ns: u64,
    /// When its condition last held, ns.
    held_ns: u64,
    /// How long it is kept after that (the rule's `keep_firing_s`), ns.
    keep_ns: u64,
}

/// The alerts firing now.
#[derive(Debug, Default)]
pub struct AlertBook {
    active: BTreeMap<(&'static str, String), Active>,
    /// The time of the last evaluation, ns.
    now_ns: u64,
}

impl AlertBook {
    /// Evaluates every rule as of `now_ns`; answers the alerts that started firing.
    pub fn evaluate(
        &mut self,
        now_ns: u64,
        window: impl Fn(i64) -> Bucket,
        cfg: &AlertConfig,
        inputs: &AlertInputs,
    ) -> Vec<Active> {
        let mut firing: BTreeMap<(&'static str, String), (Firing, &'static Rule)> = BTreeMap::new();
        for rule in RULES {
            let bucket = window(rule.window_minutes);
            for f in (rule.check)(&bucket, cfg, inputs, rule.window_minutes as f64 / 60.0) {
                firing.insert((rule.name, f.subject.clone()), (f, rule));
            }
        }
        self.now_ns = now_ns;
        self.active.retain(|k, a| firing.contains_key(k) || now_ns.saturating_sub(a.held_ns) < a.keep_ns);
        let mut opened = Vec::new();
        for (key, (f, rule)) in firing {
            match self.active.get_mut(&key) {
                Some(a) => {
                    a.message = f.message;
                    a.held_ns = now_ns;
                }
                None => {
                    let a = Active {
                        rule: key.0,
                        severity: rule.severity,
                        agent: f.agent,
                        message: f.message,
                        since_ns: now_ns,
                        held_ns: now_ns,
                        keep_ns: rule.keep_firing_s * 1_000_000_000,
                    };
                    opened.push(a.clone());
                    self.active.insert(key, a);
                }
            }
        }
        opened
    }

    /// The firing alerts as rows (SEV-0 first, then oldest first), optionally for one agent.
    pub fn rows(&self, agent: Option<&str>) -> Vec<AlertRow> {
        let mut rows: Vec<&Active> = self
            .active
            .values()
            .filter(|a| agent.is_none() || a.agent.as_deref() == agent || a.agent.is_none())
            .collect();
        rows.sort_by_key(|a| (a.severity, a.since_ns));
        rows.into_iter()
            .map(|a| AlertRow {
                rule: a.rule.to_owned(),
                severity: a.severity.to_owned(),
                agent: a.agent.clone(),
                message: self.message(a),
                since: rfc3339(a.since_ns),
            })
            .collect()
    }

    /// An alert's message; one kept after its condition stopped holding says so, so the figure
    /// it quotes is not read as the current one.
    fn message(&self, a: &Active) -> String {
        let quiet_ns = self.now_ns.saturating_sub(a.held_ns);
        if quiet_ns == 0 {
            return a.message.clone();
        }
        format!("{} — not so for {}s, clears after {}s", a.message, quiet_ns / 1_000_000_000, a.keep_ns / 1_000_000_000)
    }
}

/// ns since the epoch as RFC 3339 (UTC, seconds).
pub fn rfc3339(ns: u64) -> String {
    chrono::DateTime::from_timestamp((ns / 1_000_000_000) as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::prices::PriceTable;
    use crate::analytics::rollup::Rollups;
    use crate::model::Outcome;
    use crate::store::settle::{Settled, SettledRun, Who};

    fn runs(n: usize, ok: usize, t0: u64) -> Settled {
        let mut s = Settled::default();
        for i in 0..n {
            s.runs.push(SettledRun {
                time_ns: t0 + i as u64 * 1_000_000,
                who: Who { agent: "billing".into(), version: "2".into(), environment: "prod".into() },
                trace_id: [2; 16],
                span_id: [2; 8],
                scenario: None,
                outcome: if i < ok { Outcome::Success } else { Outcome::Failure },
                duration_ms: 10.0,
                steps: 1,
                retries: 0,
                handoffs: 0,
                step_budget: None,
                red_team: false,
                attack_succeeded: None,
                usage: vec![],
                guardrail_trips: 0,
                leak: false,
            });
        }
        s
    }

    #[test]
    fn success_drop_fires_keeps_its_since_and_clears() {
        let t0 = 1_700_000_000_000_000_000u64;
        let mut rollups = Rollups::new(PriceTable::builtin());
        rollups.record(runs(30, 15, t0));
        let cfg = AlertConfig::default();
        let mut book = AlertBook::default();
        let now = super::super::rollup::minute_of(t0);
        fn window(r: &Rollups, at: i64) -> impl Fn(i64) -> Bucket + '_ {
            move |m: i64| r.window(at - m + 1, at, &|_| true)
        }
        let opened = book.evaluate(t0, window(&rollups, now), &cfg, &AlertInputs::default());
        let names: Vec<&str> = opened.iter().map(|a| a.rule).collect();
        assert!(names.contains(&"success_rate_drop") && names.contains(&"error_budget_burn"), "{names:?}");
        // Still firing a minute later: not opened again, since unchanged.
        let opened = book.evaluate(t0 + 60_000_000_000, window(&rollups, now + 1), &cfg, &AlertInputs::default());
        assert!(opened.is_empty());
        let rows = book.rows(Some("billing"));
        assert!(rows.iter().all(|r| r.since == rfc3339(t0)), "{rows:?}");
        assert!(rows.iter().any(|r| r.message.contains("success rate 50%")), "{rows:?}");
        // An hour later the window is empty: cleared.
        book.evaluate(t0 + 3_600_000_000_000, window(&rollups, now + 61), &cfg, &AlertInputs::default());
        assert!(book.rows(None).is_empty());
    }

    #[test]
    fn a_rate_rule_keeps_firing_briefly_after_its_condition_stops_so_it_does_not_flap() {
        let t0 = 1_700_000_000_000_000_000u64;
        let s = 1_000_000_000u64;
        let mut rollups = Rollups::new(PriceTable::builtin());
        rollups.record(runs(30, 15, t0));
        let now = super::super::rollup::minute_of(t0);
        let bad = |m: i64| rollups.window(now - m + 1, now, &|_| true);
        let good = |_: i64| Bucket::default();
        let (cfg, inputs) = (AlertConfig::default(), AlertInputs::default());
        let mut book = AlertBook::default();
        let drop = |book: &AlertBook| book.rows(None).into_iter().find(|r| r.rule == "success_rate_drop");
        assert!(book.evaluate(t0, bad, &cfg, &inputs).iter().any(|a| a.rule == "success_rate_drop"));
        // The condition stops holding: still firing, and the message says since when.
        book.evaluate(t0 + 5 * s, good, &cfg, &inputs);
        let row = drop(&book).map(|r| (r.since, r.message));
        assert_eq!(
            row,
            Some((
                rfc3339(t0),
                "billing: success rate 50% over 15m is below the 90% objective (15 of 30 runs) — not so for 5s, clears after 120s"
                    .to_owned()
            ))
        );
        // It holds again: the same alert, not a new one, with the fresh message.
        assert!(book.evaluate(t0 + 10 * s, bad, &cfg, &inputs).is_empty());
        assert!(drop(&book).is_some_and(|r| r.since == rfc3339(t0) && !r.message.contains("not so")));
        // Quiet for less than the rule's 120 s: still there; for 120 s: cleared.
        book.evaluate(t0 + 129 * s, good, &cfg, &inputs);
        assert!(drop(&book).is_some());
        book.evaluate(t0 + 130 * s, good, &cfg, &inputs);
        assert!(drop(&book).is_none());
    }

    #[test]
    fn a_rate_just_under_the_objective_never_reads_as_the_objective() {
        assert_eq!(pct_below(0.85, 0.90), "85%");
        assert_eq!(pct_below(0.898, 0.90), "89.8%");
        assert_eq!(pct_below(0.8996, 0.90), "89.96%");
        assert_eq!(pct_below(0.899_999, 0.90), "89.99%");
        // Through the rule: 898 of 1,000 used to read "90% … below the 90% objective".
        let t0 = 1_700_000_000_000_000_000u64;
        let mut rollups = Rollups::new(PriceTable::builtin());
        rollups.record(runs(1000, 898, t0));
        let now = super::super::rollup::minute_of(t0);
        let bucket = |m: i64| rollups.window(now - m + 1, now, &|_| true);
        let opened = AlertBook::default().evaluate(t0, bucket, &AlertConfig::default(), &AlertInputs::default());
        let drop = opened.iter().find(|a| a.rule == "success_rate_drop").map(|a| a.message.as_str());
        assert_eq!(drop, Some("billing: success rate 89.8% over 15m is below the 90% objective (898 of 1000 runs)"));
    }

    #[test]
    fn approvals_waiting_uses_its_threshold() {
        let cfg = AlertConfig::default();
        let mut book = AlertBook::default();
        let inputs = AlertInputs { oldest_pending_approval_s: Some(601), pending_approvals: 2 };
        let opened = book.evaluate(0, |_| Bucket::default(), &cfg, &inputs);
        assert_eq!(opened.len(), 1);
        assert!(opened[0].message.contains("2 approval(s)"));
        let quiet = AlertInputs { oldest_pending_approval_s: Some(10), pending_approvals: 1 };
        book.evaluate(0, |_| Bucket::default(), &cfg, &quiet);
        assert!(book.rows(None).is_empty());
    }
}
