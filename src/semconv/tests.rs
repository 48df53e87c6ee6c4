//! One test per row of the DESIGN §5 mapping table, every source in order of preference.

use super::*;
use crate::model::*;

type Attrs<'a> = Vec<(&'a str, Value<'a>)>;

fn s(v: &str) -> Value<'_> {
    Value::Str(v)
}

fn map_full(name: &str, is_error: bool, attrs: &[(&str, Value)], res: &[(&str, Value)]) -> SpanFacts {
    let events: Vec<(&str, &[(&str, Value)])> = Vec::new();
    map_span(SpanInput { name, is_error, attrs, resource: res }, events)
}

fn map(attrs: &[(&str, Value)]) -> SpanFacts {
    map_full("span", false, attrs, &[])
}

/// For a concept read from span attributes: each source alone is read, and each one beats
/// every source after it.
fn check_order(base: &[(&str, Value)], keys: &[&str], read: impl Fn(&SpanFacts) -> Option<String>) {
    for (i, key) in keys.iter().enumerate() {
        let mut attrs: Attrs = base.to_vec();
        let value = format!("v{i}");
        attrs.push((key, Value::Str(&value)));
        assert_eq!(read(&map(&attrs)).as_deref(), Some(value.as_str()), "{key} alone");
        // Add every later source too: the earlier one must still win.
        let later: Vec<String> = (i + 1..keys.len()).map(|j| format!("v{j}")).collect();
        for (j, key2) in keys.iter().enumerate().skip(i + 1) {
            attrs.push((key2, Value::Str(&later[j - i - 1])));
        }
        assert_eq!(read(&map(&attrs)).as_deref(), Some(value.as_str()), "{key} beats later sources");
    }
}

#[test]
fn run_markers_in_tiers() {
    let f = map(&[("gen_ai.operation.name", s("invoke_agent"))]);
    assert_eq!((f.role, f.run_marker), (SpanRole::Agent, Some(RunMarker::GenAi)));
    let f = map(&[("gen_ai.operation.name", s("invoke_workflow"))]);
    assert_eq!(f.run_marker, Some(RunMarker::GenAi));
    for kind in ["AGENT", "CHAIN"] {
        let f = map(&[("openinference.span.kind", s(kind))]);
        assert_eq!((f.role, f.run_marker), (SpanRole::Agent, Some(RunMarker::OpenInference)));
    }
    for kind in ["workflow", "agent"] {
        let f = map(&[("traceloop.span.kind", s(kind))]);
        assert_eq!((f.role, f.run_marker), (SpanRole::Agent, Some(RunMarker::Traceloop)));
    }
    let f = map(&[("http.route", s("/chat"))]);
    assert_eq!((f.role, f.run_marker), (SpanRole::Other, None));
}

#[test]
fn agent_name_sources_in_order() {
    check_order(
        &[("traceloop.span.kind", s("agent"))],
        &["gen_ai.agent.name", "agent.name", "traceloop.entity.name", "gen_ai.workflow.name"],
        |f| f.agent_name.as_deref().map(str::to_owned),
    );
    // The resource's service.name is the last resort.
    let f = map_full("x", false, &[], &[("service.name", s("billing"))]);
    assert_eq!(f.agent_name.as_deref(), Some("billing"));
    let f = map_full("x", false, &[("gen_ai.workflow.name", s("wf"))], &[("service.name", s("billing"))]);
    assert_eq!(f.agent_name.as_deref(), Some("wf"));
    // traceloop.entity.name names an agent only on agent/workflow spans.
    let f = map(&[("traceloop.span.kind", s("task")), ("traceloop.entity.name", s("step"))]);
    assert_eq!(f.agent_name, None);
}

#[test]
fn agent_version_mixes_span_and_resource() {
    let res = [("service.version", s("2.0"))];
    let f = map_full("x", false, &[("gen_ai.agent.version", s("1.0")), ("traceloop.entity.version", s("3"))], &res);
    assert_eq!(f.agent_version.as_deref(), Some("1.0"));
    let f = map_full("x", false, &[("traceloop.entity.version", s("3"))], &res);
    assert_eq!(f.agent_version.as_deref(), Some("2.0"));
    let f = map_full("x", false, &[("traceloop.entity.version", Value::Int(3))], &[]);
    assert_eq!(f.agent_version.as_deref(), Some("3"), "an integer version reads as text");
}

