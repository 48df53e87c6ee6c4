//! OTLP trace export requests read in place from their protobuf bytes.
//!
//! Decoding into messages (even prost's with `Bytes` strings) allocated a `Vec` per attribute
//! list and counted a reference per key and value, a third of the ingest threads' time. Here
//! the request stays one buffer: [`TraceRequest::parse`] checks its outer structure and counts
//! its spans, and the conversion reads each span's fields as slices of it, checking them as it
//! goes (a malformed span refuses the whole request, as a protobuf decoder would).
//! [`TraceRequest::check`] reads everything without converting: the decode-only ceiling.
//! Fields ingest does not read (scopes, links, trace state, dropped counts) are skipped, as
//! unknown fields are.
//!
//! Repeated occurrences of a singular field follow protobuf's rules: the last scalar wins and
//! messages merge. Group wire types (unused by OTLP) are refused.

use std::fmt;

use bytes::Bytes;

/// Why a request is not a well-formed `ExportTraceServiceRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError(&'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to decode the request: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Deepest nesting of arrays and maps inside an attribute value (prost allows 100 levels of
/// messages in all).
const MAX_VALUE_DEPTH: usize = 64;

/// One field's payload.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: the payload, a slice of the request.
    Len(&'a [u8]),
    /// Wire type 5 (no field the cockpit reads is one: only skipped).
    Fixed32,
}

impl<'a> Field<'a> {
    fn varint(self) -> Result<u64, WireError> {
        match self {
            Self::Varint(v) => Ok(v),
            _ => Err(WireError("a number field has the wrong wire type")),
        }
    }

    fn fixed64(self) -> Result<u64, WireError> {
        match self {
            Self::Fixed64(v) => Ok(v),
            _ => Err(WireError("a fixed64 field has the wrong wire type")),
        }
    }

    fn bytes(self) -> Result<&'a [u8], WireError> {
        match self {
            Self::Len(b) => Ok(b),
            _ => Err(WireError("a length-delimited field has the wrong wire type")),
        }
    }
}

/// A varint; one-byte ones (tags, lengths of short strings, small numbers) without the loop.
#[inline(always)]
fn varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    match buf.split_first() {
        Some((&byte, rest)) if byte < 0x80 => {
            *buf = rest;
            Ok(u64::from(byte))
        }
        _ => long_varint(buf),
    }
}

fn long_varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&byte, rest)) = buf.split_first() else {
            return Err(WireError("a varint runs past the end"));
        };
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError("a varint is longer than ten bytes"))
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    if buf.len() < n {
        return Err(WireError("a field runs past the end of its message"));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn fixed<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], WireError> {
    take(buf, N)?.try_into().map_err(|_| WireError("a fixed-size field is cut short"))
}

/// The fields of one message, in order.
#[derive(Debug, Clone)]
struct Fields<'a>(&'a [u8]);

/// Reads one field off the front of `buf` (inlined: it is most of the reading, and a call
/// per field cost a fifth of it).
#[inline(always)]
fn field<'a>(buf: &mut &'a [u8]) -> Result<(u32, Field<'a>), WireError> {
    let tag = varint(buf)?;
    let number = u32::try_from(tag >> 3).ok().filter(|n| *n != 0).ok_or(WireError("a field number is invalid"))?;
    let field = match tag & 7 {
        0 => Field::Varint(varint(buf)?),
        1 => Field::Fixed64(u64::from_le_bytes(fixed(buf)?)),
        2 => {
            let len = usize::try_from(varint(buf)?).map_err(|_| WireError("a length is too large"))?;
            Field::Len(take(buf, len)?)
        }
        5 => {
            fixed::<4>(buf)?;
            Field::Fixed32
        }
        _ => return Err(WireError("a field has a group or unknown wire type")),
    };
    Ok((number, field))
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Field<'a>), WireError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = field(&mut self.0);
        if item.is_err() {
            self.0 = &[];
        }
        Some(item)
    }
}

/// The smallest part of `body` holding every occurrence of the fields numbered `number`, so
/// that reading them again skips the rest (a span's attributes are one run of fields).
#[derive(Debug, Clone, Copy, Default)]
struct Run(Option<(usize, usize)>);

impl Run {
    fn add(&mut self, from: usize, to: usize) {
        self.0 = Some(self.0.map_or((from, to), |(a, _)| (a, to)));
    }

    fn of(self, body: &[u8]) -> &[u8] {
        self.0.and_then(|(a, b)| body.get(a..b)).unwrap_or_default()
    }
}

/// The payloads of every occurrence of message field `number`.
fn messages(body: &[u8], number: u32) -> impl Iterator<Item = Result<&[u8], WireError>> {
    Fields(body).filter_map(move |f| match f {
        Ok((n, field)) if n == number => Some(field.bytes()),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    })
}

/// One field of a message as it was encoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawField<'a> {
    /// Its number.
    pub number: u32,
    /// Its payload, when length-delimited.
    pub payload: Option<&'a [u8]>,
    /// Its whole encoding, tag included.
    pub raw: &'a [u8],
}

