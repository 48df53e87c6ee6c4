//! OTLP messages → validated store records, with the semantic mapping applied.
//!
//! Shared by the gRPC, HTTP and file-replay paths. An unusable item is counted and described,
//! never allowed to sink the good items around it.

use std::ops::Range;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, metric::Data, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::wire;
use crate::model::{SpanId, StatusCode, Text, TraceId};
use crate::semconv::{self, AttrList, Value};
use crate::store::attrs::{self, ValueId};
use crate::store::record::{
    AttrValue, Attrs, AttrsBuilder, EventRecord, KeyRef, LogRecord, PointRecord, ResourceRecord, SpanRecord,
};

/// How much of an attribute value the store keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest string attribute kept whole, bytes; longer ones are cut and their size noted.
    pub max_attr_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_attr_bytes: 64 * 1024 }
    }
}

/// The good items of a request, and what was wrong with the rest.
#[derive(Debug)]
pub struct Converted<T> {
    /// Usable items.
    pub items: Vec<T>,
    /// How many items were unusable.
    pub rejected: u64,
    /// The first few reasons, for the partial-success message.
    pub errors: Vec<String>,
}

impl<T> Default for Converted<T> {
    fn default() -> Self {
        Self { items: Vec::new(), rejected: 0, errors: Vec::new() }
    }
}

const MAX_ERRORS: usize = 5;

impl<T> Converted<T> {
    /// Counts an unusable item with its reason.
    pub fn reject(&mut self, reason: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(reason);
        }
    }

    /// Adds the items a decoder already dropped (they come first in the message).
    pub fn with_decoder_rejections(mut self, rejected: u64, mut errors: Vec<String>) -> Self {
        self.rejected += rejected;
        errors.append(&mut self.errors);
        errors.truncate(MAX_ERRORS);
        self.errors = errors;
        self
    }

    /// One line describing the rejected items, or empty.
    pub fn message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        let more = if self.rejected as usize > self.errors.len() { "; …" } else { "" };
        format!("{} item(s) rejected: {}{more}", self.rejected, self.errors.join("; "))
    }
}

impl AttrList for [KeyValue] {
    fn visit<'s>(&'s self, f: &mut dyn FnMut(&'s str, Value<'s>)) {
        for kv in self {
            f(&kv.key, value_of(kv.value.as_ref()));
        }
    }
}

fn value_of(v: Option<&AnyValue>) -> Value<'_> {
    match v.and_then(|a| a.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => Value::Str(s),
        Some(any_value::Value::IntValue(i)) => Value::Int(*i),
        Some(any_value::Value::DoubleValue(d)) => Value::Double(*d),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(_) => Value::Other,
        None => Value::Other,
    }
}

fn any_to_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::BytesValue(b)) => J::String(format!("<{} bytes>", b.len())),
        Some(any_value::Value::ArrayValue(a)) => J::Array(a.values.iter().map(any_to_json).collect()),
        Some(any_value::Value::KvlistValue(kv)) => J::Object(
            kv.values.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, any_to_json))).collect(),
        ),
        // Profiles-only string-table references carry no text of their own.
        Some(any_value::Value::StringValueStrindex(_)) | None => J::Null,
    }
}

/// An OTLP value as the store keeps it.
pub fn attr_value(v: Option<&AnyValue>, limits: Limits) -> AttrValue {
    match v.and_then(|a| a.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttrValue::text(s, limits.max_attr_bytes),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
        Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(*d),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
        Some(any_value::Value::BytesValue(b)) => AttrValue::Bytes { bytes: b.len() },
        Some(_) => {
            let json = v.map(any_to_json).unwrap_or_default().to_string();
            match AttrValue::text(&json, limits.max_attr_bytes) {
                AttrValue::Str(s) => AttrValue::Json(s),
                cut => cut,
            }
        }
        None => AttrValue::Str("".into()),
    }
}

fn attrs(kvs: &[KeyValue], limits: Limits) -> Attrs {
    let limit = limits.max_attr_bytes;
    let mut b = AttrsBuilder::with_capacity(kvs.len());
    for kv in kvs {
        let key = kv.key.as_str();
        match kv.value.as_ref().and_then(|a| a.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => b.str(key, s, limit),
            Some(any_value::Value::IntValue(i)) => b.int(key, *i),
            Some(any_value::Value::DoubleValue(d)) => b.double(key, *d),
            Some(any_value::Value::BoolValue(v)) => b.bool(key, *v),
            Some(any_value::Value::BytesValue(v)) => b.bytes(key, v.len()),
            Some(_) => b.json(key, &kv.value.as_ref().map(any_to_json).unwrap_or_default().to_string(), limit),
            None => b.str(key, "", limit),
        }
    }
    b.finish()
}