#[test]
fn prompt_version_sources_in_order() {
    check_order(&[], &["cockpit.prompt.version", "llm.prompt_template.version", "traceloop.prompt.version"], |f| {
        f.prompt_version.as_deref().map(str::to_owned)
    });
}

#[test]
fn environment_from_resource() {
    let f =
        map_full("x", false, &[], &[("deployment.environment", s("old")), ("deployment.environment.name", s("prod"))]);
    assert_eq!(f.environment.as_deref(), Some("prod"));
    let f = map_full("x", false, &[], &[("deployment.environment", s("staging"))]);
    assert_eq!(f.environment.as_deref(), Some("staging"));
    // A span attribute of the same name does not count: environment is a resource fact.
    let f = map(&[("deployment.environment.name", s("prod"))]);
    assert_eq!(f.environment, None);
}

#[test]
fn session_sources_in_order() {
    check_order(&[], &["gen_ai.conversation.id", "session.id"], |f| f.session.as_deref().map(str::to_owned));
}

#[test]
fn scenario_sources_in_order() {
    check_order(&[], &["cockpit.run.scenario", "gen_ai.workflow.name"], |f| f.scenario.as_deref().map(str::to_owned));
}

#[test]
fn outcome_sources_in_order() {
    let f = map(&[("cockpit.run.outcome", s("escalated")), ("gen_ai.task.status", s("failed"))]);
    assert_eq!(f.outcome, Some(Outcome::Escalated));
    let f = map(&[("gen_ai.task.status", s("failed"))]);
    assert_eq!(f.outcome, Some(Outcome::Failure));
    for (word, outcome) in [
        ("success", Outcome::Success),
        ("failure", Outcome::Failure),
        ("abandoned", Outcome::Abandoned),
        ("escalated", Outcome::Escalated),
        ("timeout", Outcome::Timeout),
    ] {
        assert_eq!(map(&[("cockpit.run.outcome", s(word))]).outcome, Some(outcome));
    }
    // No attribute: the span status decides later (the store reads is_error).
    let f = map_full("x", true, &[], &[]);
    assert_eq!((f.outcome, f.is_error), (None, true));
}

#[test]
fn llm_call_recognized_in_every_dialect() {
    for op in ["chat", "text_completion", "generate_content", "embeddings"] {
        assert_eq!(map(&[("gen_ai.operation.name", s(op))]).role, SpanRole::Llm, "{op}");
    }
    for kind in ["LLM", "EMBEDDING"] {
        assert_eq!(map(&[("openinference.span.kind", s(kind))]).role, SpanRole::Llm, "{kind}");
    }
    assert_eq!(map(&[("llm.request.type", s("chat"))]).role, SpanRole::Llm);
    assert!(map(&[("llm.request.type", s("chat"))]).llm.is_some());
    assert!(map(&[("http.method", s("GET"))]).llm.is_none());
}

