//! OTLP in: gRPC and HTTP receivers, file replay, and the conversion they share.

pub mod body;
pub mod convert;
pub mod grpc;
pub mod http;
pub mod inflight;
pub mod json;
pub mod replay;
pub mod salvage;
pub mod wire;

use prost::Message;

/// `google.rpc.Status`, the error body OTLP/HTTP answers with.
#[derive(Clone, PartialEq, Message, serde::Serialize)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `google.rpc.Code` values used here.
pub mod code {
    /// INVALID_ARGUMENT.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// NOT_FOUND.
    pub const NOT_FOUND: i32 = 5;
    /// RESOURCE_EXHAUSTED.
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// UNAUTHENTICATED.
    pub const UNAUTHENTICATED: i32 = 16;
    /// UNAVAILABLE.
    pub const UNAVAILABLE: i32 = 14;
}

/// Checks an `Authorization` header against the configured ingest token (none = open).
pub fn bearer_ok(expected: Option<&str>, header: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
        return false;
    };
    constant_time_eq(expected.trim().as_bytes(), given.trim().as_bytes())
}

/// Compares without leaking where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
