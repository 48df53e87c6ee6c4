//! OTLP/JSON decoding, lenient where real exporters are sloppy.
//!
//! Each span, log record or metric is decoded on its own, so one bad item is rejected and
//! counted while its neighbours are kept. Before decoding an item is normalized: snake_case
//! field names become lowerCamelCase, base64 ids become hex, enum names become numbers.
//! Invalid UTF-8 is replaced (U+FFFD) rather than failing the whole body.

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A decoded request and what was dropped from it.
#[derive(Debug, Default)]
pub struct Decoded<T> {
    /// The usable part of the request.
    pub request: T,
    /// Items that could not be decoded.
    pub rejected: u64,
    /// The first few reasons.
    pub errors: Vec<String>,
}

impl<T> Decoded<T> {
    /// Counts `n` items left out, keeping the first few reasons.
    pub(super) fn reject(&mut self, n: u64, reason: String) {
        self.rejected += n;
        if self.errors.len() < 5 {
            self.errors.push(reason);
        }
    }
}

/// Which signal a JSON line or body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `resourceSpans`.
    Traces,
    /// `resourceMetrics`.
    Metrics,
    /// `resourceLogs`.
    Logs,
}

/// Parses a body into a JSON object (lossy about invalid UTF-8), with field names normalized.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    let text = String::from_utf8_lossy(body);
    let mut value: Value = serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?;
    normalize_keys(&mut value);
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("expected a JSON object, found {}", kind_of(&other))),
    }
}

/// Which signal an object holds, by its top-level key.
pub fn signal_of(obj: &Map<String, Value>) -> Option<Signal> {
    if obj.contains_key("resourceSpans") {
        Some(Signal::Traces)
    } else if obj.contains_key("resourceMetrics") {
        Some(Signal::Metrics)
    } else if obj.contains_key("resourceLogs") {
        Some(Signal::Logs)
    } else {
        None
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `resource_spans` → `resourceSpans`, recursively (proto JSON allows both spellings).
fn normalize_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('_')) {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    normalize_keys(&mut val);
                    map.insert(camel(&k), val);
                }
            } else {
                map.values_mut().for_each(normalize_keys);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_keys),
        _ => {}
    }
}

