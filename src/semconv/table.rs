//! The attribute vocabulary of DESIGN §5 as data: for each concept, where to look, best first.
//!
//! Changing what the cockpit reads means editing this table (and `docs/conventions.md`).

use super::{Concept, Guard, Source};

use Concept as C;

const fn span(key: &'static str) -> Source {
    Source::Span(key, Guard::Always)
}
const fn span_when(key: &'static str, guard: Guard) -> Source {
    Source::Span(key, guard)
}
const fn res(key: &'static str) -> Source {
    Source::Resource(key)
}

/// Every concept read from span (and resource) attributes, with its sources in order.
pub const SPAN_TABLE: &[(Concept, &[Source])] = &[
    (C::OperationName, &[span("gen_ai.operation.name")]),
    (C::OiKind, &[span("openinference.span.kind")]),
    (C::TraceloopKind, &[span("traceloop.span.kind")]),
    (C::LlmRequestType, &[span("llm.request.type")]),
    (C::McpMethod, &[span("mcp.method.name")]),
    (
        C::AgentName,
        &[
            span("gen_ai.agent.name"),
            span("agent.name"),
            span_when("traceloop.entity.name", Guard::TraceloopAgent),
            span("gen_ai.workflow.name"),
            res("service.name"),
        ],
    ),
    (C::AgentVersion, &[span("gen_ai.agent.version"), res("service.version"), span("traceloop.entity.version")]),
    (
        C::PromptVersion,
        &[span("cockpit.prompt.version"), span("llm.prompt_template.version"), span("traceloop.prompt.version")],
    ),
    (C::Environment, &[res("deployment.environment.name"), res("deployment.environment")]),
    (C::Session, &[span("gen_ai.conversation.id"), span("session.id")]),
    (C::Scenario, &[span("cockpit.run.scenario"), span("gen_ai.workflow.name")]),
    (C::Outcome, &[span("cockpit.run.outcome"), span("gen_ai.task.status")]),
    (C::Model, &[span("gen_ai.response.model"), span("gen_ai.request.model"), span("llm.model_name")]),
    (C::Provider, &[span("gen_ai.provider.name"), span("gen_ai.system"), span("llm.provider"), span("llm.system")]),
    (
        C::InputTokens,
        &[
            span("gen_ai.usage.input_tokens"),
            span("gen_ai.usage.prompt_tokens"),
            span("llm.token_count.prompt"),
            span("llm.usage.prompt_tokens"),
        ],
    ),
    (
        C::OutputTokens,
        &[
            span("gen_ai.usage.output_tokens"),
            span("gen_ai.usage.completion_tokens"),
            span("llm.token_count.completion"),
            span("llm.usage.completion_tokens"),
        ],
    ),
    (
        C::CacheReadTokens,
        &[
            span("gen_ai.usage.cache_read.input_tokens"),
            span("gen_ai.usage.cache_read_input_tokens"),
            span("llm.token_count.prompt_details.cache_read"),
        ],
    ),
    (
        C::ReasoningTokens,
        &[
            span("gen_ai.usage.reasoning.output_tokens"),
            span("gen_ai.usage.reasoning_tokens"),
            span("llm.token_count.completion_details.reasoning"),
        ],
    ),
    (C::ReportedCost, &[span("gen_ai.usage.cost"), span("llm.cost.total")]),
    (
        C::ToolName,
        &[span("gen_ai.tool.name"), span("tool.name"), span_when("traceloop.entity.name", Guard::TraceloopTool)],
    ),
    (C::SideEffect, &[span("cockpit.tool.side_effect")]),
    (C::ErrorClass, &[span("cockpit.tool.error_class")]),
    (C::ErrorType, &[span("error.type")]),
    (C::Retry, &[span("http.request.resend_count"), span("cockpit.retry.attempt")]),
    (C::EvalSuite, &[span("cockpit.eval.suite"), res("cockpit.eval.suite")]),
    (C::AttackSucceeded, &[span("cockpit.attack.succeeded")]),
    (C::StepBudget, &[span("cockpit.run.step_budget")]),
    (
        C::GuardrailName,
        &[
            span("cockpit.guardrail.name"),
            span("gen_ai.guardrail.name"),
            span("guardrail.name"),
            span("guard.validator"),
        ],
    ),
    (
        C::GuardrailStage,
        &[
            span("cockpit.guardrail.stage"),
            span("gen_ai.guardrail.stage"),
            span("gen_ai.security.target.type"),
            span("guardrail.stage"),
        ],
    ),
    (
        C::GuardrailCategory,
        &[
            span("cockpit.guardrail.category"),
            span("gen_ai.guardrail.category"),
            span("gen_ai.guardrail.type"),
            span("guardrail.category"),
            span("guard.classification"),
        ],
    ),
    (
        C::GuardrailDecision,
        &[
            span("cockpit.guardrail.decision"),
            span("gen_ai.guardrail.decision"),
            span("gen_ai.guardrail.action"),
            span("guardrail.decision"),
            span("guard.verdict"),
        ],
    ),
];