/// Each field of a message as it was encoded, so that a message can be rebuilt from some of
/// its fields.
pub(super) fn raw_fields(body: &[u8]) -> impl Iterator<Item = Result<RawField<'_>, WireError>> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let before = rest;
        Some(match field(&mut rest) {
            Ok((number, f)) => Ok(RawField {
                number,
                payload: if let Field::Len(payload) = f { Some(payload) } else { None },
                raw: &before[..before.len() - rest.len()],
            }),
            Err(e) => {
                rest = &[];
                Err(e)
            }
        })
    })
}

/// A checked `ExportTraceServiceRequest`: the received buffer and how many spans it holds.
#[derive(Debug, Clone, Default)]
pub struct TraceRequest {
    body: Bytes,
    spans: usize,
}

impl TraceRequest {
    /// Takes a request, checking its outer structure (resource and scope blocks) and counting
    /// its spans; the spans themselves are checked as they are read ([`Self::check`] reads
    /// everything without converting).
    pub fn parse(body: Bytes) -> Result<Self, WireError> {
        let mut spans = 0;
        for rs in messages(&body, 1) {
            for span in ResourceSpans::parse(rs?)?.span_bodies() {
                span?;
                spans += 1;
            }
        }
        Ok(Self { body, spans })
    }

    /// A request decoded elsewhere (OTLP/JSON, replay, the demo), encoded once and read like a
    /// received one — cheap beside the parse that produced it.
    pub fn from_otlp(
        req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    ) -> Result<Self, WireError> {
        use prost::Message;
        Self::parse(req.encode_to_vec().into())
    }

    /// Checks the structure of everything the conversion reads, down to nested attribute
    /// values: the decode alone, as the ceiling receiver measures it.
    pub fn check(&self) -> Result<(), WireError> {
        let values = |kv: Result<KeyValue<'_>, WireError>| kv?.value.check(0);
        for rs in self.resource_spans() {
            let rs = rs?;
            rs.attributes().try_for_each(values)?;
            for span in rs.spans() {
                let span = span?;
                span.attributes().try_for_each(values)?;
                for event in span.events() {
                    event?.attributes().try_for_each(values)?;
                }
            }
        }
        Ok(())
    }

    /// How many spans it holds.
    pub fn span_count(&self) -> usize {
        self.spans
    }

    /// Its resource blocks.
    pub fn resource_spans(&self) -> impl Iterator<Item = Result<ResourceSpans<'_>, WireError>> {
        messages(&self.body, 1).map(|rs| ResourceSpans::parse(rs?))
    }
}

/// A `ResourceSpans`: the resource's attributes and the spans of every scope under it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSpans<'a> {
    body: &'a [u8],
}

impl<'a> ResourceSpans<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        for field in Fields(body) {
            let (n, f) = field?;
            if n == 1 || n == 2 {
                f.bytes()?;
            }
        }
        Ok(Self { body })
    }

    /// The resource's attributes (a resource given twice merges: its attributes add up).
    pub fn attributes(&self) -> impl Iterator<Item = Result<KeyValue<'a>, WireError>> + use<'a> {
        nested(self.body, 1, 1).map(|kv| KeyValue::parse(kv?))
    }

    /// The spans of every scope.
    pub fn spans(&self) -> impl Iterator<Item = Result<Span<'a>, WireError>> + use<'a> {
        self.span_bodies().map(|span| Span::parse(span?))
    }

    /// The encoded spans of every scope.
    fn span_bodies(&self) -> impl Iterator<Item = Result<&'a [u8], WireError>> + use<'a> {
        nested(self.body, 2, 2)
    }
}

/// The payloads of message field `inner` inside every occurrence of message field `outer`.
fn nested(body: &[u8], outer: u32, inner: u32) -> impl Iterator<Item = Result<&[u8], WireError>> {
    messages(body, outer).flat_map(move |msg| {
        let (msg, err) = match msg {
            Ok(m) => (m, None),
            Err(e) => (&[][..], Some(Err(e))),
        };
        err.into_iter().chain(messages(msg, inner))
    })
}

/// A span's scalar fields; attributes and events are read from the span when asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span<'a> {
    /// Trace id bytes.
    pub trace_id: &'a [u8],
    /// Span id bytes.
    pub span_id: &'a [u8],
    /// Parent span id bytes (empty for a root).
    pub parent_span_id: &'a [u8],
    /// Name bytes.
    pub name: &'a [u8],
    /// `SpanKind` number.
    pub kind: i32,
    /// Start, ns since the epoch.
    pub start_time_unix_nano: u64,
    /// End, ns since the epoch.
    pub end_time_unix_nano: u64,
    /// Status message bytes.
    pub status_message: &'a [u8],
    /// `StatusCode` number.
    pub status_code: i32,
    /// The part of the span holding its attributes.
    attrs: &'a [u8],
    /// The part holding its events.
    events: &'a [u8],
}

