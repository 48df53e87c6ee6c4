//! Domain types: what the cockpit understands a span, a run and their parts to be.

use serde::Serialize;

/// Shared, immutable text: what the mapping reads is interned per ingest thread, so the spans
/// of a fleet share one copy of each agent, version, model and tool name. One pointer wide; a
/// copy the interner keeps for good is cloned and dropped without touching a counter.
pub type Text = arcstr::ArcStr;

/// A 16-byte OpenTelemetry trace id.
pub type TraceId = [u8; 16];
/// An 8-byte OpenTelemetry span id.
pub type SpanId = [u8; 8];

/// What a span is to an operator, after the semantic mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanRole {
    /// An agent or workflow invocation (a run candidate).
    Agent,
    /// A call to a language model.
    Llm,
    /// A tool call.
    Tool,
    /// A guardrail check.
    Guardrail,
    /// Anything else.
    #[default]
    Other,
}

/// How strongly a span claims to be a run: the tiers of DESIGN §5, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunMarker {
    /// `gen_ai.operation.name` ∈ {invoke_agent, invoke_workflow}.
    GenAi = 0,
    /// `openinference.span.kind` ∈ {AGENT, CHAIN}.
    OpenInference = 1,
    /// `traceloop.span.kind` ∈ {workflow, agent}.
    Traceloop = 2,
}

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The task was done.
    Success,
    /// The task failed.
    Failure,
    /// The agent gave up or the user left.
    Abandoned,
    /// Handed to a human.
    Escalated,
    /// Ran out of time or steps.
    Timeout,
}

/// Calls `f` with `s` trimmed and in ASCII lower case, without allocating for the short words
/// the parsers below know (they run for every span carrying such an attribute).
fn lowercase<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    let s = s.trim();
    let mut buf = [0u8; 32];
    match buf.get_mut(..s.len()) {
        Some(lower) => {
            lower.copy_from_slice(s.as_bytes());
            lower.make_ascii_lowercase();
            // Lower-casing ASCII letters keeps the text UTF-8.
            f(std::str::from_utf8(lower).unwrap_or_default())
        }
        None => f(&s.to_ascii_lowercase()),
    }
}

impl Outcome {
    /// Reads an outcome word as agents write it (lenient about synonyms and case).
    pub fn parse(s: &str) -> Option<Self> {
        lowercase(s, |lower| {
            Some(match lower {
                "success" | "succeeded" | "ok" | "completed" | "complete" | "done" | "pass" | "passed" => Self::Success,
                "failure" | "failed" | "fail" | "error" | "errored" => Self::Failure,
                "abandoned" | "cancelled" | "canceled" | "aborted" => Self::Abandoned,
                "escalated" | "handed_off" | "human" => Self::Escalated,
                "timeout" | "timed_out" | "deadline_exceeded" => Self::Timeout,
                _ => return None,
            })
        })
    }

    /// The canonical word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Abandoned => "abandoned",
            Self::Escalated => "escalated",
            Self::Timeout => "timeout",
        }
    }
}

/// Whether a tool changes the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SideEffect {
    /// Reads only.
    Read,
    /// Writes, sends, pays, deletes…
    Write,
    /// Not declared and not classified in config.
    #[default]
    Unknown,
}

impl SideEffect {
    /// Reads `read`/`write` (and a few synonyms).
    pub fn parse(s: &str) -> Option<Self> {
        lowercase(s, |lower| match lower {
            "read" | "readonly" | "read_only" | "ro" => Some(Self::Read),
            "write" | "mutating" | "rw" | "read_write" => Some(Self::Write),
            _ => None,
        })
    }
}

/// Why a tool call failed, in the classes an operator acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorClass {
    /// Permission denied, unauthorized, forbidden.
    Authz,
    /// The arguments did not fit the tool's schema.
    Schema,
    /// The control plane refused the tool.
    Policy,
    /// The tool did not answer in time.
    Timeout,
    /// The tool's provider throttled the call.
    RateLimit,
    /// Any other error.
    Other,
}

impl ToolErrorClass {
    /// Reads an explicit `cockpit.tool.error_class` value.
    pub fn parse(s: &str) -> Option<Self> {
        lowercase(s, |lower| {
            Some(match lower {
                "authz" => Self::Authz,
                "schema" => Self::Schema,
                "policy" => Self::Policy,
                "timeout" => Self::Timeout,
                "rate_limit" => Self::RateLimit,
                "other" => Self::Other,
                _ => return None,
            })
        })
    }
}

