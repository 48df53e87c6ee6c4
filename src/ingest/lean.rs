//! OTLP trace export messages as ingest reads them: every string and id a `Bytes` slice of the
//! received buffer instead of an owned copy.
//!
//! opentelemetry-proto's generated types allocate a `String` for every attribute key and value
//! and a `Vec` for every id — about forty allocations a span, the largest cost on the ingest
//! threads in the profile. These types are the same messages derived with prost, wire-compatible,
//! with strings declared as bytes: decoding from a `Bytes` buffer only counts references, and
//! conversion checks UTF-8 item by item, so one bad string costs its span, not the request.
//! Fields ingest does not read (scopes, links, trace state, dropped counts) are skipped.

use bytes::Bytes;
use prost::Message;

/// `ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceRequest {
    /// Spans grouped by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ResourceSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceSpans {
    /// The resource.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Spans grouped by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Resource attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeSpans` (the scope itself is not read).
#[derive(Clone, PartialEq, Message)]
pub struct ScopeSpans {
    /// The spans.
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
}

/// `Span`.
#[derive(Clone, PartialEq, Message)]
pub struct Span {
    /// 16 bytes.
    #[prost(bytes = "bytes", tag = "1")]
    pub trace_id: Bytes,
    /// 8 bytes.
    #[prost(bytes = "bytes", tag = "2")]
    pub span_id: Bytes,
    /// 8 bytes, or empty for a root.
    #[prost(bytes = "bytes", tag = "4")]
    pub parent_span_id: Bytes,
    /// UTF-8.
    #[prost(bytes = "bytes", tag = "5")]
    pub name: Bytes,
    /// `SpanKind` number.
    #[prost(int32, tag = "6")]
    pub kind: i32,
    /// Start, ns since the epoch.
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    /// End, ns since the epoch.
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    /// Span attributes.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// Span events.
    #[prost(message, repeated, tag = "11")]
    pub events: Vec<Event>,
    /// Status.
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

/// `Span.Event`.
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    /// When, ns since the epoch.
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    /// UTF-8.
    #[prost(bytes = "bytes", tag = "2")]
    pub name: Bytes,
    /// Event attributes.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
}

/// `Status`.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    /// UTF-8.
    #[prost(bytes = "bytes", tag = "2")]
    pub message: Bytes,
    /// `StatusCode` number.
    #[prost(int32, tag = "3")]
    pub code: i32,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// UTF-8.
    #[prost(bytes = "bytes", tag = "1")]
    pub key: Bytes,
    /// The value; absent means empty.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// One of the kinds, or none.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The kinds of `AnyValue`.
pub mod any_value {
    use bytes::Bytes;

    /// `AnyValue.value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// UTF-8.
        #[prost(bytes = "bytes", tag = "1")]
        StringValue(Bytes),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// An integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// A float.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// An array.
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        /// A map.
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        /// Raw bytes.
        #[prost(bytes = "bytes", tag = "7")]
        BytesValue(Bytes),
    }
}

/// `ArrayValue`.
#[derive(Clone, PartialEq, Message)]
pub struct ArrayValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `KeyValueList`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValueList {
    /// The entries.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

impl ExportTraceServiceRequest {
    /// The same request read from opentelemetry-proto's types (the JSON, replay and demo paths
    /// build those); one encode and decode, cheap beside the JSON parse before it.
    pub fn from_otlp(
        req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    ) -> Result<Self, prost::DecodeError> {
        Self::decode(Bytes::from(req.encode_to_vec()))
    }

    /// How many spans it holds.
    pub fn span_count(&self) -> usize {
        self.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
    }
}

impl AnyValue {
    /// An array or map as opentelemetry-proto's value, for its JSON form; `None` when a string
    /// inside is not UTF-8.
    pub fn to_otlp(&self) -> Option<opentelemetry_proto::tonic::common::v1::AnyValue> {
        opentelemetry_proto::tonic::common::v1::AnyValue::decode(self.encode_to_vec().as_slice()).ok()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as Otlp;
    use opentelemetry_proto::tonic::common::v1 as otlp_common;
    use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
    use prost::Message;

    use super::any_value::Value;
    use super::*;
    use crate::ingest::convert::{Limits, lean_traces, traces};
    use crate::store::record::AttrRef;

    fn kv(key: &[u8], value: Option<Value>) -> KeyValue {
        KeyValue { key: Bytes::copy_from_slice(key), value: value.map(|v| AnyValue { value: Some(v) }) }
    }

    fn text(s: &[u8]) -> Option<Value> {
        Some(Value::StringValue(Bytes::copy_from_slice(s)))
    }

    fn span(n: u8, name: &[u8], attributes: Vec<KeyValue>) -> Span {
        Span {
            trace_id: Bytes::from(vec![n; 16]),
            span_id: Bytes::from(vec![n; 8]),
            parent_span_id: Bytes::new(),
            name: Bytes::copy_from_slice(name),
            kind: 1,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            attributes,
            events: Vec::new(),
            status: None,
        }
    }

    fn request(resources: Vec<(Vec<KeyValue>, Vec<Span>)>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: resources
                .into_iter()
                .map(|(attributes, spans)| ResourceSpans {
                    resource: Some(Resource { attributes }),
                    scope_spans: vec![ScopeSpans { spans }],
                })
                .collect(),
        }
    }

