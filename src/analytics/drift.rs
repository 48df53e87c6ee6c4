//! Drift: each agent's current version against its baseline, with effect sizes and
//! significance; flagged only when both pass their thresholds and both sides have a minimum
//! sample.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use super::figures::DriftRow;
use super::rollup::{Bucket, Merge, RunCell, ToolCell};
use super::sketch::Sketch;

/// Drift thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Significance level.
    pub alpha: f64,
    /// Runs (or tool calls) each side needs.
    pub min_samples: u64,
    /// Success-rate drop that matters (absolute, 0.05 = 5 points).
    pub min_success_drop: f64,
    /// Relative rise of median latency or tokens per run that matters (0.10 = 10%).
    pub min_relative_rise: f64,
    /// Cramér's V of the tool mix that matters.
    pub min_tool_mix_v: f64,
    /// Drift looks back at least this far, seconds, whatever the window.
    pub horizon_seconds: u64,
    /// Pinned baselines: agent → version.
    pub baselines: BTreeMap<String, String>,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            min_samples: 30,
            min_success_drop: 0.05,
            min_relative_rise: 0.10,
            min_tool_mix_v: 0.10,
            horizon_seconds: 24 * 3600,
            baselines: BTreeMap::new(),
        }
    }
}

/// Two-sided p-value of the two-proportion z-test (pooled).
pub fn two_proportion_p(s1: u64, n1: u64, s2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (s1 + s2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (s1 as f64 / n1f - s2 as f64 / n2f) / se;
    let normal = Normal::standard();
    Some((2.0 * (1.0 - normal.cdf(z.abs()))).clamp(0.0, 1.0))
}

/// The asymptotic Kolmogorov–Smirnov p-value for statistic `d` with sample sizes `n1`, `n2`.
pub fn ks_p(d: f64, n1: u64, n2: u64) -> f64 {
    let ne = (n1 as f64 * n2 as f64) / (n1 + n2).max(1) as f64;
    let sq = ne.sqrt();
    let lambda = (sq + 0.12 + 0.11 / sq) * d;
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u32 % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

const GRID: usize = 100;

/// The KS statistic between two sketched distributions, from their quantile functions on a
/// 1% grid (resolution 0.01).
pub fn ks_statistic(a: &Sketch, b: &Sketch) -> Option<f64> {
    let qs: Vec<f64> = (0..GRID).map(|i| (i as f64 + 0.5) / GRID as f64).collect();
    let qa = a.quantiles(&qs)?;
    let qb = b.quantiles(&qs)?;
    let cdf = |q: &[f64], x: f64| q.partition_point(|v| *v <= x) as f64 / GRID as f64;
    Some(qa.iter().chain(qb.iter()).map(|&x| (cdf(&qa, x) - cdf(&qb, x)).abs()).fold(0.0, f64::max))
}

/// Chi-square test of a 2×k table of counts: (p-value, Cramér's V).
pub fn chi_square_2xk(a: &[u64], b: &[u64]) -> Option<(f64, f64)> {
    let cols: Vec<(f64, f64)> =
        a.iter().zip(b).filter(|(x, y)| **x + **y > 0).map(|(x, y)| (*x as f64, *y as f64)).collect();
    let (ta, tb): (f64, f64) = cols.iter().fold((0.0, 0.0), |(s, t), (x, y)| (s + x, t + y));
    let n = ta + tb;
    if cols.len() < 2 || ta == 0.0 || tb == 0.0 {
        return None;
    }
    let mut chi = 0.0;
    for (x, y) in &cols {
        let col = x + y;
        let (ea, eb) = (ta * col / n, tb * col / n);
        chi += (x - ea).powi(2) / ea + (y - eb).powi(2) / eb;
    }
    let dist = ChiSquared::new((cols.len() - 1) as f64).ok()?;
    Some(((1.0 - dist.cdf(chi)).clamp(0.0, 1.0), (chi / n).sqrt()))
}

/// One version's merged runs and its tool calls by tool.
type VersionCells = (RunCell, BTreeMap<String, ToolCell>);

/// Per agent: each version's merged run and tool cells.
fn by_version(b: &Bucket) -> BTreeMap<String, BTreeMap<String, VersionCells>> {
    let mut out: BTreeMap<String, BTreeMap<String, VersionCells>> = BTreeMap::new();
    for (k, c) in &b.runs.0 {
        out.entry(k.agent.to_string()).or_default().entry(k.version.to_string()).or_default().0.merge(c);
    }
    for (k, c) in &b.tools.0 {
        if let Some(v) = out.get_mut(&*k.agent).and_then(|vs| vs.get_mut(&*k.version)) {
            v.1.entry(k.what.to_string()).or_default().merge(c);
        }
    }
    out
}

/// The drift table for every agent with a current version and a baseline.
pub fn drift(b: &Bucket, cfg: &DriftConfig) -> Vec<DriftRow> {
    let mut rows = Vec::new();
    for (agent, versions) in by_version(b) {
        let Some((current, (cur, cur_tools))) = versions.iter().max_by_key(|(_, (c, _))| c.last_ns) else { continue };
        let baseline = match cfg.baselines.get(&agent) {
            Some(pinned) if pinned != current => versions.get_key_value(pinned),
            Some(_) => None,
            None => versions
                .iter()
                .filter(|(v, (c, _))| *v != current && c.first_ns < cur.first_ns)
                .max_by_key(|(_, (c, _))| c.first_ns),
        };
        let Some((base_version, (base, base_tools))) = baseline else { continue };
        let enough = |a: u64, b: u64| a >= cfg.min_samples && b >= cfg.min_samples;
        let row = |metric: &str| DriftRow {
            agent: agent.clone(),
            version: current.clone(),
            baseline_version: base_version.clone(),
            metric: metric.to_owned(),
            current_n: cur.runs,
            baseline_n: base.runs,
            ..DriftRow::default()
        };

        // Success rate: two-proportion test; a drop is a regression.
        let mut r = row("success_rate");
        r.current = (cur.runs > 0).then(|| cur.success as f64 / cur.runs as f64);
        r.baseline = (base.runs > 0).then(|| base.success as f64 / base.runs as f64);
        r.effect = r.current.zip(r.baseline).map(|(c, b)| c - b);
        r.p_value = two_proportion_p(cur.success, cur.runs, base.success, base.runs);
        r.flagged = enough(cur.runs, base.runs)
            && r.effect.is_some_and(|e| e <= -cfg.min_success_drop)
            && r.p_value.is_some_and(|p| p < cfg.alpha);
        rows.push(r);

        // Latency and tokens per run: KS on the sketches; a rise of the median is a regression.
        for (metric, cs, bs) in
            [("run_latency_ms", &cur.duration, &base.duration), ("tokens_per_run", &cur.tokens, &base.tokens)]
        {
            let mut r = row(metric);
            r.current = cs.quantile(0.5);
            r.baseline = bs.quantile(0.5);
            r.effect = r.current.zip(r.baseline).and_then(|(c, b)| (b > 0.0).then(|| (c - b) / b));
            r.p_value = ks_statistic(cs, bs).map(|d| ks_p(d, cs.count(), bs.count()));
            r.flagged = enough(cs.count(), bs.count())
                && r.effect.is_some_and(|e| e >= cfg.min_relative_rise)
                && r.p_value.is_some_and(|p| p < cfg.alpha);
            rows.push(r);
        }

        // Tool mix: chi-square on call counts per tool; any significant shift matters.
        let tools: BTreeSet<&String> = cur_tools.keys().chain(base_tools.keys()).collect();
        let counts = |t: &BTreeMap<String, ToolCell>| {
            tools.iter().map(|n| t.get(*n).map_or(0, |c| c.calls)).collect::<Vec<u64>>()
        };
        let (ca, cb) = (counts(cur_tools), counts(base_tools));
        let (ta, tb): (u64, u64) = (ca.iter().sum(), cb.iter().sum());
        let mut r = row("tool_mix");
        r.current_n = ta;
        r.baseline_n = tb;
        if let Some((p, v)) = chi_square_2xk(&ca, &cb) {
            // Describe the tool whose share moved most.
            let moved = tools
                .iter()
                .enumerate()
                .map(|(i, name)| (name, ca[i] as f64 / ta as f64, cb[i] as f64 / tb as f64))
                .max_by(|x, y| (x.1 - x.2).abs().total_cmp(&(y.1 - y.2).abs()));
            if let Some((name, c, b)) = moved {
                r.current = Some(c);
                r.baseline = Some(b);
                r.detail = format!("{name}: {:.0}% → {:.0}% of calls", b * 100.0, c * 100.0);
            }
            r.effect = Some(v);
            r.p_value = Some(p);
            r.flagged = enough(ta, tb) && v >= cfg.min_tool_mix_v && p < cfg.alpha;
        }
        rows.push(r);
    }
    // Flagged rows first.
    rows.sort_by_key(|r| !r.flagged);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::prices::PriceTable;
    use crate::analytics::rollup::Rollups;
    use crate::model::Outcome;
    use crate::store::settle::{Settled, SettledRun, Who};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn run(version: &str, ok: bool, t: u64, duration: f64, tokens: u64) -> SettledRun {
        SettledRun {
            time_ns: t,
            who: Who { agent: "support".into(), version: version.into(), environment: "prod".into() },
            trace_id: [1; 16],
            span_id: [1; 8],
            scenario: None,
            outcome: if ok { Outcome::Success } else { Outcome::Failure },
            duration_ms: duration,
            steps: 3,
            retries: 0,
            handoffs: 0,
            step_budget: None,
            red_team: false,
            attack_succeeded: None,
            usage: vec![crate::store::settle::Usage {
                model: None,
                input: tokens,
                output: 0,
                cache_read: 0,
                reasoning: 0,
                reported_cost: Some(0.0),
            }],
            guardrail_trips: 0,
            leak: false,
        }
    }

    /// Baseline "1.0" then current "1.1", `n` runs each with the given success rates.
    fn versions(seed: u64, n: usize, base_rate: f64, cur_rate: f64) -> Vec<DriftRow> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rollups = Rollups::new(PriceTable::builtin());
        let mut settled = Settled::default();
        let t0 = 1_700_000_000_000_000_000u64;
        for i in 0..n {
            let d = 800.0 * (1.0 + rng.random::<f64>());
            settled.runs.push(run(
                "1.0",
                rng.random_bool(base_rate),
                t0 + i as u64 * 1_000_000_000,
                d,
                1000 + rng.random_range(0..400),
            ));
        }
        for i in 0..n {
            let d = 800.0 * (1.0 + rng.random::<f64>());
            let t = t0 + (n + i) as u64 * 1_000_000_000;
            settled.runs.push(run("1.1", rng.random_bool(cur_rate), t, d, 1000 + rng.random_range(0..400)));
        }
        rollups.record(settled);
        drift(&rollups.window(i64::MIN / 2, i64::MAX / 2, &|_| true), &DriftConfig::default())
    }

    #[test]
    fn a_success_drop_from_95_to_80_is_flagged() {
        let rows = versions(7, 200, 0.95, 0.80);
        let s = rows.iter().find(|r| r.metric == "success_rate").expect("row");
        assert!(s.flagged, "{s:?}");
        assert_eq!((s.version.as_str(), s.baseline_version.as_str()), ("1.1", "1.0"));
        assert!(s.p_value.is_some_and(|p| p < 0.001), "{s:?}");
        assert!(s.effect.is_some_and(|e| (-0.25..-0.05).contains(&e)), "{s:?}");
        assert!(rows[0].flagged, "flagged rows come first");
    }

    #[test]
    fn same_distributions_are_rarely_flagged() {
        let seeds = 300;
        let mut flagged = 0;
        for seed in 0..seeds {
            flagged += versions(seed, 200, 0.9, 0.9).iter().filter(|r| r.flagged).count();
        }
        // Four metrics per seed; the configured level is 1%.
        let rate = flagged as f64 / (seeds as f64 * 4.0);
        assert!(rate <= DriftConfig::default().alpha, "false positive rate {rate}");
    }

    #[test]
    fn small_samples_are_never_flagged() {
        let rows = versions(3, 10, 1.0, 0.0);
        assert!(rows.iter().all(|r| !r.flagged), "{rows:?}");
    }

    #[test]
    fn statistics_match_known_values() {
        // 2x2: 95/100 vs 80/100 → z ≈ 3.20, p ≈ 0.0014.
        let p = two_proportion_p(95, 100, 80, 100).expect("p");
        assert!((p - 0.00137).abs() < 0.0002, "{p}");
        assert_eq!(two_proportion_p(10, 10, 10, 10), Some(1.0));
        assert_eq!(two_proportion_p(1, 0, 1, 1), None);
        // KS: D = 0.5, n = 50 each → p ≈ 3.6e-6 (asymptotic).
        assert!(ks_p(0.5, 50, 50) < 1e-4);
        assert!(ks_p(0.05, 50, 50) > 0.99);
        // Chi-square: identical mixes → p = 1, V = 0.
        let (p, v) = chi_square_2xk(&[10, 20, 30], &[10, 20, 30]).expect("test");
        assert!((p - 1.0).abs() < 1e-9 && v.abs() < 1e-9);
        let (p, v) = chi_square_2xk(&[90, 10], &[10, 90]).expect("test");
        assert!(p < 1e-10 && v > 0.7);
    }
}
