//! Property tests: the decoders and the mapping never panic on arbitrary input, and whatever
//! they accept converts cleanly.

use agentops_cockpit::ingest::convert::{self, Limits};
use agentops_cockpit::ingest::{body, json, salvage};
use agentops_cockpit::semconv::{self, SpanInput, Value};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use prost::Message;

const TINY: Limits = Limits { max_attr_bytes: 16 };

fn json_any(bytes: &[u8]) {
    let Ok(obj) = json::parse_object(bytes) else {
        return;
    };
    if let Ok(d) = json::traces(obj.clone()) {
        let _ = convert::traces(&d.request, TINY);
    }
    if let Ok(d) = json::metrics(obj.clone()) {
        let _ = convert::metrics(&d.request, TINY);
    }
    if let Ok(d) = json::logs(obj) {
        let _ = convert::logs(&d.request, TINY);
    }
}

/// JSON-ish text built from OTLP's own vocabulary, so the fuzzer reaches deep into the decoder.
fn otlp_jsonish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"resourceSpans\"".to_owned()),
        Just("\"scopeSpans\"".to_owned()),
        Just("\"spans\"".to_owned()),
        Just("\"traceId\"".to_owned()),
        Just("\"spanId\"".to_owned()),
        Just("\"kind\"".to_owned()),
        Just("\"attributes\"".to_owned()),
        Just("\"key\"".to_owned()),
        Just("\"value\"".to_owned()),
        Just("\"intValue\"".to_owned()),
        Just("\"resourceMetrics\"".to_owned()),
        Just("\"gauge\"".to_owned()),
        Just("\"dataPoints\"".to_owned()),
        Just("\"5b8efff798038103d269b633813fc60c\"".to_owned()),
        Just("\"eee19b7ec3c1b174\"".to_owned()),
        Just("\"SPAN_KIND_SERVER\"".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("-1".to_owned()),
        Just("null".to_owned()),
        "\"[a-z_.]{0,12}\"",
    ];
    proptest::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn json_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        json_any(&bytes);
    }

    #[test]
    fn otlp_shaped_json_never_panics(text in otlp_jsonish()) {
        json_any(text.as_bytes());
    }

    #[test]
    fn protobuf_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(r) = ExportTraceServiceRequest::decode(bytes.as_slice()) {
            let c = convert::traces(&r, TINY);
            prop_assert!(c.items.iter().all(|s| s.trace_id != [0; 16] && s.span_id != [0; 8]));
        }
        if let Ok(r) = ExportMetricsServiceRequest::decode(bytes.as_slice()) {
            let _ = convert::metrics(&r, TINY);
        }
        if let Ok(r) = ExportLogsServiceRequest::decode(bytes.as_slice()) {
            let _ = convert::logs(&r, TINY);
        }
    }

    #[test]
    fn salvaging_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(d) = salvage::decode::<ExportMetricsServiceRequest>(bytes::Bytes::from(bytes.clone())) {
            let _ = convert::metrics(&d.request, TINY);
        }
        if let Ok(d) = salvage::decode::<ExportLogsServiceRequest>(bytes::Bytes::from(bytes)) {
            let _ = convert::logs(&d.request, TINY);
        }
    }

    /// A real request with a few bytes changed reaches deep into the salvage walk.
    #[test]
    fn salvaging_a_damaged_request_never_panics(
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
    ) {
        use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let text = |s: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(s.into())) });
        let record = |body: &str| LogRecord {
            body: text(body),
            attributes: vec![KeyValue { key: "gen_ai.evaluation.name".into(), value: text("relevance"), ..Default::default() }],
            ..Default::default()
        };
        let scope = ScopeLogs { log_records: vec![record("a"), record("bb"), record("ccc")], ..Default::default() };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs { scope_logs: vec![scope.clone(), scope], ..Default::default() }],
        };
        let mut bytes = request.encode_to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(d) = salvage::decode::<ExportLogsServiceRequest>(bytes::Bytes::from(bytes)) {
            let _ = convert::logs(&d.request, TINY);
        }
    }

    #[test]
    fn gzip_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = body::decode(&bytes, Some("gzip"), 1024);
    }

    #[test]
    fn mapping_never_panics(
        keys in proptest::collection::vec(prop_oneof![
            Just("gen_ai.operation.name"), Just("gen_ai.usage.input_tokens"), Just("gen_ai.agent.name"),
            Just("cockpit.guardrail.decision"), Just("openinference.span.kind"), Just("traceloop.span.kind"),
            Just("error.type"), Just("cockpit.run.step_budget"), Just("gen_ai.tool.name"), Just("x"),
        ], 0..12),
        values in proptest::collection::vec(prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Double),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Str("invoke_agent")), Just(Value::Str("execute_tool")), Just(Value::Str("")),
            Just(Value::Str("TOOL")), Just(Value::Str("block")), Just(Value::Other),
        ], 12),
        name in "\\PC{0,40}",
    ) {
        let attrs: Vec<(&str, Value)> = keys.iter().zip(values.iter()).map(|(k, v)| (*k, *v)).collect();
        let events: Vec<(&str, &[(&str, Value)])> = vec![("gen_ai.evaluation.result", attrs.as_slice())];
        let _ = semconv::map_span(SpanInput { name: &name, is_error: false, attrs: attrs.as_slice(), resource: attrs.as_slice() }, events);
        let _ = semconv::map_event(&name, attrs.as_slice());
    }
}