/// An int32/enum field: protobuf sends negatives as ten-byte varints and readers keep the low
/// 32 bits.
fn int32(v: u64) -> i32 {
    v as i32
}

impl<'a> Span<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut span = Self::default();
        let (mut attrs, mut events) = (Run::default(), Run::default());
        let mut rest = body;
        while !rest.is_empty() {
            let at = body.len() - rest.len();
            let (n, f) = field(&mut rest)?;
            let end = body.len() - rest.len();
            match n {
                1 => span.trace_id = f.bytes()?,
                2 => span.span_id = f.bytes()?,
                4 => span.parent_span_id = f.bytes()?,
                5 => span.name = f.bytes()?,
                6 => span.kind = int32(f.varint()?),
                7 => span.start_time_unix_nano = f.fixed64()?,
                8 => span.end_time_unix_nano = f.fixed64()?,
                9 => {
                    f.bytes()?;
                    attrs.add(at, end);
                }
                11 => {
                    f.bytes()?;
                    events.add(at, end);
                }
                15 => {
                    for field in Fields(f.bytes()?) {
                        match field? {
                            (2, f) => span.status_message = f.bytes()?,
                            (3, f) => span.status_code = int32(f.varint()?),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        span.attrs = attrs.of(body);
        span.events = events.of(body);
        Ok(span)
    }

    /// The span's attributes.
    pub fn attributes(&self) -> impl Iterator<Item = Result<KeyValue<'a>, WireError>> + use<'a> {
        KeyValue::all(self.attrs, 9)
    }

    /// The span's events.
    pub fn events(&self) -> impl Iterator<Item = Result<Event<'a>, WireError>> + use<'a> {
        messages(self.events, 11).map(|e| Event::parse(e?))
    }
}

/// A span event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Event<'a> {
    /// When, ns since the epoch.
    pub time_unix_nano: u64,
    /// Name bytes.
    pub name: &'a [u8],
    body: &'a [u8],
}

impl<'a> Event<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut event = Self { body, ..Self::default() };
        for field in Fields(body) {
            match field? {
                (1, f) => event.time_unix_nano = f.fixed64()?,
                (2, f) => event.name = f.bytes()?,
                (3, f) => {
                    f.bytes()?;
                }
                _ => {}
            }
        }
        Ok(event)
    }

    /// The event's attributes.
    pub fn attributes(&self) -> impl Iterator<Item = Result<KeyValue<'a>, WireError>> + use<'a> {
        KeyValue::all(self.body, 3)
    }
}

/// An attribute.
#[derive(Debug, Clone, Copy)]
pub struct KeyValue<'a> {
    /// Key bytes.
    pub key: &'a [u8],
    /// The value.
    pub value: AnyValue<'a>,
}

impl<'a> KeyValue<'a> {
    /// Every `KeyValue` in message field `number` of `body`.
    fn all(body: &'a [u8], number: u32) -> impl Iterator<Item = Result<Self, WireError>> + use<'a> {
        messages(body, number).map(|kv| Self::parse(kv?))
    }

    fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut kv = Self { key: &[], value: AnyValue::Empty };
        for field in Fields(body) {
            match field? {
                (1, f) => kv.key = f.bytes()?,
                (2, f) => kv.value = AnyValue::parse(f.bytes()?, kv.value)?,
                _ => {}
            }
        }
        Ok(kv)
    }
}

/// An attribute value; arrays and maps stay encoded (they are rare, and kept as JSON text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnyValue<'a> {
    /// No value set.
    Empty,
    /// Text bytes (UTF-8 unchecked).
    Str(&'a [u8]),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An encoded `ArrayValue`.
    Array(&'a [u8]),
    /// An encoded `KeyValueList`.
    Kvlist(&'a [u8]),
}

impl<'a> AnyValue<'a> {
    /// Reads an `AnyValue` message over `before` (a message given twice merges: a kind set in
    /// the later one wins).
    fn parse(body: &'a [u8], before: Self) -> Result<Self, WireError> {
        let mut value = before;
        for field in Fields(body) {
            let (n, f) = field?;
            value = match n {
                1 => Self::Str(f.bytes()?),
                2 => Self::Bool(f.varint()? != 0),
                3 => Self::Int(f.varint()? as i64),
                4 => Self::Double(f64::from_bits(f.fixed64()?)),
                5 => Self::Array(f.bytes()?),
                6 => Self::Kvlist(f.bytes()?),
                7 => Self::Bytes(f.bytes()?),
                _ => value,
            };
        }
        Ok(value)
    }

    /// Checks the structure of the arrays and maps inside (`depth` levels down already).
    pub fn check(self, depth: usize) -> Result<(), WireError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(WireError("attribute values are nested too deep"));
        }
        match self {
            Self::Array(body) => {
                for item in messages(body, 1) {
                    Self::parse(item?, Self::Empty)?.check(depth + 1)?;
                }
            }
            Self::Kvlist(body) => {
                for kv in KeyValue::all(body, 1) {
                    kv?.value.check(depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