/// Where in the run a guardrail looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailStage {
    /// On the prompt or user input.
    Input,
    /// On the model's output.
    Output,
    /// On a tool call or its result.
    Tool,
    /// Not said.
    #[default]
    Unknown,
}

impl GuardrailStage {
    /// Reads a stage word.
    pub fn parse(s: &str) -> Self {
        lowercase(s, |lower| match lower {
            "input" | "prompt" | "request" | "pre" => Self::Input,
            "output" | "response" | "completion" | "post" => Self::Output,
            "tool" | "tool_call" | "tool_input" | "tool_output" | "tool_result" => Self::Tool,
            _ => Self::Unknown,
        })
    }
}

/// What a guardrail decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailVerdict {
    /// Let it through untouched.
    Allow,
    /// Stopped it.
    Block,
    /// Let it through with parts masked.
    Redact,
    /// Let it through and raised a flag.
    Flag,
}

impl GuardrailVerdict {
    /// Reads a decision word (lenient: pass/deny/blocked/…).
    pub fn parse(s: &str) -> Option<Self> {
        lowercase(s, |lower| {
            Some(match lower {
                "allow" | "allowed" | "pass" | "passed" | "none" | "ok" | "no" | "false" => Self::Allow,
                "block" | "blocked" | "deny" | "denied" | "reject" | "rejected" | "intervened" => Self::Block,
                "redact" | "redacted" | "mask" | "masked" | "anonymize" | "anonymized" => Self::Redact,
                "flag" | "flagged" | "warn" | "warned" | "detected" | "yes" | "true" => Self::Flag,
                _ => return None,
            })
        })
    }

    /// Whether this decision counts as a trip (anything but allow).
    pub fn is_trip(self) -> bool {
        self != Self::Allow
    }
}

/// One guardrail decision, from a span, a span event or a log record.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct GuardrailDecision {
    /// The guardrail's name.
    pub name: String,
    /// Where it looked.
    pub stage: GuardrailStage,
    /// What it looked for (prompt_injection, pii, secret, toxicity, …).
    pub category: Option<String>,
    /// What it decided.
    pub verdict: GuardrailVerdict,
}

impl GuardrailDecision {
    /// A leak: personal data or a secret detected in output (flagged) and let through, neither
    /// blocked nor redacted.
    pub fn is_leak(&self) -> bool {
        let cat = self.category.as_deref().unwrap_or("").as_bytes();
        let mentions = |word: &str| cat.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()));
        self.stage == GuardrailStage::Output
            && self.verdict == GuardrailVerdict::Flag
            && (mentions("pii") || mentions("secret"))
    }
}

/// What the control plane (or a gateway) decided about a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallOutcome {
    /// The call may run.
    Allow,
    /// The call was refused.
    Deny,
    /// The call waits for a human.
    RequireApproval,
}

impl ToolCallOutcome {
    /// Reads an outcome word.
    pub fn parse(s: &str) -> Option<Self> {
        lowercase(s, |lower| {
            Some(match lower {
                "allow" | "allowed" => Self::Allow,
                "deny" | "denied" | "block" | "blocked" => Self::Deny,
                "require_approval" | "requires_approval" | "approval_required" | "ask" => Self::RequireApproval,
                _ => return None,
            })
        })
    }
}

/// A tool-call decision event.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ToolCallDecision {
    /// The tool it was about, when said.
    pub tool: Option<String>,
    /// The decision.
    pub outcome: ToolCallOutcome,
}

/// An evaluation result (automatic or human).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// The evaluation's name (`user_feedback` for human feedback).
    pub name: String,
    /// A numeric score, when given.
    pub score: Option<f64>,
    /// A label (accepted/rejected, pass/fail, …), when given.
    pub label: Option<String>,
}

/// What an LLM-call span says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LlmFacts {
    /// Response model, else request model.
    pub model: Option<Text>,
    /// The provider (openai, anthropic, …).
    pub provider: Option<Text>,
    /// Input tokens, cached ones included.
    pub input_tokens: Option<u64>,
    /// Output tokens, reasoning ones included.
    pub output_tokens: Option<u64>,
    /// The cached subset of input tokens.
    pub cache_read_tokens: Option<u64>,
    /// The reasoning subset of output tokens.
    pub reasoning_tokens: Option<u64>,
    /// Cost as the agent reported it, USD.
    pub reported_cost_usd: Option<f64>,
}

