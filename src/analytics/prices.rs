//! Model prices: a built-in table, config overrides, and LiteLLM's price file format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Prices of one model, USD per token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Input token.
    pub input: f64,
    /// Cached (cache-read) input token; the input price when absent.
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Output token.
    pub output: f64,
    /// Reasoning token; the output price when absent.
    #[serde(default)]
    pub reasoning: Option<f64>,
    /// When the provider retires the model (YYYY-MM-DD).
    #[serde(default)]
    pub deprecation_date: Option<String>,
}

/// Where a cost figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The agent reported it.
    Reported,
    /// Computed from the price table.
    Computed,
    /// Neither: the model has no price.
    Unpriced,
    /// Some calls reported, some computed.
    Mixed,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tokens {
    /// Input tokens, cached included.
    pub input: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Cached subset of input.
    pub cache_read: u64,
    /// Reasoning subset of output.
    pub reasoning: u64,
}

impl Price {
    /// The cost of a call: cached input and reasoning output at their own rates where known.
    pub fn cost(&self, t: Tokens) -> f64 {
        let cached = t.cache_read.min(t.input);
        let reasoning = t.reasoning.min(t.output);
        (t.input - cached) as f64 * self.input
            + cached as f64 * self.cached_input.unwrap_or(self.input)
            + (t.output - reasoning) as f64 * self.output
            + reasoning as f64 * self.reasoning.unwrap_or(self.output)
    }
}

const M: f64 = 1.0e-6;

/// (model, input, cached input, output, reasoning, deprecation) in USD per million tokens.
type Row = (&'static str, f64, Option<f64>, f64, Option<f64>, Option<&'static str>);

/// Built-in list prices (USD per million tokens, standard tier, short context), as published by
/// the providers in 2025. Override them in config or import a current LiteLLM file.
const BUILTIN: &[Row] = &[
    // OpenAI
    ("gpt-5", 1.25, Some(0.125), 10.0, None, None),
    ("gpt-5-mini", 0.25, Some(0.025), 2.0, None, None),
    ("gpt-5-nano", 0.05, Some(0.005), 0.40, None, None),
    ("gpt-4.1", 2.0, Some(0.50), 8.0, None, None),
    ("gpt-4.1-mini", 0.40, Some(0.10), 1.60, None, None),
    ("gpt-4.1-nano", 0.10, Some(0.025), 0.40, None, None),
    ("gpt-4o", 2.50, Some(1.25), 10.0, None, None),
    ("gpt-4o-mini", 0.15, Some(0.075), 0.60, None, None),
    ("gpt-4-turbo", 10.0, None, 30.0, None, None),
    ("gpt-3.5-turbo", 0.50, None, 1.50, None, None),
    ("o1", 15.0, Some(7.50), 60.0, None, None),
    ("o3", 2.0, Some(0.50), 8.0, None, None),
    ("o3-mini", 1.10, Some(0.55), 4.40, None, None),
    ("o4-mini", 1.10, Some(0.275), 4.40, None, None),
    ("text-embedding-3-small", 0.02, None, 0.0, None, None),
    ("text-embedding-3-large", 0.13, None, 0.0, None, None),
    // Anthropic
    ("claude-opus-4", 15.0, Some(1.50), 75.0, None, None),
    ("claude-opus-4-1", 15.0, Some(1.50), 75.0, None, None),
    ("claude-opus-4-5", 5.0, Some(0.50), 25.0, None, None),
    ("claude-sonnet-4", 3.0, Some(0.30), 15.0, None, None),
    ("claude-sonnet-4-5", 3.0, Some(0.30), 15.0, None, None),
    ("claude-haiku-4-5", 1.0, Some(0.10), 5.0, None, None),
    ("claude-3-7-sonnet", 3.0, Some(0.30), 15.0, None, Some("2026-02-19")),
    ("claude-3-5-sonnet", 3.0, Some(0.30), 15.0, None, Some("2025-10-22")),
    ("claude-3-5-haiku", 0.80, Some(0.08), 4.0, None, None),
    ("claude-3-opus", 15.0, Some(1.50), 75.0, None, Some("2026-01-05")),
    ("claude-3-haiku", 0.25, Some(0.03), 1.25, None, None),
    // Google
    ("gemini-2.5-pro", 1.25, Some(0.31), 10.0, None, None),
    ("gemini-2.5-flash", 0.30, Some(0.075), 2.50, None, None),
    ("gemini-2.5-flash-lite", 0.10, Some(0.025), 0.40, None, None),
    ("gemini-2.0-flash", 0.10, Some(0.025), 0.40, None, Some("2026-02-05")),
    ("gemini-1.5-pro", 1.25, None, 5.0, None, Some("2025-09-24")),
    ("gemini-1.5-flash", 0.075, None, 0.30, None, Some("2025-09-24")),
    // Mistral
    ("mistral-large", 2.0, None, 6.0, None, None),
    ("mistral-medium", 0.40, None, 2.0, None, None),
    ("mistral-small", 0.10, None, 0.30, None, None),
    ("codestral", 0.30, None, 0.90, None, None),
    ("ministral-8b", 0.10, None, 0.10, None, None),
    // Meta Llama, as common hosts list it
    ("llama-3.3-70b", 0.59, None, 0.79, None, None),
    ("llama-3.1-8b", 0.05, None, 0.08, None, None),
    ("llama-3.1-70b", 0.59, None, 0.79, None, None),
    ("llama-3.1-405b", 3.0, None, 3.0, None, None),
    ("llama-4-maverick", 0.20, None, 0.60, None, None),
    ("llama-4-scout", 0.11, None, 0.34, None, None),
];

