//! Pre-encoded bodies: each request is encoded once, and a send only copies it and writes a fresh
//! serial over its trace ids (at offsets found once), so the generator stays cheap.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// A protobuf body and where its trace ids sit in it.
#[derive(Debug, Clone)]
pub struct PreEncoded {
    body: Bytes,
    trace_id_offsets: Vec<usize>,
}

impl PreEncoded {
    /// Encodes `msg` and finds the bytes of each of `trace_ids` in it.
    pub fn new(msg: &impl Message, trace_ids: &[[u8; 16]]) -> Self {
        let body = msg.encode_to_vec();
        let ids: rustc_hash::FxHashSet<&[u8]> = trace_ids.iter().map(|t| &t[..]).collect();
        // A trace id is encoded as tag, length 16, then its bytes; random ids don't occur by chance.
        let trace_id_offsets = (0..body.len().saturating_sub(17))
            .filter(|&at| body[at + 1] == 16 && ids.contains(&body[at + 2..at + 18]))
            .map(|at| at + 2)
            .collect();
        Self { body: Bytes::from(body), trace_id_offsets }
    }

    /// The body with the first 8 bytes of every trace id replaced by `serial`.
    pub fn stamped(&self, serial: u64) -> Bytes {
        let mut b = BytesMut::from(&self.body[..]);
        for &at in &self.trace_id_offsets {
            b[at..at + 8].copy_from_slice(&serial.to_be_bytes());
        }
        b.freeze()
    }

    /// How many trace ids it stamps.
    pub fn stamps(&self) -> usize {
        self.trace_id_offsets.len()
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
    use crate::loadgen::traffic::{Shape, batches, stamp_trace_ids};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    #[test]
    fn stamping_the_bytes_equals_stamping_the_message() {
        let b = &batches(2, 8, &Shape::default())[1];
        let ids = b.trace_ids();
        let pre = PreEncoded::new(&b.traces, &ids);
        assert_eq!(pre.stamps(), ids.len(), "one offset per span");
        let mut expected = b.traces.clone();
        stamp_trace_ids(&mut expected, 0xDEAD_BEEF_0000_0007);
        let got = ExportTraceServiceRequest::decode(pre.stamped(0xDEAD_BEEF_0000_0007));
        assert_eq!(got.ok(), Some(expected));
    }
}