fn resource_record(r: Option<&Resource>, limits: Limits) -> Arc<ResourceRecord> {
    let kvs = r.map_or(&[][..], |r| r.attributes.as_slice());
    let service = kvs
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| value_of(kv.value.as_ref()).text().map(|s| s.into_owned()));
    Arc::new(ResourceRecord { service, attrs: attrs(kvs, limits) })
}

fn trace_id(bytes: &[u8]) -> Result<TraceId, String> {
    let id: TraceId = bytes.try_into().map_err(|_| format!("trace id has {} bytes, expected 16", bytes.len()))?;
    if id == [0; 16] {
        return Err("trace id is all zeroes".into());
    }
    Ok(id)
}

fn span_id(bytes: &[u8], what: &str) -> Result<SpanId, String> {
    let id: SpanId = bytes.try_into().map_err(|_| format!("{what} has {} bytes, expected 8", bytes.len()))?;
    if id == [0; 8] {
        return Err(format!("{what} is all zeroes"));
    }
    Ok(id)
}

/// Optional ids (logs, exemplars, parents): empty or all-zero means none; other lengths are bad.
fn optional_id<const N: usize>(bytes: &[u8], what: &str) -> Result<Option<[u8; N]>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id: [u8; N] = bytes.try_into().map_err(|_| format!("{what} has {} bytes, expected {N}", bytes.len()))?;
    Ok((id != [0; N]).then_some(id))
}

/// Validates and maps the spans of a trace export request in opentelemetry-proto's types (the
/// JSON, replay and demo paths).
pub fn traces(req: &ExportTraceServiceRequest, limits: Limits) -> Converted<SpanRecord> {
    match wire::TraceRequest::from_otlp(req).and_then(|req| wire_traces(&req, limits)) {
        Ok(c) => c,
        Err(e) => {
            let mut out = Converted::default();
            for _ in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
                out.reject(format!("cannot read the request: {e}"));
            }
            out
        }
    }
}

/// Attributes read once per span, borrowed from the request, for the mapping and the packing.
type Scalars<'r> = Vec<(KeyRef<'r>, Value<'r>)>;

/// One list of attributes as read: the mapping's view of each, and the value as sent (for the
/// packing of arrays, maps and bytes).
#[derive(Default)]
struct Read<'r> {
    scalars: Scalars<'r>,
    raw: Vec<wire::AnyValue<'r>>,
    /// What this thread's value cache said of each string value (`attrs::known_value`).
    known: Vec<Option<ValueId>>,
}

impl<'r> Read<'r> {
    fn clear(&mut self) {
        self.scalars.clear();
        self.raw.clear();
        self.known.clear();
    }

    /// Packs the attributes in `range` (arrays and maps become JSON text).
    fn packed(&self, range: Range<usize>, limits: Limits) -> Result<Attrs, Unusable> {
        packed(&self.scalars[range.clone()], &self.raw[range.clone()], &self.known[range], limits)
    }
}

/// Buffers reused from span to span.
#[derive(Default)]
struct Scratch<'r> {
    span: Read<'r>,
    events: Read<'r>,
    /// Each event's name, attributes (in `events`) and time.
    ranges: Vec<(&'r str, Range<usize>, u64)>,
}

/// Why an item is not kept.
enum Unusable {
    /// Its content is wrong (text that is not UTF-8, a bad id): it alone is rejected.
    Item(String),
    /// The request is not well-formed protobuf: all of it is refused.
    Wire(wire::WireError),
}

impl From<String> for Unusable {
    fn from(reason: String) -> Self {
        Self::Item(reason)
    }
}

impl From<wire::WireError> for Unusable {
    fn from(e: wire::WireError) -> Self {
        Self::Wire(e)
    }
}

