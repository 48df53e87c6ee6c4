//! A thread's map from interned texts' bytes to what they were interned as, with a small
//! direct-mapped table in front of it.
//!
//! The attribute reader looks up every key and most string values of every span here (~25 per
//! span). The hash map alone cost ~150 instructions a lookup (hashing all the bytes, probing,
//! comparing); the table finds a recent text from its length and first and last eight bytes and
//! one comparison, and falls back to the map when the slot holds another text.

use rustc_hash::FxHashMap;

/// Slots in the direct-mapped table (a power of two).
pub const SLOTS: usize = 1024;

/// One slot of the table: a text and what it was interned as.
type Slot<V> = Option<(&'static [u8], V)>;

/// Interned texts by their bytes.
pub struct ByteCache<V: Copy> {
    recent: Box<[Slot<V>]>,
    all: FxHashMap<&'static [u8], V>,
}

impl<V: Copy> Default for ByteCache<V> {
    fn default() -> Self {
        Self { recent: vec![None; SLOTS].into_boxed_slice(), all: FxHashMap::default() }
    }
}

/// The bytes of a text shorter than eight bytes as one word, without a `memcpy` call: the first
/// and last four bytes (overlapping), or for fewer than four the first, middle and last, which
/// between them are all the bytes — so two texts of one length are equal when their words are.
fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        (Some(head), Some(tail)) => u64::from(u32::from_le_bytes(*head)) | u64::from(u32::from_le_bytes(*tail)) << 32,
        _ if n > 0 => u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
        _ => 0,
    }
}

/// The table slot of `bytes`: a mix of its length and its first and last eight bytes.
#[inline]
pub fn slot(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => (short_word(bytes), 0),
    };
    let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

/// `a == b`, eight bytes at a time and inline: texts here are short, and the library's `memcmp`
/// call cost more than the comparison.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return short_word(a) == short_word(b);
    }
    let word = |c: &[u8]| c.first_chunk::<8>().map(|w| u64::from_le_bytes(*w));
    let body = a.chunks_exact(8).zip(b.chunks_exact(8)).all(|(x, y)| word(x) == word(y));
    body && a.last_chunk::<8>() == b.last_chunk::<8>()
}

impl<V: Copy> ByteCache<V> {
    /// What `bytes` was interned as, if this thread has seen it.
    #[inline]
    pub fn get(&mut self, bytes: &[u8]) -> Option<V> {
        let at = slot(bytes);
        if let Some((text, v)) = self.recent[at]
            && same(text, bytes)
        {
            return Some(v);
        }
        self.get_from_map(at, bytes)
    }

    /// The same from the map, when the table's slot holds another text (kept out of line so
    /// the table's path, taken most of the time, stays small enough to inline).
    #[cold]
    #[inline(never)]
    fn get_from_map(&mut self, at: usize, bytes: &[u8]) -> Option<V> {
        let (&text, &v) = self.all.get_key_value(bytes)?;
        self.recent[at] = Some((text, v));
        Some(v)
    }

    /// Remembers what `text` was interned as.
    pub fn insert(&mut self, text: &'static [u8], v: V) {
        self.recent[slot(text)] = Some((text, v));
        self.all.insert(text, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_text_it_was_given_and_nothing_else() {
        let texts: Vec<&'static [u8]> = (0..5000)
            .map(|i| &*Box::leak(format!("gen_ai.key.{i}").into_bytes().into_boxed_slice()))
            .chain([&b""[..], b"a", b"ab", b"gen_ai.usage.input_tokens", b"gen_ai.usage.output_tokens"])
            .collect();
        let mut cache = ByteCache::default();
        for (i, t) in texts.iter().enumerate() {
            cache.insert(t, i);
        }
        // Twice: the first pass fills the table from the map, the second reads the table, where
        // texts sharing a slot displace each other.
        for _ in 0..2 {
            for (i, t) in texts.iter().enumerate() {
                assert_eq!(cache.get(t), Some(i), "{:?}", String::from_utf8_lossy(t));
            }
        }
        for missing in
            [&b"gen_ai.key.5000"[..], b"gen_ai.key.", b"abc", b"ac", b"abd", b"b", b"gen_ai.usage.input_token"]
        {
            assert_eq!(cache.get(missing), None, "{:?}", String::from_utf8_lossy(missing));
        }
    }

    #[test]
    fn short_texts_are_the_same_exactly_when_their_bytes_are() {
        // Every text of up to nine bytes over a two-letter alphabet, against every other.
        let texts: Vec<Vec<u8>> = (0..10usize)
            .flat_map(|n| (0..1u32 << n).map(move |bits| (0..n).map(|i| b"ab"[(bits >> i) as usize & 1]).collect()))
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same(a, b), a == b, "{:?} {:?}", String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            }
        }
    }
}
