//! Request bodies: content encodings, with the size limit applied after decompression.

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit (before or after decompression).
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// Said to be gzip, but is not valid gzip.
    BadGzip(String),
    /// A `Content-Encoding` we do not speak.
    UnsupportedEncoding(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { limit } => {
                write!(f, "request body exceeds the limit of {limit} bytes (after decompression)")
            }
            Self::BadGzip(e) => write!(f, "body is not valid gzip: {e}"),
            Self::UnsupportedEncoding(e) => write!(f, "unsupported Content-Encoding {e:?} (use gzip or identity)"),
        }
    }
}

/// Decodes a body by its `Content-Encoding`; inflation stops one byte past the limit, so a
/// gzip bomb costs at most `limit` bytes of memory.
pub fn decode(raw: &[u8], encoding: Option<&str>, limit: usize) -> Result<Vec<u8>, BodyError> {
    if raw.len() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Ok(raw.to_vec()),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity((raw.len() * 4).min(limit));
            MultiGzDecoder::new(raw)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| BodyError::BadGzip(e.to_string()))?;
            if out.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            Ok(out)
        }
        Some(other) => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).expect("write to vec");
        enc.finish().expect("finish gzip")
    }

    #[test]
    fn gzip_round_trip_and_identity() {
        assert_eq!(decode(&gzip(b"hello"), Some("gzip"), 100), Ok(b"hello".to_vec()));
        assert_eq!(decode(b"hello", None, 100), Ok(b"hello".to_vec()));
        assert_eq!(decode(b"hello", Some("identity"), 100), Ok(b"hello".to_vec()));
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 << 10, "compresses well");
        assert_eq!(decode(&bomb, Some("gzip"), 1 << 20), Err(BodyError::TooLarge { limit: 1 << 20 }));
    }

    #[test]
    fn bad_gzip_and_unknown_encodings() {
        assert!(matches!(decode(b"not gzip", Some("gzip"), 100), Err(BodyError::BadGzip(_))));
        assert!(matches!(decode(b"x", Some("br"), 100), Err(BodyError::UnsupportedEncoding(_))));
        assert_eq!(decode(&[0; 101], None, 100), Err(BodyError::TooLarge { limit: 100 }));
    }
}