/// Validates and maps the spans of a trace export request as the receivers read it; a request
/// that turns out not to be well-formed protobuf is refused whole.
pub fn wire_traces(req: &wire::TraceRequest, limits: Limits) -> Result<Converted<SpanRecord>, wire::WireError> {
    // The span count is known from parsing: growing the records' vector by doubling copied it
    // about nine times per request.
    let mut out = Converted { items: Vec::with_capacity(req.span_count()), ..Converted::default() };
    let mut scratch = Scratch::default();
    let mut res = Read::default();
    for rs in req.resource_spans() {
        let rs = rs?;
        res.clear();
        let resource = push_scalars(rs.attributes(), &mut res).and_then(|()| {
            let service = res.scalars.iter().find(|(k, _)| k.as_str() == "service.name").and_then(|(_, v)| v.text());
            Ok(Arc::new(ResourceRecord {
                service: service.map(|s| s.into_owned()),
                attrs: res.packed(0..res.raw.len(), limits)?,
            }))
        });
        let resource = match resource {
            Ok(r) => r,
            Err(Unusable::Wire(e)) => return Err(e),
            Err(Unusable::Item(e)) => {
                for span in rs.spans() {
                    span?;
                    out.reject(format!("resource: {e}"));
                }
                continue;
            }
        };
        let filed = semconv::FiledResource::new(res.scalars.as_slice());
        for span in rs.spans() {
            let span = span?;
            match wire_span(&span, &filed, &resource, limits, &mut scratch) {
                Ok(record) => out.items.push(record),
                Err(Unusable::Wire(e)) => return Err(e),
                Err(Unusable::Item(e)) => {
                    let name = String::from_utf8_lossy(span.name);
                    out.reject(format!("span {:?}: {e}", truncate(&name, 64)));
                }
            }
        }
    }
    Ok(out)
}

fn wire_span<'r>(
    span: &wire::Span<'r>,
    filed: &semconv::FiledResource<'_>,
    resource: &Arc<ResourceRecord>,
    limits: Limits,
    scratch: &mut Scratch<'r>,
) -> Result<SpanRecord, Unusable> {
    let trace = trace_id(span.trace_id)?;
    let id = span_id(span.span_id, "span id")?;
    let parent = optional_id::<8>(span.parent_span_id, "parent span id")?;
    let name = utf8(span.name, "the name")?;
    let status_message = utf8(span.status_message, "the status message")?;
    let status = StatusCode::from_i32(span.status_code);
    scratch.span.clear();
    push_scalars(span.attributes(), &mut scratch.span)?;
    scratch.events.clear();
    scratch.ranges.clear();
    for e in span.events() {
        let e = e?;
        let from = scratch.events.raw.len();
        push_scalars(e.attributes(), &mut scratch.events)?;
        scratch.ranges.push((utf8(e.name, "an event name")?, from..scratch.events.raw.len(), e.time_unix_nano));
    }
    let events = scratch
        .ranges
        .iter()
        .map(|(name, range, time_ns)| {
            Ok(EventRecord {
                name: shared(truncate(name, limits.max_attr_bytes)),
                time_ns: *time_ns,
                attrs: scratch.events.packed(range.clone(), limits)?,
            })
        })
        .collect::<Result<Box<[_]>, Unusable>>()?;
    let facts = semconv::map_span_under(
        filed,
        name,
        status == StatusCode::Error,
        scratch.span.scalars.as_slice(),
        scratch.ranges.iter().map(|(name, range, _)| (*name, &scratch.events.scalars[range.clone()])),
    );
    Ok(SpanRecord {
        trace_id: trace,
        span_id: id,
        parent,
        name: shared(truncate(name, limits.max_attr_bytes)),
        kind: span.kind,
        start_ns: span.start_time_unix_nano,
        end_ns: span.end_time_unix_nano,
        status,
        status_message: truncate(status_message, limits.max_attr_bytes).into(),
        attrs: scratch.span.packed(0..scratch.span.raw.len(), limits)?,
        events,
        resource: Arc::clone(resource),
        role: facts.role,
        facts: Some(Box::new(facts)),
    })
}

/// Longest name shared through the interner; longer ones are their own allocation.
const MAX_SHARED_NAME: usize = 256;

/// A span or event name, shared with the spans of the same name this thread has seen: names are
/// few (the semantic conventions ask for low-cardinality names), so a hot span need not carry
/// its own copy. The interner is bounded, so names that are really ids cost only their bytes.
fn shared(name: &str) -> Text {
    if name.len() <= MAX_SHARED_NAME { semconv::intern(name) } else { name.into() }
}

/// Every key, string value and name of a span is checked (~8% of an ingest thread with the
/// standard library's check; simdutf8 checks a word or a vector at a time).
fn utf8<'r>(bytes: &'r [u8], what: &str) -> Result<&'r str, String> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
}

