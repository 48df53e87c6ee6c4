//! The reader against prost: requests encoded by prost-derived messages that, unlike
//! opentelemetry-proto's, can carry invalid UTF-8; and the loadgen's traffic read both ways.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as Otlp;
use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use prost::Message;

use super::{TraceRequest, WireError};
use crate::ingest::convert::{Converted, Limits, traces, wire_traces};
use crate::store::record::AttrRef;
use crate::store::record::SpanRecord;
use any_value::Value;

/// What a sender puts on the wire, strings as raw bytes.
mod sent {
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
        #[allow(clippy::enum_variant_names, reason = "the variants are named as in the OTLP proto")]
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
}

use sent::*;

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

/// The request as the receivers read it.
fn read(req: &ExportTraceServiceRequest) -> Result<Converted<SpanRecord>, WireError> {
    wire_traces(&TraceRequest::parse(Bytes::from(req.encode_to_vec()))?, Limits::default())
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
fn every_kind_of_value_is_kept() -> Result<(), WireError> {
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
    let c = read(&request(vec![(vec![kv(b"service.name", text(b"svc"))], vec![span(1, b"x", attrs)])]))?;
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
    Ok(())
}

#[test]
fn span_names_are_shared_unless_too_long_to_be_names() -> Result<(), WireError> {
    let long = vec![b'n'; 300];
    let spans = vec![span(1, b"chat", Vec::new()), span(2, b"chat", Vec::new()), span(3, &long, Vec::new())];
    let c = read(&request(vec![(Vec::new(), spans)]))?;
    assert!(crate::model::Text::ptr_eq(&c.items[0].name, &c.items[1].name));
    assert_eq!(c.items[2].name.len(), 300);
    assert_eq!(crate::model::Text::strong_count(&c.items[2].name), Some(1), "a 300-byte name is not interned");
    Ok(())
}

#[test]
fn invalid_utf8_costs_its_span_or_its_resource_not_the_request() -> Result<(), WireError> {
    let bad_value = span(1, b"bad-value", vec![kv(b"gen_ai.system", text(b"open\xffai"))]);
    let bad_key = span(2, b"bad-key", vec![kv(b"k\xff", text(b"v"))]);
    let good = span(3, b"good", vec![kv(b"gen_ai.system", text(b"openai"))]);
    let under_bad_resource = span(4, b"orphan", Vec::new());
    let req = request(vec![
        (vec![kv(b"service.name", text(b"svc"))], vec![bad_value, bad_key, good]),
        (vec![kv(b"service.name", text(b"\xfe"))], vec![under_bad_resource]),
    ]);
    let c = read(&req)?;
    assert_eq!(c.items.iter().map(|s| &*s.name).collect::<Vec<_>>(), ["good"]);
    assert_eq!(c.rejected, 3);
    let message = c.message();
    assert!(message.contains(r#"span "bad-value": attribute "gen_ai.system" is not UTF-8"#), "{message}");
    assert!(message.contains(r#"span "bad-key": an attribute key is not UTF-8"#), "{message}");
    assert!(message.contains(r#"resource: attribute "service.name" is not UTF-8"#), "{message}");
    Ok(())
}

#[test]
fn fields_ingest_does_not_read_are_skipped_and_the_rest_agrees_with_opentelemetry_proto() -> Result<(), WireError> {
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
    let req = TraceRequest::parse(Bytes::from(full.encode_to_vec()))?;
    assert_eq!(req.span_count(), 1);
    let spans =
        req.resource_spans().map(|rs| rs?.spans().collect::<Result<Vec<_>, _>>()).collect::<Result<Vec<_>, _>>()?;
    let span = &spans[0][0];
    assert_eq!((span.name, span.trace_id), (&b"call"[..], &[9u8; 16][..]));
    let c = traces(&full, Limits::default());
    assert_eq!((c.items.len(), c.rejected), (1, 0));
    assert_eq!(c.items[0].trace_id, [9; 16]);
    Ok(())
}

#[test]
fn the_loadgen_traffic_reads_as_prost_reads_it() -> Result<(), WireError> {
    for (spans, otlp) in crate::loadgen::bench_requests(4, 16) {
        let req = TraceRequest::parse(Bytes::from(otlp.encode_to_vec()))?;
        assert_eq!(req.span_count() as u64, spans);
        let sent: Vec<&otlp_trace::Span> =
            otlp.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect();
        let mut read = Vec::new();
        for rs in req.resource_spans() {
            read.extend(rs?.spans());
        }
        assert_eq!(read.len(), sent.len());
        for (got, want) in read.into_iter().zip(sent) {
            let got = got?;
            assert_eq!(
                (got.trace_id, got.span_id, got.parent_span_id),
                (&want.trace_id[..], &want.span_id[..], &want.parent_span_id[..])
            );
            assert_eq!((got.name, got.kind), (want.name.as_bytes(), want.kind));
            assert_eq!(
                (got.start_time_unix_nano, got.end_time_unix_nano),
                (want.start_time_unix_nano, want.end_time_unix_nano)
            );
            let status = want.status.clone().unwrap_or_default();
            assert_eq!((got.status_message, got.status_code), (status.message.as_bytes(), status.code));
            let attrs = got.attributes().collect::<Result<Vec<_>, _>>()?;
            assert_eq!(attrs.len(), want.attributes.len());
            for (a, w) in attrs.iter().zip(&want.attributes) {
                assert_eq!(a.key, w.key.as_bytes());
                let value = match w.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(otlp_common::any_value::Value::StringValue(s)) => super::AnyValue::Str(s.as_bytes()),
                    Some(otlp_common::any_value::Value::IntValue(i)) => super::AnyValue::Int(*i),
                    Some(otlp_common::any_value::Value::DoubleValue(d)) => super::AnyValue::Double(*d),
                    Some(otlp_common::any_value::Value::BoolValue(b)) => super::AnyValue::Bool(*b),
                    _ => a.value,
                };
                assert_eq!(a.value, value, "{:?}", w.key);
            }
            let events = got.events().collect::<Result<Vec<_>, _>>()?;
            assert_eq!(events.len(), want.events.len());
            for (e, w) in events.iter().zip(&want.events) {
                assert_eq!((e.name, e.time_unix_nano), (w.name.as_bytes(), w.time_unix_nano));
                assert_eq!(e.attributes().count(), w.attributes.len());
            }
        }
    }
    Ok(())
}

#[test]
fn malformed_requests_are_refused_whole() {
    let good =
        request(vec![(vec![kv(b"service.name", text(b"svc"))], vec![span(1, b"x", vec![kv(b"k", text(b"v"))])])])
            .encode_to_vec();
    assert!(TraceRequest::parse(Bytes::from(good.clone())).is_ok());
    for cut in [1, good.len() / 2, good.len() - 1] {
        let e = TraceRequest::parse(Bytes::copy_from_slice(&good[..cut]));
        assert!(e.is_err(), "cut at {cut} of {}", good.len());
    }
    // A group (wire type 3), a varint where a message belongs, an eleven-byte varint.
    for bad in [
        &[0x0b_u8][..],
        &[0x08, 0x01],
        &[0x0a, 0x02, 0x08, 0x80],
        &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ] {
        let e = TraceRequest::parse(Bytes::copy_from_slice(bad));
        assert!(e.is_err(), "{bad:?} read as {e:?}");
    }
    // An attribute value that is a map nested deeper than any real one.
    let mut value = AnyValue { value: text(b"leaf") };
    for _ in 0..80 {
        value = AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![KeyValue { key: Bytes::from_static(b"k"), value: Some(value) }],
            })),
        };
    }
    let deep = request(vec![(
        Vec::new(),
        vec![span(1, b"x", vec![KeyValue { key: Bytes::from_static(b"deep"), value: Some(value) }])],
    )]);
    let deep = TraceRequest::parse(Bytes::from(deep.encode_to_vec())).map_err(|e| e.to_string());
    let too_deep = "failed to decode the request: attribute values are nested too deep".to_owned();
    assert_eq!(deep.clone().and_then(|r| r.check().map_err(|e| e.to_string())), Err(too_deep.clone()));
    let converted =
        deep.and_then(|r| wire_traces(&r, Limits::default()).map(|c| c.items.len()).map_err(|e| e.to_string()));
    assert_eq!(converted, Err(too_deep), "the conversion refuses what the check refuses");
    // A span whose attribute list breaks off: the outer structure reads, the span does not.
    let mut broken = span(1, b"x", Vec::new()).encode_to_vec();
    broken.extend([0x4a, 0x02, 0x0a, 0x05]);
    // resource_spans { scope_spans { spans: <broken> } }, by hand.
    let mut body = Vec::new();
    let mut scope = vec![0x12, broken.len() as u8];
    scope.extend(&broken);
    let mut rs = vec![0x12, scope.len() as u8];
    rs.extend(scope);
    body.push(0x0a);
    body.push(rs.len() as u8);
    body.extend(rs);
    let req = TraceRequest::parse(Bytes::from(body)).map_err(|e| e.to_string());
    assert_eq!(req.as_ref().map(TraceRequest::span_count), Ok(1));
    assert!(req.is_ok_and(|r| r.check().is_err() && wire_traces(&r, Limits::default()).is_err()));
}

#[test]
fn a_value_sent_twice_merges_as_protobuf_says() -> Result<(), WireError> {
    // KeyValue{key: "k", value: {string "a"}, value: {int 5}}: the later kind wins.
    let mut kv = vec![0x0a, 0x01, b'k', 0x12, 0x03, 0x0a, 0x01, b'a', 0x12, 0x02, 0x18, 0x05];
    let mut span_body = vec![0x0a, 16];
    span_body.extend([1u8; 16]);
    span_body.extend([0x12, 8]);
    span_body.extend([2u8; 8]);
    span_body.push(0x4a);
    span_body.push(kv.len() as u8);
    span_body.append(&mut kv);
    let mut scope = vec![0x12, span_body.len() as u8];
    scope.extend(span_body);
    let mut rs = vec![0x12, scope.len() as u8];
    rs.extend(scope);
    let mut body = vec![0x0a, rs.len() as u8];
    body.extend(rs);
    let c = wire_traces(&TraceRequest::parse(Bytes::from(body))?, Limits::default())?;
    assert_eq!(c.rejected, 0, "{}", c.message());
    assert_eq!(
        c.items[0].attrs.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>(),
        [("k".to_owned(), crate::store::record::AttrValue::Int(5))]
    );
    Ok(())
}