/// Concepts read from an event or log record's own attributes.
pub const EVENT_TABLE: &[(Concept, &[Source])] = &[
    (C::EventName, &[span("event.name")]),
    (C::EvalName, &[span("gen_ai.evaluation.name"), span("evaluation.name")]),
    (C::EvalScore, &[span("gen_ai.evaluation.score.value"), span("evaluation.score")]),
    (C::EvalLabel, &[span("gen_ai.evaluation.score.label"), span("evaluation.label")]),
    (C::DecisionOutcome, &[span("gen_ai.tool.call.decision.outcome")]),
    (C::ToolName, &[span("gen_ai.tool.name"), span("tool.name")]),
    (C::GuardrailName, &[span("cockpit.guardrail.name"), span("gen_ai.guardrail.name"), span("guardrail.name")]),
    (
        C::GuardrailStage,
        &[span("cockpit.guardrail.stage"), span("gen_ai.guardrail.stage"), span("gen_ai.security.target.type")],
    ),
    (
        C::GuardrailCategory,
        &[span("cockpit.guardrail.category"), span("gen_ai.guardrail.category"), span("gen_ai.guardrail.type")],
    ),
    (
        C::GuardrailDecision,
        &[span("cockpit.guardrail.decision"), span("gen_ai.guardrail.decision"), span("gen_ai.guardrail.action")],
    ),
];

/// `gen_ai.operation.name` values that make a span a run candidate.
pub const AGENT_OPERATIONS: &[&str] = &["invoke_agent", "invoke_workflow"];
/// `gen_ai.operation.name` values of LLM calls.
pub const LLM_OPERATIONS: &[&str] = &["chat", "text_completion", "generate_content", "embeddings", "completion"];
/// OpenInference span kinds that mark a run candidate.
pub const OI_AGENT_KINDS: &[&str] = &["AGENT", "CHAIN"];
/// OpenInference span kinds of LLM calls.
pub const OI_LLM_KINDS: &[&str] = &["LLM", "EMBEDDING"];
/// OpenLLMetry span kinds that mark a run candidate.
pub const TRACELOOP_AGENT_KINDS: &[&str] = &["workflow", "agent"];

/// Event / log names that carry a guardrail decision.
pub const GUARDRAIL_EVENTS: &[&str] = &["gen_ai.guardrail.result", "cockpit.guardrail.result"];
/// Event / log names that carry an evaluation.
pub const EVALUATION_EVENTS: &[&str] = &["gen_ai.evaluation.result", "evaluation", "evaluation.result"];
/// Event / log names that carry a tool-call decision.
pub const TOOL_DECISION_EVENTS: &[&str] = &["gen_ai.tool.call.decision"];

/// How `error.type` values map to tool error classes: exact values first.
pub const ERROR_TYPE_EXACT: &[(&str, crate::model::ToolErrorClass)] = {
    use crate::model::ToolErrorClass as E;
    &[
        ("permission_denied", E::Authz),
        ("unauthorized", E::Authz),
        ("forbidden", E::Authz),
        ("403", E::Authz),
        ("401", E::Authz),
        ("schema_validation", E::Schema),
        ("invalid_arguments", E::Schema),
        ("validation_error", E::Schema),
        ("tool_not_allowed", E::Policy),
        ("timeout", E::Timeout),
        ("429", E::RateLimit),
    ]
};

/// Then substrings (of the lower-cased value), for exception class names like `TimeoutError`.
pub const ERROR_TYPE_CONTAINS: &[(&str, crate::model::ToolErrorClass)] = {
    use crate::model::ToolErrorClass as E;
    &[
        ("rate_limit", E::RateLimit),
        ("ratelimit", E::RateLimit),
        ("timeout", E::Timeout),
        ("timedout", E::Timeout),
        ("permission", E::Authz),
        ("unauthorized", E::Authz),
        ("forbidden", E::Authz),
        ("schema", E::Schema),
        ("validation", E::Schema),
        ("not_allowed", E::Policy),
    ]
};