    #[test]
    fn every_kind_of_value_is_kept() {
        let array = Value::ArrayValue(ArrayValue {
            values: vec![AnyValue { value: text(b"a") }, AnyValue { value: Some(Value::IntValue(2)) }],
        });
        let map = Value::KvlistValue(KeyValueList { values: vec![kv(b"k", Some(Value::BoolValue(true)))] });
        let attrs = vec![
            kv(b"s", text(b"hello")),
            kv(b"i", Some(Value::IntValue(-7))),
            kv(b"d", Some(Value::DoubleValue(0.5))),
            kv(b"b", Some(Value::BoolValue(false))),
            kv(b"raw", Some(Value::BytesValue(Bytes::from_static(&[1, 2, 3])))),
            kv(b"arr", Some(array)),
            kv(b"map", Some(map)),
            kv(b"none", None),
        ];
        let c = lean_traces(
            &request(vec![(vec![kv(b"service.name", text(b"svc"))], vec![span(1, b"x", attrs)])]),
            Limits::default(),
        );
        assert_eq!(c.rejected, 0, "{}", c.message());
        let got: Vec<(String, AttrRef<'_>)> = c.items[0].attrs.iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let want = [
            ("s", AttrRef::Str("hello")),
            ("i", AttrRef::Int(-7)),
            ("d", AttrRef::Double(0.5)),
            ("b", AttrRef::Bool(false)),
            ("raw", AttrRef::Bytes { bytes: 3 }),
            ("arr", AttrRef::Json(r#"["a",2]"#)),
            ("map", AttrRef::Json(r#"{"k":true}"#)),
            ("none", AttrRef::Str("")),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), *v), (wk, wv));
        }
        assert_eq!(c.items[0].resource.service.as_deref(), Some("svc"));
    }

    #[test]
    fn span_names_are_shared_unless_too_long_to_be_names() {
        let long = vec![b'n'; 300];
        let spans = vec![span(1, b"chat", Vec::new()), span(2, b"chat", Vec::new()), span(3, &long, Vec::new())];
        let c = lean_traces(&request(vec![(Vec::new(), spans)]), Limits::default());
        assert!(std::sync::Arc::ptr_eq(&c.items[0].name, &c.items[1].name));
        assert_eq!(c.items[2].name.len(), 300);
        assert_eq!(std::sync::Arc::strong_count(&c.items[2].name), 1, "a 300-byte name is not interned");
    }

    #[test]
    fn invalid_utf8_costs_its_span_or_its_resource_not_the_request() {
        let bad_value = span(1, b"bad-value", vec![kv(b"gen_ai.system", text(b"open\xffai"))]);
        let bad_key = span(2, b"bad-key", vec![kv(b"k\xff", text(b"v"))]);
        let good = span(3, b"good", vec![kv(b"gen_ai.system", text(b"openai"))]);
        let under_bad_resource = span(4, b"orphan", Vec::new());
        let req = request(vec![
            (vec![kv(b"service.name", text(b"svc"))], vec![bad_value, bad_key, good]),
            (vec![kv(b"service.name", text(b"\xfe"))], vec![under_bad_resource]),
        ]);
        let c = lean_traces(&req, Limits::default());
        assert_eq!(c.items.iter().map(|s| &*s.name).collect::<Vec<_>>(), ["good"]);
        assert_eq!(c.rejected, 3);
        let message = c.message();
        assert!(message.contains(r#"span "bad-value": attribute "gen_ai.system" is not UTF-8"#), "{message}");
        assert!(message.contains(r#"span "bad-key": an attribute key is not UTF-8"#), "{message}");
        assert!(message.contains(r#"resource: attribute "service.name" is not UTF-8"#), "{message}");
    }

    #[test]
    fn fields_ingest_does_not_read_are_skipped_and_the_rest_agrees_with_opentelemetry_proto()
    -> Result<(), prost::DecodeError> {
        let full = Otlp {
            resource_spans: vec![otlp_trace::ResourceSpans {
                resource: None,
                scope_spans: vec![otlp_trace::ScopeSpans {
                    scope: Some(otlp_common::InstrumentationScope { name: "lib".into(), ..Default::default() }),
                    spans: vec![otlp_trace::Span {
                        trace_id: vec![9; 16],
                        span_id: vec![8; 8],
                        trace_state: "k=v".into(),
                        name: "call".into(),
                        links: vec![otlp_trace::span::Link { trace_id: vec![7; 16], ..Default::default() }],
                        dropped_attributes_count: 4,
                        ..Default::default()
                    }],
                    schema_url: "https://example.com".into(),
                }],
                schema_url: String::new(),
            }],
        };
        let lean = ExportTraceServiceRequest::decode(Bytes::from(full.encode_to_vec()))?;
        assert_eq!(lean.span_count(), 1);
        let span = &lean.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!((&span.name[..], &span.trace_id[..]), (&b"call"[..], &[9u8; 16][..]));
        let c = traces(&full, Limits::default());
        assert_eq!((c.items.len(), c.rejected), (1, 0));
        assert_eq!(c.items[0].trace_id, [9; 16]);
        Ok(())
    }
}