fn camel(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut upper = false;
    for c in k.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Hex ids stay; base64 ids of the right length become hex.
fn fix_id(v: &mut Value, bytes: usize) {
    let Value::String(s) = v else { return };
    if s.is_empty() || (s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        return;
    }
    for engine in [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE] {
        if let Ok(raw) = engine.decode(s.as_bytes()) {
            if raw.len() == bytes {
                *s = hex::encode(raw);
                return;
            }
        }
    }
}

/// Enum names (with or without their prefix) and numeric strings become numbers.
fn fix_enum(v: &mut Value, prefix: &str, names: &[(&str, i64)]) {
    let Value::String(s) = v else { return };
    let upper = s.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix(prefix).unwrap_or(&upper);
    if let Some((_, n)) = names.iter().find(|(name, _)| *name == bare) {
        *v = Value::from(*n);
    } else if let Ok(n) = bare.parse::<i64>() {
        *v = Value::from(n);
    }
}

const SPAN_KINDS: &[(&str, i64)] =
    &[("UNSPECIFIED", 0), ("INTERNAL", 1), ("SERVER", 2), ("CLIENT", 3), ("PRODUCER", 4), ("CONSUMER", 5)];
const STATUS_CODES: &[(&str, i64)] = &[("UNSET", 0), ("OK", 1), ("ERROR", 2)];
const TEMPORALITIES: &[(&str, i64)] = &[("UNSPECIFIED", 0), ("DELTA", 1), ("CUMULATIVE", 2)];
const SEVERITIES: &[(&str, i64)] = &[
    ("UNSPECIFIED", 0),
    ("TRACE", 1),
    ("TRACE2", 2),
    ("TRACE3", 3),
    ("TRACE4", 4),
    ("DEBUG", 5),
    ("DEBUG2", 6),
    ("DEBUG3", 7),
    ("DEBUG4", 8),
    ("INFO", 9),
    ("INFO2", 10),
    ("INFO3", 11),
    ("INFO4", 12),
    ("WARN", 13),
    ("WARN2", 14),
    ("WARN3", 15),
    ("WARN4", 16),
    ("ERROR", 17),
    ("ERROR2", 18),
    ("ERROR3", 19),
    ("ERROR4", 20),
    ("FATAL", 21),
    ("FATAL2", 22),
    ("FATAL3", 23),
    ("FATAL4", 24),
];

/// Applies the id and enum leniencies everywhere inside one item.
fn fix_item(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match k.as_str() {
                    "traceId" => fix_id(val, 16),
                    "spanId" | "parentSpanId" => fix_id(val, 8),
                    "kind" => fix_enum(val, "SPAN_KIND_", SPAN_KINDS),
                    "code" => fix_enum(val, "STATUS_CODE_", STATUS_CODES),
                    "severityNumber" => fix_enum(val, "SEVERITY_NUMBER_", SEVERITIES),
                    "aggregationTemporality" => fix_enum(val, "AGGREGATION_TEMPORALITY_", TEMPORALITIES),
                    _ => fix_item(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_item),
        _ => {}
    }
}

fn decode<T: DeserializeOwned>(mut v: Value) -> Result<T, String> {
    fix_item(&mut v);
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// One resource block: its resource, schema URL, and per scope the decoded items.
type Block<I> = (Option<Resource>, String, Vec<(Option<InstrumentationScope>, String, Vec<I>)>);

/// Walks `top` → resource blocks → `scope_key` → scope blocks → `item_key` → items.
fn blocks<I: DeserializeOwned, T>(
    obj: &mut Map<String, Value>,
    (top, scope_key, item_key): (&str, &str, &str),
    count: fn(&Value) -> u64,
    out: &mut Decoded<T>,
) -> Result<Vec<Block<I>>, String> {
    let list = match obj.remove(top) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(format!("{top} must be an array, found {}", kind_of(&other))),
    };
    let mut result = Vec::new();
    for (ri, mut block) in list.into_iter().enumerate() {
        let Value::Object(block_map) = &mut block else {
            out.reject(1, format!("{top}[{ri}] is {}, expected an object", kind_of(&block)));
            continue;
        };
        let scopes = match block_map.remove(scope_key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(s)) => s,
            Some(other) => {
                out.reject(1, format!("{top}[{ri}].{scope_key} is {}, expected an array", kind_of(&other)));
                continue;
            }
        };
        let resource: Option<Resource> = match block_map.remove("resource") {
            None | Some(Value::Null) => None,
            Some(r) => match decode(r) {
                Ok(r) => Some(r),
                Err(e) => {
                    let n: u64 = scopes
                        .iter()
                        .map(|s| s.get(item_key).map_or(0, |i| i.as_array().map_or(1, |a| a.iter().map(count).sum())))
                        .sum();
                    out.reject(n.max(1), format!("{top}[{ri}].resource: {e}"));
                    continue;
                }
            },
        };
        let schema = block_map.get("schemaUrl").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut scope_out = Vec::new();
        for (si, mut scope_block) in scopes.into_iter().enumerate() {
            let Value::Object(scope_map) = &mut scope_block else {
                out.reject(1, format!("{top}[{ri}].{scope_key}[{si}] is not an object"));
                continue;
            };
            let scope: Option<InstrumentationScope> = scope_map.remove("scope").and_then(|s| decode(s).ok());
            let scope_schema = scope_map.get("schemaUrl").and_then(Value::as_str).unwrap_or_default().to_owned();
            let items = match scope_map.remove(item_key) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items,
                Some(other) => {
                    out.reject(1, format!("{top}[{ri}].{scope_key}[{si}].{item_key} is {}", kind_of(&other)));
                    continue;
                }
            };
            let mut decoded = Vec::with_capacity(items.len());
            for (ii, item) in items.into_iter().enumerate() {
                let n = count(&item);
                match decode::<I>(item) {
                    Ok(i) => decoded.push(i),
                    Err(e) => out.reject(n, format!("{item_key}[{ii}]: {e}")),
                }
            }
            scope_out.push((scope, scope_schema, decoded));
        }
        result.push((resource, schema, scope_out));
    }
    Ok(result)
}

fn one(_: &Value) -> u64 {
    1
}

/// A metric counts as its data points (at least one).
fn metric_points(v: &Value) -> u64 {
    let n: u64 = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"]
        .iter()
        .filter_map(|k| v.get(k)?.get("dataPoints")?.as_array().map(|a| a.len() as u64))
        .sum();
    n.max(1)
}

/// Decodes an `ExportTraceServiceRequest` from OTLP/JSON.
pub fn traces(mut obj: Map<String, Value>) -> Result<Decoded<ExportTraceServiceRequest>, String> {
    let mut out = Decoded::<ExportTraceServiceRequest>::default();
    let blocks = blocks::<Span, _>(&mut obj, ("resourceSpans", "scopeSpans", "spans"), one, &mut out)?;
    out.request.resource_spans = blocks
        .into_iter()
        .map(|(resource, schema_url, scopes)| ResourceSpans {
            resource,
            schema_url,
            scope_spans: scopes
                .into_iter()
                .map(|(scope, schema_url, spans)| ScopeSpans { scope, spans, schema_url })
                .collect(),
        })
        .collect();
    Ok(out)
}

/// Decodes an `ExportLogsServiceRequest` from OTLP/JSON.
pub fn logs(mut obj: Map<String, Value>) -> Result<Decoded<ExportLogsServiceRequest>, String> {
    let mut out = Decoded::<ExportLogsServiceRequest>::default();
    let blocks = blocks::<LogRecord, _>(&mut obj, ("resourceLogs", "scopeLogs", "logRecords"), one, &mut out)?;
    out.request.resource_logs = blocks
        .into_iter()
        .map(|(resource, schema_url, scopes)| ResourceLogs {
            resource,
            schema_url,
            scope_logs: scopes
                .into_iter()
                .map(|(scope, schema_url, log_records)| ScopeLogs { scope, log_records, schema_url })
                .collect(),
        })
        .collect();
    Ok(out)
}