/// The price table in effect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    entries: BTreeMap<String, Price>,
}

/// A LiteLLM `model_prices_and_context_window.json` entry (unknown fields ignored).
#[derive(Debug, Deserialize)]
struct LiteLlmEntry {
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    output_cost_per_reasoning_token: Option<f64>,
    deprecation_date: Option<String>,
}

impl PriceTable {
    /// The built-in table.
    pub fn builtin() -> Self {
        let entries = BUILTIN
            .iter()
            .map(|(name, input, cached, output, reasoning, dep)| {
                (
                    (*name).to_owned(),
                    Price {
                        input: input * M,
                        cached_input: cached.map(|c| c * M),
                        output: output * M,
                        reasoning: reasoning.map(|r| r * M),
                        deprecation_date: dep.map(str::to_owned),
                    },
                )
            })
            .collect();
        Self { entries }
    }

    /// Sets (or replaces) one model's price.
    pub fn set(&mut self, model: &str, price: Price) {
        self.entries.insert(model.to_ascii_lowercase(), price);
    }

    /// Imports a LiteLLM price file; its entries override the table. Answers how many were taken.
    pub fn import_litellm(&mut self, json: &str) -> Result<usize, String> {
        let doc: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("not a LiteLLM price file: {e}"))?;
        let mut taken = 0;
        for (model, value) in doc {
            if model == "sample_spec" {
                continue;
            }
            let Ok(entry) = serde_json::from_value::<LiteLlmEntry>(value) else { continue };
            let (Some(input), Some(output)) = (entry.input_cost_per_token, entry.output_cost_per_token) else {
                continue;
            };
            self.set(
                &model,
                Price {
                    input,
                    cached_input: entry.cache_read_input_token_cost,
                    output,
                    reasoning: entry.output_cost_per_reasoning_token,
                    deprecation_date: entry.deprecation_date,
                },
            );
            taken += 1;
        }
        Ok(taken)
    }

    /// The table's entry for a model id, matching versioned and provider-prefixed ids to their
    /// base (`gpt-4o-2024-08-06` → `gpt-4o`, `anthropic.claude-3-5-sonnet-20241022-v2:0` →
    /// `claude-3-5-sonnet`).
    pub fn lookup(&self, model: &str) -> Option<(&str, &Price)> {
        let lower = model.trim().to_ascii_lowercase();
        if let Some((k, p)) = self.entries.get_key_value(&lower) {
            return Some((k, p));
        }
        let base = normalize(&lower);
        if let Some((k, p)) = self.entries.get_key_value(base) {
            return Some((k, p));
        }
        // The longest table key that the id extends with a version-like suffix.
        self.entries
            .iter()
            .filter(|(k, _)| {
                base.strip_prefix(k.as_str()).and_then(|rest| rest.strip_prefix('-')).is_some_and(is_version_suffix)
            })
            .max_by_key(|(k, _)| k.len())
            .map(|(k, p)| (k.as_str(), p))
    }

    /// Models with a deprecation date.
    pub fn deprecations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|(k, p)| p.deprecation_date.as_deref().map(|d| (k.as_str(), d)))
    }
}

