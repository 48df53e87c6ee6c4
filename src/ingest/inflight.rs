//! Request bodies being received, held under a share of the memory budget: under overload
//! every sender has a batch in flight, and those bytes are memory the store does not account for.
//! gRPC bodies are charged the size their message header declares ([`Charged`]), OTLP/HTTP
//! bodies their `Content-Length` ([`Inflight::hold`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

/// The bytes of the request bodies being received, against a limit.
#[derive(Debug)]
pub struct Inflight {
    used: AtomicUsize,
    limit: usize,
    refused: AtomicU64,
}

impl Inflight {
    /// A limit of `limit` bytes across all bodies in flight.
    pub fn new(limit: usize) -> Self {
        Self { used: AtomicUsize::new(0), limit, refused: AtomicU64::new(0) }
    }

    /// Takes `n` more bytes for a body that holds `mine` already. Refused (and counted) past the
    /// limit, unless that body is alone in flight: a request larger than the limit would
    /// otherwise never get through, and the request size limit bounds it anyway.
    fn charge(&self, n: usize, mine: usize) -> bool {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used == mine || used.saturating_add(n) <= self.limit).then_some(used.saturating_add(n))
            })
            .is_ok();
        if !taken {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Holds `n` bytes, or `None` (counted as refused) when they do not fit beside the bodies in
    /// flight; alone, any size fits.
    pub fn hold(self: &Arc<Self>, n: usize) -> Option<Hold> {
        self.charge(n, 0).then(|| Hold { gate: Arc::clone(self), n })
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Requests refused so far for want of room.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Bytes held against an [`Inflight`] until dropped.
#[derive(Debug)]
pub struct Hold {
    gate: Arc<Inflight>,
    n: usize,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.gate.release(self.n);
    }
}

/// A gRPC request body charged to an [`Inflight`] and given back when it is dropped (once the
/// request is decoded). The first frame's message header says how long the message is, and that
/// is charged at once: a body that cannot be held is refused before more of it is received, and
/// one that is taken always completes (refusing bodies half-way wasted the halves, and under
/// overload few completed). Past the limit it ends in the error `refusal` makes, which tonic
/// answers with as it is. Without a gate it passes everything through.
pub struct Charged<B> {
    inner: Pin<Box<B>>,
    gate: Option<Arc<Inflight>>,
    /// Bytes charged.
    held: usize,
    /// Bytes received.
    received: usize,
    /// The whole body's size, as its message header declares it (when within `max`).
    declared: Option<usize>,
    max: usize,
    refusal: fn() -> Status,
}

impl<B> Charged<B> {
    /// `body`, charged to `gate` when there is one; a declared size over `max` is not believed
    /// (the request is refused for its size by the codec, as it arrives).
    pub fn new(body: B, gate: Option<Arc<Inflight>>, max: usize, refusal: fn() -> Status) -> Self {
        Self { inner: Box::pin(body), gate, held: 0, received: 0, declared: None, max, refusal }
    }
}

/// The size of a gRPC body from its first bytes: a flag byte, then the message length (u32,
/// big-endian), then the message.
fn declared_size(first: &[u8]) -> Option<usize> {
    let len: [u8; 4] = first.get(1..5)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(len)).ok().map(|n| n.saturating_add(5))
}