/// Decodes an `ExportMetricsServiceRequest` from OTLP/JSON.
pub fn metrics(mut obj: Map<String, Value>) -> Result<Decoded<ExportMetricsServiceRequest>, String> {
    let mut out = Decoded::<ExportMetricsServiceRequest>::default();
    let blocks =
        blocks::<Metric, _>(&mut obj, ("resourceMetrics", "scopeMetrics", "metrics"), metric_points, &mut out)?;
    out.request.resource_metrics = blocks
        .into_iter()
        .map(|(resource, schema_url, scopes)| ResourceMetrics {
            resource,
            schema_url,
            scope_metrics: scopes
                .into_iter()
                .map(|(scope, schema_url, metrics)| ScopeMetrics { scope, metrics, schema_url })
                .collect(),
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_traces(s: &str) -> Decoded<ExportTraceServiceRequest> {
        traces(parse_object(s.as_bytes()).expect("object")).expect("traces")
    }

    #[test]
    fn hex_and_base64_ids_and_enum_names() {
        let d = decode_traces(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a","kind":2,
               "startTimeUnixNano":"1","endTimeUnixNano":2,"status":{"code":"STATUS_CODE_ERROR"}},
              {"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","name":"b","kind":"SPAN_KIND_CLIENT"}
            ]}]}]}"#,
        );
        assert_eq!(d.rejected, 0, "{:?}", d.errors);
        let spans = &d.request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[0].trace_id, spans[1].trace_id, "base64 decodes to the same id");
        assert_eq!(spans[1].span_id, hex::decode("eee19b7ec3c1b174").expect("hex"));
        assert_eq!((spans[0].kind, spans[1].kind), (2, 3));
        assert_eq!(spans[0].status.as_ref().map(|s| s.code), Some(2));
        assert_eq!(spans[0].start_time_unix_nano, 1);
    }

    #[test]
    fn snake_case_fields_are_accepted() {
        let d = decode_traces(
            r#"{"resource_spans":[{"scope_spans":[{"spans":[
              {"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","name":"a"}]}]}]}"#,
        );
        assert_eq!(d.request.resource_spans[0].scope_spans[0].spans.len(), 1);
    }

    #[test]
    fn a_bad_span_is_rejected_alone() {
        let d = decode_traces(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"good"},
              {"traceId":"not hex at all!","spanId":"eee19b7ec3c1b174","name":"bad"},
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","startTimeUnixNano":"soon"}
            ]}]}]}"#,
        );
        assert_eq!(d.rejected, 2);
        assert_eq!(d.request.resource_spans[0].scope_spans[0].spans.len(), 1);
        assert!(d.errors[0].contains("spans[1]"), "{:?}", d.errors);
    }

    #[test]
    fn wrong_shapes_are_errors_or_rejections() {
        assert!(parse_object(b"[1,2]").is_err());
        assert!(parse_object(b"{\"resourceSpans\": ").is_err());
        assert!(traces(parse_object(br#"{"resourceSpans": 5}"#).expect("object")).is_err());
        let d = decode_traces(r#"{"resourceSpans": [7]}"#);
        assert_eq!(d.rejected, 1);
        let d = decode_traces("{}");
        assert_eq!((d.rejected, d.request.resource_spans.len()), (0, 0));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x"#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#""}]}]}]}"#);
        let d = traces(parse_object(&body).expect("lossy parse")).expect("traces");
        assert_eq!(d.request.resource_spans[0].scope_spans[0].spans[0].name, "x\u{fffd}\u{fffd}");
    }

    #[test]
    fn metrics_and_logs_decode() {
        let m = metrics(
            parse_object(
                br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
                  {"name":"gen_ai.client.token.usage","histogram":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA",
                   "dataPoints":[{"count":"2","sum":30,"bucketCounts":["1","1"],"explicitBounds":[10]}]}},
                  {"name":"bad","gauge":{"dataPoints":[{"timeUnixNano":"later"},{"asInt":"1"}]}}]}]}]}"#,
            )
            .expect("object"),
        )
        .expect("metrics");
        // The crate's serde turns undecodable metric data into "no data"; conversion rejects it.
        let c = crate::ingest::convert::metrics(&m.request, Default::default());
        assert_eq!((c.items.len(), c.rejected), (1, 1));
        assert!(c.message().contains("\"bad\": no data"), "{}", c.message());
        let l = logs(
            parse_object(
                br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
                  {"timeUnixNano":"5","severityNumber":"SEVERITY_NUMBER_WARN","eventName":"gen_ai.evaluation.result"}]}]}]}"#,
            )
            .expect("object"),
        )
        .expect("logs");
        let rec = &l.request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!((rec.severity_number, rec.event_name.as_str()), (13, "gen_ai.evaluation.result"));
    }
}