/// Drops host prefixes (`openai/`, `meta-llama/`), cloud region and vendor prefixes
/// (`us.anthropic.`), and `:0`-style revision tags.
fn normalize(id: &str) -> &str {
    let mut s = id.rsplit('/').next().unwrap_or(id);
    s = s.split(':').next().unwrap_or(s);
    for region in ["us.", "eu.", "apac.", "global."] {
        s = s.strip_prefix(region).unwrap_or(s);
    }
    for vendor in ["anthropic.", "meta.", "mistral.", "amazon.", "cohere.", "ai21."] {
        s = s.strip_prefix(vendor).unwrap_or(s);
    }
    s
}

/// `2024-08-06`, `20241022`, `v2`, `001`, `latest`, `preview-05-20`, `exp-0827`, `instruct`…
fn is_version_suffix(rest: &str) -> bool {
    let first = rest.split('-').next().unwrap_or("");
    first.starts_with(|c: char| c.is_ascii_digit())
        || (first.starts_with('v') && first[1..].starts_with(|c: char| c.is_ascii_digit()))
        || matches!(first, "latest" | "preview" | "exp" | "instruct" | "versatile" | "instant" | "turbo")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_ids_match_their_base() {
        let t = PriceTable::builtin();
        for (id, base) in [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("GPT-4o", "gpt-4o"),
            ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4"),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
            ("o3-mini-2025-01-31", "o3-mini"),
            ("meta-llama/llama-3.3-70b-instruct", "llama-3.3-70b"),
            ("llama-3.1-8b-instant", "llama-3.1-8b"),
            ("mistral-large-latest", "mistral-large"),
        ] {
            assert_eq!(t.lookup(id).map(|(k, _)| k), Some(base), "{id}");
        }
        for unknown in ["gpt-4o-audio-preview", "my-finetune", "gpt-4", "o2"] {
            assert_eq!(t.lookup(unknown).map(|(k, _)| k), None, "{unknown} must be unpriced");
        }
    }

    #[test]
    fn cached_and_reasoning_tokens_at_their_own_rates() {
        let p =
            Price { input: 2.0, cached_input: Some(0.5), output: 10.0, reasoning: Some(20.0), deprecation_date: None };
        // 1000 input of which 400 cached, 300 output of which 100 reasoning.
        let cost = p.cost(Tokens { input: 1000, output: 300, cache_read: 400, reasoning: 100 });
        assert_eq!(cost, 600.0 * 2.0 + 400.0 * 0.5 + 200.0 * 10.0 + 100.0 * 20.0);
        let plain = Price { cached_input: None, reasoning: None, ..p };
        assert_eq!(plain.cost(Tokens { input: 10, output: 5, cache_read: 4, reasoning: 2 }), 10.0 * 2.0 + 5.0 * 10.0);
        // Bad data (more cached than input) never goes negative.
        assert!(plain.cost(Tokens { input: 1, output: 0, cache_read: 9, reasoning: 9 }) >= 0.0);
    }

    #[test]
    fn litellm_file_overrides_the_table() {
        let mut t = PriceTable::builtin();
        let taken = t
            .import_litellm(
                r#"{
                  "sample_spec": {"input_cost_per_token": 1, "output_cost_per_token": 1},
                  "gpt-4o": {"input_cost_per_token": 5e-6, "output_cost_per_token": 1.5e-5,
                             "cache_read_input_token_cost": 2.5e-6, "litellm_provider": "openai", "mode": "chat",
                             "supports_vision": true},
                  "acme-1": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                             "output_cost_per_reasoning_token": 4e-6, "deprecation_date": "2027-01-01"},
                  "image-model": {"output_cost_per_image": 0.04}
                }"#,
            )
            .expect("import");
        assert_eq!(taken, 2, "sample_spec and entries without token prices are skipped");
        let (_, p) = t.lookup("gpt-4o-2024-08-06").expect("priced");
        assert_eq!((p.input, p.cached_input, p.output), (5e-6, Some(2.5e-6), 1.5e-5));
        let (_, acme) = t.lookup("acme-1").expect("new model");
        assert_eq!((acme.reasoning, acme.deprecation_date.as_deref()), (Some(4e-6), Some("2027-01-01")));
        assert!(t.import_litellm("[1,2]").is_err());
    }
}