impl<B> Body for Charged<B>
where
    B: Body,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Data = B::Data;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let frame = match ready!(this.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            None => return Poll::Ready(None),
        };
        if let (Some(gate), Some(data)) = (&this.gate, frame.data_ref()) {
            if this.received == 0 {
                this.declared = declared_size(data.chunk()).filter(|&n| n <= this.max.saturating_add(5));
            }
            this.received += data.remaining();
            let need = this.received.max(this.declared.unwrap_or(0));
            if need > this.held {
                if !gate.charge(need - this.held, this.held) {
                    return Poll::Ready(Some(Err(Box::new((this.refusal)()))));
                }
                this.held = need;
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for Charged<B> {
    fn drop(&mut self) {
        if let Some(gate) = &self.gate {
            gate.release(self.held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::BodyExt;

    fn body(
        chunks: &[usize],
    ) -> http_body_util::StreamBody<
        impl futures_util::stream::Stream<Item = Result<Frame<Bytes>, std::convert::Infallible>>,
    > {
        let frames: Vec<_> = chunks.iter().map(|&n| Ok(Frame::data(Bytes::from(vec![0u8; n])))).collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    fn refusal() -> Status {
        Status::unavailable("full")
    }

    const MAX: usize = 1 << 20;

    /// A gRPC body declaring a message of `len` bytes, sent in frames of `frames` bytes.
    fn grpc_body(len: u32, frames: &[usize]) -> impl Body<Data = Bytes, Error = std::convert::Infallible> {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.resize(5 + len as usize, 7);
        let mut bytes = Bytes::from(bytes);
        let chunks: Vec<_> = frames.iter().map(|&n| Ok(Frame::data(bytes.split_to(n.min(bytes.len()))))).collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_is_charged_its_declared_size_from_its_first_frame() {
        let gate = Arc::new(Inflight::new(300));
        let mut held = Charged::new(grpc_body(195, &[25, 175]), Some(Arc::clone(&gate)), MAX, refusal);
        assert_eq!(held.frame().await.map(|r| r.is_ok()), Some(true));
        assert_eq!(gate.used(), 200, "the whole declared body is charged at its first frame");

        // The next declares more than is left: refused at its first frame, not half-way.
        let mut next = Charged::new(grpc_body(195, &[25, 175]), Some(Arc::clone(&gate)), MAX, refusal);
        assert!(next.frame().await.is_some_and(|r| r.is_err()));
        assert_eq!((gate.used(), gate.refused()), (200, 1));

        // The one taken completes without being charged again.
        let rest = (&mut held).collect().await.map(|c| c.to_bytes().len()).ok();
        assert_eq!((rest, gate.used()), (Some(175), 200));
        drop((held, next));

        // A declared size over the request limit is not believed: its frames are charged as
        // they come, so the codec, not this gate, refuses the request for its size.
        let mut huge = Charged::new(grpc_body(195, &[25, 175]), Some(Arc::clone(&gate)), 100, refusal);
        assert_eq!(huge.frame().await.map(|r| r.is_ok()), Some(true));
        assert_eq!(gate.used(), 25);
    }

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused_until_the_others_are_done() {
        let gate = Arc::new(Inflight::new(100));
        // A first body alone may pass the limit (else it could never get through).
        let mut first = Charged::new(body(&[60, 60]), Some(Arc::clone(&gate)), MAX, refusal);
        assert_eq!(
            first.frame().await.and_then(Result::ok).and_then(|f| f.into_data().ok()).map(|d| d.len()),
            Some(60)
        );
        assert_eq!(first.frame().await.map(|r| r.is_ok()), Some(true));
        assert_eq!(gate.used(), 120);

        // A second one, while the first is held, is refused with the status given.
        let mut second = Charged::new(body(&[10]), Some(Arc::clone(&gate)), MAX, refusal);
        let err = second.frame().await.and_then(Result::err).expect("refused");
        let status = err.downcast::<Status>().expect("a status");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!((gate.used(), gate.refused()), (120, 1));

        // Once the first is dropped its bytes are given back and the next body goes through.
        drop((first, second));
        assert_eq!(gate.used(), 0);
        let mut third = Charged::new(body(&[40, 50]), Some(Arc::clone(&gate)), MAX, refusal);
        let collected = (&mut third).collect().await.map(|c| c.to_bytes().len()).ok();
        assert_eq!(collected, Some(90));
        assert_eq!(gate.used(), 90);
        drop(third);
        assert_eq!((gate.used(), gate.refused()), (0, 1));
    }

    #[test]
    fn a_hold_fits_beside_the_others_or_is_refused_and_gives_back_its_bytes() {
        let gate = Arc::new(Inflight::new(100));
        let big = gate.hold(150).expect("alone, any size fits");
        assert!(gate.hold(1).is_none());
        assert_eq!((gate.used(), gate.refused()), (150, 1));
        drop(big);
        let a = gate.hold(60).expect("fits");
        assert!(gate.hold(50).is_none());
        let b = gate.hold(40).expect("fits beside");
        assert_eq!((gate.used(), gate.refused()), (100, 2));
        drop((a, b));
        assert_eq!(gate.used(), 0);
    }

    #[tokio::test]
    async fn without_a_gate_everything_passes() {
        let mut b = Charged::new(body(&[1 << 20, 1 << 20]), None, MAX, refusal);
        assert_eq!((&mut b).collect().await.map(|c| c.to_bytes().len()).ok(), Some(2 << 20));
    }
}
