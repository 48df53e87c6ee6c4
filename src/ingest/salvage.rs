//! Protobuf metrics and logs requests that prost refuses as a whole keep their good records.
//!
//! A request is decoded whole first, so the usual case costs nothing more. When that fails (a
//! log body or a metric name that is not UTF-8, a record with a field of the wrong type), the
//! request is walked down to its records (resource → scope → record), each record is decoded
//! on its own, and the request is rebuilt without the refused ones, which are counted for the
//! partial-success answer (DESIGN §4: a batch with some unusable items keeps the good ones).
//! As in the JSON reader, a resource that cannot be read refuses its records, and a scope that
//! cannot be read loses its name but keeps its records. A request whose structure is broken
//! above the records (cut short, garbage) is refused whole.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::json::Decoded;
use super::wire::{RawField, WireError, raw_fields};

/// The field holding the next level down, at every level of both requests (resource_logs and
/// resource_metrics are 1 in the request; scopes and records are 2 in their parents).
const RESOURCES: u32 = 1;
const SCOPES: u32 = 2;
const RECORDS: u32 = 2;

/// A request of records under scopes under resources.
pub trait Nested: Message + Default {
    /// One resource's part (`ResourceLogs`).
    type Resource: Message + Default;
    /// One scope's part (`ScopeLogs`).
    type Scope: Message + Default;
    /// One record (`LogRecord`).
    type Record: Message + Default;
    /// The three fields' names, for the reasons given back.
    const NAMES: [&'static str; 3];
    /// How many items a record counts for in the partial-success answer.
    fn items_in(record: &[u8]) -> u64;
}

impl Nested for ExportLogsServiceRequest {
    type Resource = ResourceLogs;
    type Scope = ScopeLogs;
    type Record = LogRecord;
    const NAMES: [&'static str; 3] = ["resource_logs", "scope_logs", "log_records"];

    fn items_in(_: &[u8]) -> u64 {
        1
    }
}

impl Nested for ExportMetricsServiceRequest {
    type Resource = ResourceMetrics;
    type Scope = ScopeMetrics;
    type Record = Metric;
    const NAMES: [&'static str; 3] = ["resource_metrics", "scope_metrics", "metrics"];

    /// Its data points (gauge 5, sum 7, histogram 9, exponential histogram 10, summary 11 each
    /// hold them in field 1), at least one: the answer counts data points.
    fn items_in(record: &[u8]) -> u64 {
        let points = raw_fields(record)
            .map_while(Result::ok)
            .filter_map(|f| f.payload.filter(|_| matches!(f.number, 5 | 7 | 9 | 10 | 11)))
            .flat_map(|data| raw_fields(data).map_while(Result::ok).filter(|f| f.number == 1))
            .count();
        (points as u64).max(1)
    }
}

/// Decodes a protobuf request, leaving out and counting the records that cannot be decoded.
pub fn decode<R: Nested>(body: Bytes) -> Result<Decoded<R>, String> {
    let whole = match R::decode(body.clone()) {
        Ok(request) => return Ok(Decoded { request, rejected: 0, errors: Vec::new() }),
        Err(e) => e,
    };
    let refused = || format!("invalid protobuf: {whole}");
    let mut out = Decoded { request: (), rejected: 0, errors: Vec::new() };
    let rebuilt = rebuild::<R>(&body, &mut out).map_err(|_| refused())?;
    let request = R::decode(rebuilt.as_slice()).map_err(|_| refused())?;
    Ok(Decoded { request, rejected: out.rejected, errors: out.errors })
}

/// Appends a length-delimited field.
fn put(buf: &mut Vec<u8>, number: u32, payload: &[u8]) {
    encode_key(number, WireType::LengthDelimited, buf);
    encode_varint(payload.len() as u64, buf);
    buf.extend_from_slice(payload);
}

/// A message split into the fields holding the next level down and the rest (its envelope).
fn split(body: &[u8], children: u32) -> Result<(Vec<u8>, Vec<&[u8]>), WireError> {
    let mut envelope = Vec::new();
    let mut parts = Vec::new();
    for f in raw_fields(body) {
        match f? {
            RawField { number, payload: Some(payload), .. } if number == children => parts.push(payload),
            RawField { raw, .. } => envelope.extend_from_slice(raw),
        }
    }
    Ok((envelope, parts))
}

fn rebuild<R: Nested>(body: &[u8], out: &mut Decoded<()>) -> Result<Vec<u8>, WireError> {
    let [resources_name, scopes_name, records_name] = R::NAMES;
    let (mut request, resources) = split(body, RESOURCES)?;
    for (ri, resource) in resources.into_iter().enumerate() {
        let (mut envelope, scopes) = split(resource, SCOPES)?;
        let scopes: Vec<(Vec<u8>, Vec<&[u8]>)> =
            scopes.into_iter().map(|s| split(s, RECORDS)).collect::<Result<_, _>>()?;
        if let Err(e) = R::Resource::decode(envelope.as_slice()) {
            let n = scopes.iter().flat_map(|(_, records)| records).map(|r| R::items_in(r)).sum::<u64>();
            if n > 0 {
                out.reject(n, format!("{resources_name}[{ri}].resource: {e}"));
            }
            continue;
        }
        for (si, (scope, records)) in scopes.into_iter().enumerate() {
            let mut kept = if R::Scope::decode(scope.as_slice()).is_ok() { scope } else { Vec::new() };
            for (i, record) in records.into_iter().enumerate() {
                match R::Record::decode(record) {
                    Ok(_) => put(&mut kept, RECORDS, record),
                    Err(e) => out.reject(
                        R::items_in(record),
                        format!("{resources_name}[{ri}].{scopes_name}[{si}].{records_name}[{i}]: {e}"),
                    ),
                }
            }
            put(&mut envelope, SCOPES, &kept);
        }
        put(&mut request, RESOURCES, &envelope);
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::{Gauge, NumberDataPoint, Sum};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    use super::*;

    fn text(s: &str) -> Option<AnyValue> {
        Some(AnyValue { value: Some(Value::StringValue(s.into())) })
    }

    fn log(body: &str) -> LogRecord {
        LogRecord { body: text(body), time_unix_nano: 1, ..Default::default() }
    }

    fn resource(service: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![KeyValue { key: "service.name".into(), value: text(service), ..Default::default() }],
            ..Default::default()
        })
    }

