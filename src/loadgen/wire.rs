//! Pre-encoded bodies: each request is encoded once, and a send only copies it, writes a fresh
//! serial over its trace ids and moves its timestamps on to the send's time (at offsets found
//! once), so the generator stays cheap and every send is new, recent data.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// A protobuf body and where its trace ids and timestamps sit in it.
#[derive(Debug, Clone)]
pub struct PreEncoded {
    body: Bytes,
    trace_id_offsets: Vec<usize>,
    time_offsets: Vec<usize>,
}

/// The wire type of a `fixed64` field (every OTLP timestamp is one), in a tag's low three bits.
const FIXED64: u8 = 1;

impl PreEncoded {
    /// Encodes `msg` and finds the bytes of each of `trace_ids` and of each of `times` in it.
    pub fn new(msg: &impl Message, trace_ids: &[[u8; 16]], times: &[u64]) -> Self {
        let body = msg.encode_to_vec();
        let ids: rustc_hash::FxHashSet<&[u8]> = trace_ids.iter().map(|t| &t[..]).collect();
        // A trace id is encoded as tag, length 16, then its bytes; random ids don't occur by chance.
        let trace_id_offsets = (0..body.len().saturating_sub(17))
            .filter(|&at| body[at + 1] == 16 && ids.contains(&body[at + 2..at + 18]))
            .map(|at| at + 2)
            .collect();
        // A timestamp is a fixed64 tag, then its 8 bytes little-endian: nanoseconds of today do
        // not occur by chance among the other bytes either.
        let range = times.iter().min().copied().unwrap_or(u64::MAX)..=times.iter().max().copied().unwrap_or(0);
        let times: rustc_hash::FxHashSet<u64> = times.iter().copied().collect();
        let value_at = |at: usize| body.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let is_time = |v: u64| range.contains(&v) && times.contains(&v);
        let time_offsets = (0..body.len().saturating_sub(8))
            .filter(|&at| body[at] & 7 == FIXED64 && value_at(at + 1).is_some_and(is_time))
            .map(|at| at + 1)
            .collect();
        Self { body: Bytes::from(body), trace_id_offsets, time_offsets }
    }

    /// The body with the first 8 bytes of every trace id replaced by `serial` and every
    /// timestamp moved on by `shift_ns`.
    pub fn stamped(&self, serial: u64, shift_ns: u64) -> Bytes {
        let mut b = BytesMut::from(&self.body[..]);
        for &at in &self.trace_id_offsets {
            b[at..at + 8].copy_from_slice(&serial.to_be_bytes());
        }
        for &at in &self.time_offsets {
            let mut t = [0u8; 8];
            t.copy_from_slice(&b[at..at + 8]);
            b[at..at + 8].copy_from_slice(&u64::from_le_bytes(t).wrapping_add(shift_ns).to_le_bytes());
        }
        b.freeze()
    }

    /// How many trace ids it stamps.
    pub fn stamps(&self) -> usize {
        self.trace_id_offsets.len()
    }

    /// How many timestamps it moves.
    pub fn times(&self) -> usize {
        self.time_offsets.len()
    }
}

/// A gRPC codec that sends already-encoded bytes and decodes the answer as `R`.
#[derive(Debug)]
pub struct RawCodec<R>(std::marker::PhantomData<R>);

impl<R> Default for RawCodec<R> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

/// Writes the bytes as they are.
#[derive(Debug)]
pub struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// Decodes a prost message.
#[derive(Debug)]
pub struct MessageDecoder<R>(std::marker::PhantomData<R>);

impl<R: Message + Default> Decoder for MessageDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        R::decode(src).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

impl<R: Message + Default + Send + 'static> Codec for RawCodec<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = MessageDecoder<R>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> MessageDecoder<R> {
        MessageDecoder(std::marker::PhantomData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::traffic::{
        Shape, batches, shift_log_times, shift_point_times, shift_trace_times, stamp_log_trace_ids, stamp_trace_ids,
    };
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    const SERIAL: u64 = 0xDEAD_BEEF_0000_0007;
    const SHIFT: u64 = 93_000_000_007;

    #[test]
    fn stamping_the_bytes_equals_stamping_the_message() -> Result<(), prost::DecodeError> {
        let b = &batches(2, 8, &Shape::default())[1];
        let (ids, times) = (b.trace_ids(), b.times());
        let pre = PreEncoded::new(&b.traces, &ids, &times);
        assert_eq!(pre.stamps(), ids.len(), "one offset per span");
        let events: usize = b
            .traces
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.events.len())
            .sum();
        assert_eq!(pre.times(), 2 * ids.len() + events, "a start and an end per span, a time per event");
        let mut expected = b.traces.clone();
        stamp_trace_ids(&mut expected, SERIAL);
        shift_trace_times(&mut expected, SHIFT);
        assert_eq!(ExportTraceServiceRequest::decode(pre.stamped(SERIAL, SHIFT))?, expected);

        let logs = PreEncoded::new(&b.logs, &ids, &times);
        assert!(logs.times() > 0);
        let mut expected = b.logs.clone();
        stamp_log_trace_ids(&mut expected, SERIAL);
        shift_log_times(&mut expected, SHIFT);
        assert_eq!(ExportLogsServiceRequest::decode(logs.stamped(SERIAL, SHIFT))?, expected);

        let points = PreEncoded::new(&b.metrics, &[], &times);
        assert!(points.times() > 0);
        let mut expected = b.metrics.clone();
        shift_point_times(&mut expected, SHIFT);
        assert_eq!(ExportMetricsServiceRequest::decode(points.stamped(SERIAL, SHIFT))?, expected);
        Ok(())
    }
}