/// Appends the attributes as the mapping reads them, checking their text is UTF-8 (a value this
/// thread has interned is found by its bytes instead: it was checked when it was interned).
fn push_scalars<'r>(
    kvs: impl Iterator<Item = Result<wire::KeyValue<'r>, wire::WireError>>,
    out: &mut Read<'r>,
) -> Result<(), Unusable> {
    use wire::AnyValue as V;
    for kv in kvs {
        let kv = kv?;
        let key = KeyRef::read(kv.key).ok_or_else(|| "an attribute key is not UTF-8".to_owned())?;
        let mut known = None;
        let value = match kv.value {
            V::Str(s) => match attrs::known_value(key, s) {
                Some((text, id)) => {
                    known = Some(id);
                    Value::Str(text)
                }
                None => Value::Str(
                    simdutf8::basic::from_utf8(s).map_err(|_| format!("attribute {:?} is not UTF-8", key.as_str()))?,
                ),
            },
            V::Int(i) => Value::Int(i),
            V::Double(d) => Value::Double(d),
            V::Bool(b) => Value::Bool(b),
            V::Array(_) | V::Kvlist(_) | V::Bytes(_) | V::Empty => Value::Other,
        };
        out.scalars.push((key, value));
        out.raw.push(kv.value);
        out.known.push(known);
    }
    Ok(())
}

/// An array or map as opentelemetry-proto's value, for its JSON form.
fn complex_value(raw: wire::AnyValue<'_>) -> Option<AnyValue> {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use prost::Message;
    let value = match raw {
        wire::AnyValue::Array(body) => any_value::Value::ArrayValue(ArrayValue::decode(body).ok()?),
        wire::AnyValue::Kvlist(body) => any_value::Value::KvlistValue(KeyValueList::decode(body).ok()?),
        _ => return None,
    };
    Some(AnyValue { value: Some(value) })
}