    /// Scopes by name, with their records.
    type Scopes<'a> = Vec<(&'a str, Vec<LogRecord>)>;

    fn logs(resources: Vec<(&str, Scopes<'_>)>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: resources
                .into_iter()
                .map(|(service, scopes)| ResourceLogs {
                    resource: resource(service),
                    scope_logs: scopes
                        .into_iter()
                        .map(|(scope, log_records)| ScopeLogs {
                            scope: Some(InstrumentationScope { name: scope.into(), ..Default::default() }),
                            log_records,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// The encoding with every occurrence of each marker made invalid UTF-8 (its last byte 0xff).
    fn spoil(request: &impl Message, markers: &[&[u8]]) -> Bytes {
        let mut bytes = request.encode_to_vec();
        for marker in markers {
            let mut at = 0;
            while let Some(i) = bytes[at..].windows(marker.len()).position(|w| w == *marker) {
                bytes[at + i + marker.len() - 1] = 0xff;
                at += i + marker.len();
            }
        }
        Bytes::from(bytes)
    }

    /// The salvaged request; a refusal shows as `u64::MAX` rejected, with its reason.
    fn salvaged<R: Nested>(body: Bytes) -> Decoded<R> {
        decode(body).unwrap_or_else(|e| Decoded { request: R::default(), rejected: u64::MAX, errors: vec![e] })
    }

    fn bodies(request: &ExportLogsServiceRequest) -> Vec<String> {
        let all = request.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records);
        all.filter_map(|l| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
    }

    #[test]
    fn a_log_record_that_is_not_utf8_is_left_out_and_its_neighbours_kept() {
        let request = logs(vec![
            ("triage", vec![("sdk", vec![log("one"), log("BAD_"), log("two")])]),
            ("billing", vec![("sdk", vec![log("three")]), ("other", vec![log("BAD_"), log("four")])]),
        ]);
        let body = spoil(&request, &[b"BAD_"]);
        assert!(ExportLogsServiceRequest::decode(body.clone()).is_err(), "prost must refuse the whole");
        let d = salvaged::<ExportLogsServiceRequest>(body);
        assert_eq!(d.rejected, 2, "{:?}", d.errors);
        assert_eq!(bodies(&d.request), ["one", "two", "three", "four"]);
        assert!(d.errors[0].starts_with("resource_logs[0].scope_logs[0].log_records[1]: "), "{:?}", d.errors);
        assert!(d.errors[1].starts_with("resource_logs[1].scope_logs[1].log_records[0]: "), "{:?}", d.errors);
        // Resources and scopes keep what they said.
        let r = &d.request.resource_logs[1];
        assert_eq!(r.resource, resource("billing"));
        assert_eq!(
            r.scope_logs.iter().map(|s| s.scope.as_ref().map(|s| s.name.as_str())).collect::<Vec<_>>(),
            [Some("sdk"), Some("other")]
        );
    }

    #[test]
    fn an_unreadable_resource_refuses_its_records_and_an_unreadable_scope_only_its_name() {
        let request = logs(vec![
            ("BAD_", vec![("sdk", vec![log("one"), log("two")]), ("x", vec![log("three")])]),
            ("billing", vec![("NAME_", vec![log("four")])]),
        ]);
        let d = salvaged::<ExportLogsServiceRequest>(spoil(&request, &[b"BAD_", b"NAME_"]));
        assert_eq!(d.rejected, 3, "{:?}", d.errors);
        assert!(d.errors[0].starts_with("resource_logs[0].resource: "), "{:?}", d.errors);
        assert_eq!(bodies(&d.request), ["four"]);
        assert_eq!(d.request.resource_logs[0].scope_logs[0].scope, None);
    }

    #[test]
    fn a_refused_metric_counts_its_data_points() {
        let point = |v: f64| NumberDataPoint {
            value: Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(v)),
            ..Default::default()
        };
        let metric = |name: &str, data: Data| Metric { name: name.into(), data: Some(data), ..Default::default() };
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: resource("triage"),
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        metric("good", Data::Gauge(Gauge { data_points: vec![point(1.0)] })),
                        metric(
                            "BAD_",
                            Data::Sum(Sum {
                                data_points: vec![point(1.0), point(2.0), point(3.0)],
                                ..Default::default()
                            }),
                        ),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let d = salvaged::<ExportMetricsServiceRequest>(spoil(&request, &[b"BAD_"]));
        assert_eq!(d.rejected, 3, "{:?}", d.errors);
        let names: Vec<&str> =
            d.request.resource_metrics[0].scope_metrics[0].metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["good"]);
    }

    #[test]
    fn a_request_broken_above_its_records_is_refused_whole_and_a_good_one_is_untouched() {
        let request = logs(vec![("triage", vec![("sdk", vec![log("one"), log("two")])])]);
        let good = Bytes::from(request.encode_to_vec());
        let d = decode::<ExportLogsServiceRequest>(good.clone());
        assert!(matches!(&d, Ok(d) if d.rejected == 0 && d.request == request), "{d:?}");
        let cut = good.slice(..good.len() - 3);
        let e = decode::<ExportLogsServiceRequest>(cut);
        assert!(matches!(&e, Err(m) if m.starts_with("invalid protobuf: ")), "{e:?}");
        let garbage: Vec<u8> = (0..512u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(decode::<ExportMetricsServiceRequest>(Bytes::from(garbage)).is_err());
    }
}