/// What a tool-call span says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ToolFacts {
    /// The tool's name.
    pub name: Option<Text>,
    /// Read or write, when declared.
    pub side_effect: SideEffect,
    /// Why it failed, when it failed.
    pub error_class: Option<ToolErrorClass>,
}

/// Everything the semantic mapping reads from one span (DESIGN §5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SpanFacts {
    /// What the span is.
    pub role: SpanRole,
    /// How strongly it claims to be a run, if at all.
    #[serde(skip)]
    pub run_marker: Option<RunMarker>,
    /// Agent name, with the resource's `service.name` as the last resort.
    pub agent_name: Option<Text>,
    /// Agent version.
    pub agent_version: Option<Text>,
    /// Prompt version.
    pub prompt_version: Option<Text>,
    /// Deployment environment.
    pub environment: Option<Text>,
    /// Session / conversation id.
    pub session: Option<Text>,
    /// Scenario (task type).
    pub scenario: Option<Text>,
    /// Explicit outcome, when the span declares one.
    pub outcome: Option<Outcome>,
    /// LLM-call details, for LLM spans.
    pub llm: Option<LlmFacts>,
    /// Tool-call details, for tool spans.
    pub tool: Option<ToolFacts>,
    /// Whether the span is a retry.
    pub retry: bool,
    /// Guardrail decisions carried by the span or its events.
    pub guardrails: Vec<GuardrailDecision>,
    /// Tool-call decisions carried by the span's events.
    pub tool_decisions: Vec<ToolCallDecision>,
    /// Evaluations carried by the span's events.
    pub evaluations: Vec<Evaluation>,
    /// Part of a red-team evaluation suite.
    pub red_team: bool,
    /// For red-team runs: did the attack succeed.
    pub attack_succeeded: Option<bool>,
    /// The run's step budget.
    pub step_budget: Option<u64>,
    /// The span's status was ERROR.
    pub is_error: bool,
    /// `error.type`, when set.
    pub error_type: Option<Text>,
}

/// Span status codes as OTLP numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset,
    /// Explicitly OK.
    Ok,
    /// An error.
    Error,
}

impl StatusCode {
    /// From the OTLP enum value.
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(stage: GuardrailStage, category: Option<&str>, verdict: GuardrailVerdict) -> GuardrailDecision {
        GuardrailDecision { name: "g".into(), stage, category: category.map(str::to_owned), verdict }
    }

    #[test]
    fn a_leak_is_personal_data_or_a_secret_flagged_in_output_and_let_through() {
        use GuardrailStage::{Input, Output};
        use GuardrailVerdict::{Block, Flag, Redact};
        let leaks = [
            (Output, Some("pii"), Flag, true),
            (Output, Some("PII.email"), Flag, true),
            (Output, Some("api_Secrets"), Flag, true),
            (Output, Some("pii"), Block, false),
            (Output, Some("secret"), Redact, false),
            (Input, Some("pii"), Flag, false),
            (Output, Some("toxicity"), Flag, false),
            (Output, Some("pi"), Flag, false),
            (Output, None, Flag, false),
        ];
        for (stage, category, verdict, leak) in leaks {
            assert_eq!(decision(stage, category, verdict).is_leak(), leak, "{stage:?} {category:?} {verdict:?}");
        }
    }

    #[test]
    fn words_are_read_trimmed_and_in_any_case_whatever_their_length() {
        assert_eq!(Outcome::parse("  Timed_Out\t"), Some(Outcome::Timeout));
        assert_eq!(SideEffect::parse("READ_WRITE"), Some(SideEffect::Write));
        assert_eq!(ToolErrorClass::parse(" Rate_Limit "), Some(ToolErrorClass::RateLimit));
        assert_eq!(GuardrailStage::parse("Tool_Output"), GuardrailStage::Tool);
        assert_eq!(GuardrailVerdict::parse("ANONYMIZED"), Some(GuardrailVerdict::Redact));
        assert_eq!(ToolCallOutcome::parse("Requires_Approval"), Some(ToolCallOutcome::RequireApproval));
        // Longer than the stack buffer, and not ASCII: read, never matched by mistake.
        assert_eq!(Outcome::parse(&"success".repeat(8)), None);
        assert_eq!(Outcome::parse(&format!("{}SUCCESS", " ".repeat(40))), Some(Outcome::Success));
        assert_eq!(Outcome::parse("ÉCHEC"), None);
        assert_eq!(lowercase("Ünï CODE", str::to_owned), "Ünï code");
        assert_eq!(lowercase(&"X".repeat(40), str::to_owned), "x".repeat(40));
    }
}