/// Packs attributes already read by `push_scalars` (arrays and maps become JSON text).
fn packed(
    scalars: &[(KeyRef<'_>, Value<'_>)],
    raw: &[wire::AnyValue<'_>],
    known: &[Option<ValueId>],
    limits: Limits,
) -> Result<Attrs, Unusable> {
    let limit = limits.max_attr_bytes;
    let mut b = AttrsBuilder::with_capacity(raw.len());
    for ((&(key, value), &raw), &known) in scalars.iter().zip(raw).zip(known) {
        match value {
            Value::Str(s) => b.str_read(key, s, known, limit),
            Value::Int(i) => b.int(key, i),
            Value::Double(d) => b.double(key, d),
            Value::Bool(v) => b.bool(key, v),
            Value::Other => match raw {
                wire::AnyValue::Bytes(v) => b.bytes(key, v.len()),
                wire::AnyValue::Empty => b.str(key, "", limit),
                _ => {
                    raw.check(0)?;
                    let otlp = complex_value(raw)
                        .ok_or_else(|| format!("attribute {:?} holds text that is not UTF-8", key.as_str()))?;
                    b.json(key, &any_to_json(&otlp).to_string(), limit);
                }
            },
        }
    }
    Ok(b.finish())
}

/// Validates and maps the records of a logs export request.
pub fn logs(req: &ExportLogsServiceRequest, limits: Limits) -> Converted<LogRecord> {
    let mut out = Converted::default();
    for rl in &req.resource_logs {
        let resource = resource_record(rl.resource.as_ref(), limits);
        for sl in &rl.scope_logs {
            for log in &sl.log_records {
                let ids = optional_id::<16>(&log.trace_id, "trace id")
                    .and_then(|t| Ok((t, optional_id::<8>(&log.span_id, "span id")?)));
                let (trace, span) = match ids {
                    Ok(ids) => ids,
                    Err(e) => {
                        out.reject(format!("log record: {e}"));
                        continue;
                    }
                };
                let kvs = log.attributes.as_slice();
                let event_name: String = if log.event_name.is_empty() {
                    kvs.iter()
                        .find(|kv| kv.key == "event.name")
                        .and_then(|kv| value_of(kv.value.as_ref()).text().map(|s| s.into_owned()))
                        .unwrap_or_default()
                } else {
                    log.event_name.clone()
                };
                let time_ns = if log.time_unix_nano != 0 { log.time_unix_nano } else { log.observed_time_unix_nano };
                out.items.push(LogRecord {
                    time_ns,
                    trace_id: trace,
                    span_id: span,
                    severity: log.severity_number,
                    fact: semconv::map_event(&event_name, kvs),
                    event_name: truncate(&event_name, limits.max_attr_bytes).into(),
                    body: attr_value(log.body.as_ref(), limits),
                    attrs: attrs(kvs, limits),
                    resource: Arc::clone(&resource),
                });
            }
        }
    }
    out
}

fn exemplar_ids(exemplars: &[Exemplar]) -> (Option<TraceId>, Option<SpanId>) {
    exemplars
        .iter()
        .find_map(|e| {
            let t = optional_id::<16>(&e.trace_id, "exemplar trace id").ok().flatten()?;
            Some((Some(t), optional_id::<8>(&e.span_id, "exemplar span id").ok().flatten()))
        })
        .unwrap_or((None, None))
}

/// The points of a histogram, explicit or exponential (two prost types with the same fields
/// the cockpit reads): the sum as the value, and the count.
macro_rules! histogram_points {
    ($h:expr) => {
        $h.data_points
            .iter()
            .map(|p| (p.time_unix_nano, p.sum.unwrap_or(0.0), p.count, p.attributes.as_slice(), p.exemplars.as_slice()))
            .collect()
    };
}

/// Validates and flattens the data points of a metrics export request.
pub fn metrics(req: &ExportMetricsServiceRequest, limits: Limits) -> Converted<PointRecord> {
    let mut out = Converted::default();
    for rm in &req.resource_metrics {
        let resource = resource_record(rm.resource.as_ref(), limits);
        for sm in &rm.scope_metrics {
            for metric in &sm.metrics {
                let points: Vec<RawPoint> = match &metric.data {
                    Some(Data::Gauge(g)) => g.data_points.iter().map(number_point).collect(),
                    Some(Data::Sum(s)) => s.data_points.iter().map(number_point).collect(),
                    Some(Data::Histogram(h)) => histogram_points!(h),
                    Some(Data::ExponentialHistogram(h)) => histogram_points!(h),
                    Some(Data::Summary(s)) => s
                        .data_points
                        .iter()
                        .map(|p| (p.time_unix_nano, p.sum, p.count, p.attributes.as_slice(), &[][..]))
                        .collect(),
                    None => {
                        out.reject(format!("metric {:?}: no data", truncate(&metric.name, 64)));
                        continue;
                    }
                };
                if metric.name.is_empty() {
                    for _ in &points {
                        out.reject("data point of a metric with no name".into());
                    }
                    continue;
                }
                for (time_ns, value, count, kvs, exemplars) in points {
                    let (trace_id, span_id) = exemplar_ids(exemplars);
                    out.items.push(PointRecord {
                        metric: truncate(&metric.name, 1024).into(),
                        unit: truncate(&metric.unit, 256).into(),
                        time_ns,
                        value,
                        count,
                        attrs: attrs(kvs, limits),
                        trace_id,
                        span_id,
                        resource: Arc::clone(&resource),
                    });
                }
            }
        }
    }
    out
}

/// (time, value, count, attributes, exemplars) of one data point.
type RawPoint<'a> = (u64, f64, u64, &'a [KeyValue], &'a [Exemplar]);

fn number_point(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> RawPoint<'_> {
    let value = match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    };
    (p.time_unix_nano, value, 1, p.attributes.as_slice(), p.exemplars.as_slice())
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    crate::store::attrs::cut(s, max)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric,
        NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    };

    use super::*;

    fn metric(name: &str, data: Data) -> Metric {
        Metric { name: name.into(), unit: "1".into(), data: Some(data), ..Default::default() }
    }

    #[test]
    fn every_metric_kind_becomes_points_of_value_and_count() {
        let number = |v: f64| NumberDataPoint {
            time_unix_nano: 7,
            value: Some(number_data_point::Value::AsDouble(v)),
            ..Default::default()
        };
        let metrics = vec![
            metric("g", Data::Gauge(Gauge { data_points: vec![number(1.5)] })),
            metric("s", Data::Sum(Sum { data_points: vec![number(2.0)], ..Default::default() })),
            metric(
                "h",
                Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint { sum: Some(30.0), count: 3, ..Default::default() }],
                    ..Default::default()
                }),
            ),
            metric(
                "e",
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        sum: Some(40.0),
                        count: 4,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            ),
            metric(
                "q",
                Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint { sum: 50.0, count: 5, ..Default::default() }],
                }),
            ),
        ];
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
                ..Default::default()
            }],
        };
        let got = super::metrics(&req, Limits::default());
        let points: Vec<(&str, f64, u64)> = got.items.iter().map(|p| (&*p.metric, p.value, p.count)).collect();
        assert_eq!(points, [("g", 1.5, 1), ("s", 2.0, 1), ("h", 30.0, 3), ("e", 40.0, 4), ("q", 50.0, 5)]);
    }
}