const LLM: (&str, Value<'static>) = ("gen_ai.operation.name", Value::Str("chat"));

#[test]
fn model_sources_in_order() {
    check_order(&[LLM], &["gen_ai.response.model", "gen_ai.request.model", "llm.model_name"], |f| {
        f.llm.as_ref().and_then(|l| l.model.as_deref()).map(str::to_owned)
    });
}

#[test]
fn provider_sources_in_order() {
    check_order(&[LLM], &["gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"], |f| {
        f.llm.as_ref().and_then(|l| l.provider.as_deref()).map(str::to_owned)
    });
}

fn check_number_order(keys: &[&str], read: impl Fn(&LlmFacts) -> Option<u64>) {
    for (i, key) in keys.iter().enumerate() {
        let mut attrs: Attrs = vec![LLM, (key, Value::Int(100 + i as i64))];
        for key2 in &keys[i + 1..] {
            attrs.push((key2, Value::Int(999)));
        }
        let f = map(&attrs);
        assert_eq!(f.llm.as_ref().and_then(&read), Some(100 + i as u64), "{key}");
    }
    // Lenient about the value's type: strings and integral doubles are numbers too.
    let f = map(&[LLM, (keys[0], s("42"))]);
    assert_eq!(f.llm.as_ref().and_then(&read), Some(42));
    let f = map(&[LLM, (keys[0], Value::Double(7.0))]);
    assert_eq!(f.llm.as_ref().and_then(&read), Some(7));
    let f = map(&[LLM, (keys[0], Value::Int(-5))]);
    assert_eq!(f.llm.as_ref().and_then(&read), None, "negative counts are not counts");
}

#[test]
fn input_tokens_sources_in_order() {
    check_number_order(
        &[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
        ],
        |l| l.input_tokens,
    );
}

#[test]
fn output_tokens_sources_in_order() {
    check_number_order(
        &[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
        ],
        |l| l.output_tokens,
    );
}

#[test]
fn cache_read_tokens_sources_in_order() {
    check_number_order(
        &[
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ],
        |l| l.cache_read_tokens,
    );
}

#[test]
fn reasoning_tokens_sources_in_order() {
    check_number_order(
        &[
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ],
        |l| l.reasoning_tokens,
    );
}

#[test]
fn reported_cost_sources_in_order() {
    let f = map(&[LLM, ("gen_ai.usage.cost", Value::Double(0.25)), ("llm.cost.total", Value::Double(9.0))]);
    assert_eq!(f.llm.and_then(|l| l.reported_cost_usd), Some(0.25));
    let f = map(&[LLM, ("llm.cost.total", s("0.5"))]);
    assert_eq!(f.llm.and_then(|l| l.reported_cost_usd), Some(0.5));
    let f = map(&[LLM]);
    assert_eq!(f.llm.and_then(|l| l.reported_cost_usd), None, "absent cost is computed later, not 0");
}

#[test]
fn tool_call_recognized_in_every_dialect() {
    for attrs in [
        vec![("gen_ai.operation.name", s("execute_tool"))],
        vec![("openinference.span.kind", s("TOOL"))],
        vec![("traceloop.span.kind", s("tool"))],
        vec![("mcp.method.name", s("tools/call"))],
    ] {
        let f = map(&attrs);
        assert_eq!(f.role, SpanRole::Tool, "{attrs:?}");
        assert!(f.tool.is_some());
    }
    assert_eq!(map(&[("mcp.method.name", s("resources/read"))]).role, SpanRole::Other);
}

#[test]
fn tool_name_sources_in_order() {
    check_order(
        &[("traceloop.span.kind", s("tool"))],
        &["gen_ai.tool.name", "tool.name", "traceloop.entity.name"],
        |f| f.tool.as_ref().and_then(|t| t.name.as_deref()).map(str::to_owned),
    );
    // MCP: the span name's target.
    let f = map_full("tools/call get_weather", false, &[("mcp.method.name", s("tools/call"))], &[]);
    assert_eq!(f.tool.and_then(|t| t.name).as_deref(), Some("get_weather"));
    let f = map_full("execute_tool web.fetch", false, &[("gen_ai.operation.name", s("execute_tool"))], &[]);
    assert_eq!(f.tool.and_then(|t| t.name).as_deref(), Some("web.fetch"));
}

const TOOL: (&str, Value<'static>) = ("gen_ai.operation.name", Value::Str("execute_tool"));

#[test]
fn tool_side_effect() {
    let side = |attrs: &[(&str, Value)]| map(attrs).tool.map(|t| t.side_effect);
    assert_eq!(side(&[TOOL, ("cockpit.tool.side_effect", s("write"))]), Some(SideEffect::Write));
    assert_eq!(side(&[TOOL, ("cockpit.tool.side_effect", s("read"))]), Some(SideEffect::Read));
    assert_eq!(side(&[TOOL]), Some(SideEffect::Unknown));
}

#[test]
fn tool_error_class() {
    let class = |attrs: &[(&str, Value)], err: bool| map_full("t", err, attrs, &[]).tool.and_then(|t| t.error_class);
    assert_eq!(
        class(&[TOOL, ("cockpit.tool.error_class", s("policy")), ("error.type", s("timeout"))], true),
        Some(ToolErrorClass::Policy),
        "the explicit class wins"
    );
    for (ty, want) in [
        ("permission_denied", ToolErrorClass::Authz),
        ("unauthorized", ToolErrorClass::Authz),
        ("forbidden", ToolErrorClass::Authz),
        ("403", ToolErrorClass::Authz),
        ("401", ToolErrorClass::Authz),
        ("schema_validation", ToolErrorClass::Schema),
        ("invalid_arguments", ToolErrorClass::Schema),
        ("validation_error", ToolErrorClass::Schema),
        ("tool_not_allowed", ToolErrorClass::Policy),
        ("timeout", ToolErrorClass::Timeout),
        ("429", ToolErrorClass::RateLimit),
        ("rate_limit_exceeded", ToolErrorClass::RateLimit),
        ("asyncio.TimeoutError", ToolErrorClass::Timeout),
        ("ValueError", ToolErrorClass::Other),
    ] {
        assert_eq!(class(&[TOOL, ("error.type", s(ty))], true), Some(want), "{ty}");
    }
    assert_eq!(class(&[TOOL], true), Some(ToolErrorClass::Other), "ERROR status alone");
    assert_eq!(class(&[TOOL], false), None, "no error, no class");
}

#[test]
fn retry_sources_in_order() {
    assert!(map(&[("http.request.resend_count", Value::Int(1))]).retry);
    assert!(map(&[("cockpit.retry.attempt", Value::Int(2))]).retry);
    assert!(!map(&[("cockpit.retry.attempt", Value::Int(0))]).retry);
    assert!(
        !map(&[("http.request.resend_count", Value::Int(0)), ("cockpit.retry.attempt", Value::Int(3))]).retry,
        "the first present source decides"
    );
}

#[test]
fn guardrail_span_forms() {
    // GenAI operation.
    let f = map(&[
        ("gen_ai.operation.name", s("apply_guardrail")),
        ("gen_ai.guardrail.name", s("injection-shield")),
        ("cockpit.guardrail.stage", s("input")),
        ("cockpit.guardrail.category", s("prompt_injection")),
        ("cockpit.guardrail.decision", s("block")),
    ]);
    assert_eq!(f.role, SpanRole::Guardrail);
    assert_eq!(
        f.guardrails,
        vec![GuardrailDecision {
            name: "injection-shield".into(),
            stage: GuardrailStage::Input,
            category: Some("prompt_injection".into()),
            verdict: GuardrailVerdict::Block,
        }]
    );
    // Span named apply_guardrail, name from the span name.
    let f = map_full("apply_guardrail pii-filter", false, &[("gen_ai.guardrail.action", s("redact"))], &[]);
    assert_eq!(f.guardrails[0].name, "pii-filter");
    assert_eq!(f.guardrails[0].verdict, GuardrailVerdict::Redact);
    // OpenInference GUARDRAIL with an ERROR status and no decision reads as a block.
    let f = map_full("Guard", true, &[("openinference.span.kind", s("GUARDRAIL"))], &[]);
    assert_eq!((f.role, f.guardrails[0].verdict), (SpanRole::Guardrail, GuardrailVerdict::Block));
    // OpenLIT guard.*: verdict yes is a flag, the classification its category.
    let f = map(&[
        ("guard.verdict", s("yes")),
        ("guard.classification", s("jailbreak")),
        ("guard.validator", s("prompt_injection")),
    ]);
    assert_eq!(f.role, SpanRole::Guardrail);
    assert_eq!(f.guardrails[0].verdict, GuardrailVerdict::Flag);
    assert_eq!(f.guardrails[0].category.as_deref(), Some("jailbreak"));
    // cockpit.guardrail.* on an LLM span adds a decision without changing the role.
    let f = map(&[LLM, ("cockpit.guardrail.decision", s("flag")), ("cockpit.guardrail.category", s("pii"))]);
    assert_eq!(f.role, SpanRole::Llm);
    assert_eq!(f.guardrails[0].verdict, GuardrailVerdict::Flag);
}

#[test]
fn guardrail_event_and_log() {
    let attrs: Attrs = vec![
        ("gen_ai.guardrail.name", s("secrets")),
        ("cockpit.guardrail.stage", s("output")),
        ("cockpit.guardrail.category", s("secret")),
        ("cockpit.guardrail.decision", s("allow")),
    ];
    let fact = map_event("gen_ai.guardrail.result", attrs.as_slice());
    let Some(EventFact::Guardrail(g)) = fact else { panic!("not a guardrail: {fact:?}") };
    assert_eq!((g.stage, g.verdict), (GuardrailStage::Output, GuardrailVerdict::Allow));
    // A log record names its event in the event.name attribute.
    let mut log = attrs.clone();
    log.push(("event.name", s("gen_ai.guardrail.result")));
    assert!(matches!(map_event("", log.as_slice()), Some(EventFact::Guardrail(_))));
}

#[test]
fn tool_call_decision_event() {
    let attrs: Attrs =
        vec![("gen_ai.tool.call.decision.outcome", s("require_approval")), ("gen_ai.tool.name", s("email.send"))];
    assert_eq!(
        map_event("gen_ai.tool.call.decision", attrs.as_slice()),
        Some(EventFact::ToolDecision(ToolCallDecision {
            tool: Some("email.send".into()),
            outcome: ToolCallOutcome::RequireApproval
        }))
    );
    for (w, o) in [("allow", ToolCallOutcome::Allow), ("deny", ToolCallOutcome::Deny)] {
        let attrs: Attrs = vec![("gen_ai.tool.call.decision.outcome", s(w))];
        assert_eq!(
            map_event("gen_ai.tool.call.decision", attrs.as_slice()),
            Some(EventFact::ToolDecision(ToolCallDecision { tool: None, outcome: o }))
        );
    }
}

#[test]
fn evaluation_event_forms() {
    let attrs: Attrs = vec![
        ("gen_ai.evaluation.name", s("relevance")),
        ("gen_ai.evaluation.score.value", Value::Double(0.8)),
        ("gen_ai.evaluation.score.label", s("relevant")),
    ];
    assert_eq!(
        map_event("gen_ai.evaluation.result", attrs.as_slice()),
        Some(EventFact::Evaluation(Evaluation {
            name: "relevance".into(),
            score: Some(0.8),
            label: Some("relevant".into())
        }))
    );
    // OpenInference evaluation.* attributes.
    let attrs: Attrs = vec![("evaluation.name", s("user_feedback")), ("evaluation.label", s("accepted"))];
    assert_eq!(
        map_event("evaluation", attrs.as_slice()),
        Some(EventFact::Evaluation(Evaluation {
            name: "user_feedback".into(),
            score: None,
            label: Some("accepted".into())
        }))
    );
    // Events of a span are mapped with the span.
    let ev: Attrs =
        vec![("gen_ai.evaluation.name", s("groundedness")), ("gen_ai.evaluation.score.value", Value::Int(1))];
    let attrs: Attrs = vec![("gen_ai.operation.name", s("invoke_agent"))];
    let f = map_span(
        SpanInput { name: "run", is_error: false, attrs: attrs.as_slice(), resource: &[] as &[(&str, Value)] },
        vec![("gen_ai.evaluation.result", ev.as_slice()), ("log", ev.as_slice())],
    );
    assert_eq!(f.evaluations.len(), 1, "only the evaluation event counts");
    assert_eq!(f.evaluations[0].score, Some(1.0));
}

#[test]
fn red_team_run() {
    let f = map(&[("cockpit.eval.suite", s("red_team")), ("cockpit.attack.succeeded", Value::Bool(true))]);
    assert!(f.red_team);
    assert_eq!(f.attack_succeeded, Some(true));
    let f = map_full("x", false, &[("cockpit.attack.succeeded", s("false"))], &[("cockpit.eval.suite", s("red_team"))]);
    assert!(f.red_team, "the suite may be a resource attribute");
    assert_eq!(f.attack_succeeded, Some(false));
    assert!(!map(&[("cockpit.eval.suite", s("regression"))]).red_team);
}

#[test]
fn step_budget() {
    assert_eq!(map(&[("cockpit.run.step_budget", Value::Int(12))]).step_budget, Some(12));
    assert_eq!(map(&[("cockpit.run.step_budget", s("abc"))]).step_budget, None);
}

#[test]
fn odd_values_never_panic() {
    let long = "x".repeat(1 << 20);
    let f = map(&[
        ("gen_ai.operation.name", Value::Int(5)),
        ("gen_ai.usage.input_tokens", Value::Double(f64::NAN)),
        ("gen_ai.agent.name", Value::Str(&long)),
        ("gen_ai.agent.name", s("second")),
        ("cockpit.run.step_budget", Value::Double(1e300)),
        ("gen_ai.agent.version", Value::Other),
        ("gen_ai.conversation.id", s("")),
    ]);
    assert_eq!(f.agent_name.as_deref().map(str::len), Some(1 << 20), "first duplicate wins");
    assert_eq!(f.step_budget, None);
    assert_eq!(f.agent_version, None);
    assert_eq!(f.session, None, "an empty string is absent");
}

#[test]
fn session_ids_are_shared_apart_from_names_and_never_displace_them() {
    let agent = |f: &SpanFacts| f.agent_name.clone();
    let first = map(&[("gen_ai.agent.name", s("planner")), ("session.id", s("conv-1"))]);
    // Far more sessions than either table holds.
    for i in 0..2 * INTERNED_MAX {
        let id = format!("conv-{i}");
        let f = map(&[("session.id", Value::Str(&id))]);
        assert_eq!(f.session.as_deref(), Some(id.as_str()));
    }
    let again = map(&[("gen_ai.agent.name", s("planner")), ("session.id", s("conv-x"))]);
    assert!(
        matches!((agent(&first), agent(&again)), (Some(a), Some(b)) if Text::ptr_eq(&a, &b)),
        "the agent's name is still the one shared copy"
    );
    let one = map(&[("session.id", s("conv-y"))]).session;
    let two = map(&[("gen_ai.conversation.id", s("conv-y"))]).session;
    assert!(matches!((one, two), (Some(x), Some(y)) if Text::ptr_eq(&x, &y)), "a session's spans share its id");
}

#[test]
fn keys_given_by_number_map_as_keys_given_by_text() {
    use crate::store::attrs::KeyRef;
    let spans: [&[(&str, Value)]; 3] = [
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.usage.input_tokens", Value::Int(120)),
            ("gen_ai.usage.output_tokens", Value::Int(30)),
            ("gen_ai.agent.name", s("triage")),
            ("some.unmapped.key", s("x")),
        ],
        &[
            ("gen_ai.operation.name", s("execute_tool")),
            ("gen_ai.tool.name", s("search")),
            ("error.type", s("timeout")),
        ],
        &[("openinference.span.kind", s("AGENT")), ("agent.name", s("planner")), ("k".repeat(200).leak(), s("long"))],
    ];
    for attrs in spans {
        let by_number: Vec<(KeyRef<'_>, Value<'_>)> = attrs.iter().map(|(k, v)| (KeyRef::from(*k), *v)).collect();
        assert!(by_number.iter().any(|(k, _)| k.index().is_some()), "the keys are interned");
        let events: Vec<(&str, &[(KeyRef<'_>, Value<'_>)])> = Vec::new();
        let res: &[(&str, Value)] = &[];
        let got =
            map_span(SpanInput { name: "span", is_error: false, attrs: by_number.as_slice(), resource: res }, events);
        assert_eq!(got, map_full("span", false, attrs, res), "{attrs:?}");
    }
}

#[test]
fn the_interner_shares_one_copy_per_text_and_starts_over_when_full() {
    let mut interner = Interner::new(4, None);
    let a = interner.intern("gen_ai.chat");
    assert!(Text::ptr_eq(&a, &interner.intern("gen_ai.chat")), "the same copy again");
    assert!(!Text::ptr_eq(&a, &interner.intern("gen_ai.chat2")), "another text, another copy");
    for i in 0..10 {
        assert_eq!(&*interner.intern(&format!("text-{i}")), format!("text-{i}"));
        assert!(interner.set.len() <= 4, "bounded: {}", interner.set.len());
    }
    let again = interner.intern("gen_ai.chat");
    assert_eq!(&*again, "gen_ai.chat");
    assert!(!Text::ptr_eq(&a, &again), "a text from before the start over is a new copy");
}

#[test]
fn the_interner_keeps_short_texts_for_good_while_its_budget_lasts() {
    static LEFT: AtomicUsize = AtomicUsize::new(0);
    LEFT.store(crate::store::text_heap("billing-ops".len()), Ordering::Relaxed);
    let mut interner = Interner::new(16, Some(&LEFT));
    let kept = interner.intern("billing-ops");
    assert!(Text::is_static(&kept), "kept for good");
    assert_eq!(LEFT.load(Ordering::Relaxed), 0, "its copy was charged to the budget");
    assert!(Text::ptr_eq(&kept, &interner.intern("billing-ops")), "and shared as before");
    let counted = interner.intern("support-triage");
    assert!(!Text::is_static(&counted), "the budget is spent: a new text is counted");
    assert_eq!(&*counted, "support-triage");

    LEFT.store(1 << 20, Ordering::Relaxed);
    let long = "x".repeat(KEEP_LONGEST + 1);
    assert!(!Text::is_static(&interner.intern(&long)), "a long text is not a name: counted");
    let mut ids = Interner::new(16, None);
    assert!(!Text::is_static(&ids.intern("conv-1")), "an interner without a budget keeps nothing");
    assert_eq!(LEFT.load(Ordering::Relaxed), 1 << 20, "neither took from the budget");
}
