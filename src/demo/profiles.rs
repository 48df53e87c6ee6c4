//! The agents of the demo fleet, as data.

/// How an agent's instrumentation names things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenTelemetry GenAI semantic conventions (current names).
    GenAi,
    /// OpenInference (Arize Phoenix).
    OpenInference,
    /// OpenLLMetry (Traceloop), with the pre-1.37 GenAI names.
    OpenLlmetry,
}

/// One tool an agent can call.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Name.
    pub name: &'static str,
    /// Writes (needs approval under `approval = writes`).
    pub write: bool,
    /// Typical latency, ms.
    pub ms: u64,
}

/// One agent.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Name.
    pub name: &'static str,
    /// Instrumentation dialect.
    pub dialect: Dialect,
    /// Current version.
    pub version: &'static str,
    /// Models (provider, model).
    pub models: &'static [(&'static str, &'static str)],
    /// Tools.
    pub tools: &'static [Tool],
    /// Scenarios.
    pub scenarios: &'static [&'static str],
    /// Baseline success rate.
    pub success: f64,
    /// LLM calls per run (min, max).
    pub llm_calls: (u32, u32),
    /// Typical input tokens per LLM call.
    pub input_tokens: u64,
}

const fn t(name: &'static str, write: bool, ms: u64) -> Tool {
    Tool { name, write, ms }
}

/// The fleet.
pub const FLEET: &[Profile] = &[
    Profile {
        name: "support-triage",
        dialect: Dialect::GenAi,
        version: "4.1",
        models: &[("openai", "gpt-4o-mini"), ("openai", "gpt-4o")],
        tools: &[t("crm.lookup", false, 120), t("kb.search", false, 90), t("ticket.update", true, 200)],
        scenarios: &["refund_request", "password_reset", "order_status"],
        success: 0.95,
        llm_calls: (1, 3),
        input_tokens: 1800,
    },
    Profile {
        name: "research-assistant",
        dialect: Dialect::OpenInference,
        version: "2.3",
        models: &[("anthropic", "claude-sonnet-4-20250514")],
        tools: &[t("web.fetch", false, 600), t("web.search", false, 400), t("email.send", true, 300)],
        scenarios: &["market_brief", "competitor_scan"],
        success: 0.92,
        llm_calls: (2, 4),
        input_tokens: 4200,
    },
    Profile {
        name: "billing-ops",
        dialect: Dialect::OpenLlmetry,
        version: "1.8",
        models: &[("openai", "o3-mini")],
        tools: &[t("billing.invoice_lookup", false, 150), t("billing.issue_credit", true, 250)],
        scenarios: &["dispute", "credit_request"],
        success: 0.93,
        llm_calls: (1, 2),
        input_tokens: 1200,
    },
    Profile {
        name: "code-review",
        dialect: Dialect::GenAi,
        version: "3.0",
        models: &[("anthropic", "claude-3-5-haiku-20241022"), ("google", "gemini-2.5-flash")],
        tools: &[t("mcp:github/get_pull_request", false, 250), t("mcp:github/create_review", true, 350)],
        scenarios: &["pull_request_review"],
        success: 0.97,
        llm_calls: (1, 3),
        input_tokens: 6000,
    },
    Profile {
        name: "data-export",
        dialect: Dialect::GenAi,
        version: "1.2",
        models: &[("mistral", "mistral-small-latest")],
        tools: &[t("warehouse.query", false, 800), t("s3.put_object", true, 400)],
        scenarios: &["weekly_export"],
        success: 0.96,
        llm_calls: (1, 1),
        input_tokens: 900,
    },
];

/// A profile by name.
pub fn profile(name: &str) -> Option<&'static Profile> {
    FLEET.iter().find(|p| p.name == name)
}
