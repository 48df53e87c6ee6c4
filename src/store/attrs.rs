//! Attributes packed into one allocation: keys interned once for the process, values inline.
//!
//! A hot span's ~15 attributes were ~30 allocations and ~1 KB as owned pairs; packed they are
//! one buffer of a few hundred bytes, cheap to build on the ingest threads and to free.
//!
//! Layout, per attribute: a tag byte (value kind in the low 3 bits, bit 3 set when the key is
//! written inline), the key (u16 id, or varint length + bytes), then the value: varint length +
//! bytes for text, a varint id for an interned text, zig-zag varint for integers, 8 bytes for
//! floats, 1 byte for booleans.
//!
//! Short text values are interned per key until that key has shown `VALUES_PER_KEY` distinct
//! values: models, providers, operation names and file paths become ids, while ids and free
//! text (which would only fill the interner) stay inline.

use std::cell::{Cell, RefCell};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

use lasso::{MiniSpur, Spur, ThreadedRodeo};
// Interning sits on the ingest path: FxHash, not SipHash (the keys are not secrets, and a
// flood of colliding keys only fills the bounded interner).
use rustc_hash::FxBuildHasher;
use serde::Serialize;

use super::byte_cache::ByteCache;
use super::record::AttrValue;
use crate::semconv::{AttrList, Value};

/// Keys longer than this are written inline (real keys are short; this bounds the interner).
const MAX_INTERNED_KEY: usize = 128;

/// Every attribute key seen, as a u16 id; at most 65,535 keys, then keys are written inline.
static KEYS: LazyLock<ThreadedRodeo<MiniSpur, FxBuildHasher>> =
    LazyLock::new(|| ThreadedRodeo::with_hasher(FxBuildHasher));

/// Interned text values (see the module comment).
static VALUES: LazyLock<ThreadedRodeo<Spur, FxBuildHasher>> =
    LazyLock::new(|| ThreadedRodeo::with_hasher(FxBuildHasher));
/// Distinct values interned per key id.
static VALUES_OF_KEY: LazyLock<Box<[AtomicU16]>> =
    LazyLock::new(|| (0..=u16::MAX).map(|_| AtomicU16::new(0)).collect());
/// Bytes of interned values, to stop interning at `MAX_VALUE_BYTES`.
static VALUE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A key with more distinct values than this is high-cardinality: its values stay inline.
const VALUES_PER_KEY: u16 = 512;
/// Longest value interned.
const MAX_INTERNED_VALUE: usize = 64;
/// All interned values together stay under this.
const MAX_VALUE_BYTES: usize = 16 << 20;

const STR: u8 = 0;
const CUT: u8 = 1;
const INT: u8 = 2;
const DOUBLE: u8 = 3;
const BOOL: u8 = 4;
const JSON: u8 = 5;
const BYTES: u8 = 6;
const INTERNED: u8 = 7;
const INLINE_KEY: u8 = 8;

/// A borrowed attribute value, as read from a packed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrRef<'a> {
    /// A string.
    Str(&'a str),
    /// A string longer than the limit: its first bytes and its full size.
    Truncated {
        /// The kept prefix.
        prefix: &'a str,
        /// The size of the whole value, bytes.
        original_bytes: usize,
    },
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Arrays and maps, as JSON text.
    Json(&'a str),
    /// Bytes: only their size.
    Bytes {
        /// How many.
        bytes: usize,
    },
}

impl AttrRef<'_> {
    /// An owned copy.
    pub fn to_owned(self) -> AttrValue {
        match self {
            Self::Str(s) => AttrValue::Str(s.into()),
            Self::Truncated { prefix, original_bytes } => {
                AttrValue::Truncated { prefix: prefix.into(), original_bytes }
            }
            Self::Int(i) => AttrValue::Int(i),
            Self::Double(d) => AttrValue::Double(d),
            Self::Bool(b) => AttrValue::Bool(b),
            Self::Json(s) => AttrValue::Json(s.into()),
            Self::Bytes { bytes } => AttrValue::Bytes { bytes },
        }
    }
}

/// Packed attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(Box<[u8]>);

/// Builds an `Attrs`.
#[derive(Debug, Default)]
pub struct AttrsBuilder {
    buf: Vec<u8>,
}

/// What this thread has already looked up in the shared interners, which take a shard lock on
/// every lookup (a tenth of the ingest threads' time before this cache). Keys are found by
/// their bytes, so a key seen before needs neither its UTF-8 check nor a second lookup.
#[derive(Default)]
struct Local {
    keys: ByteCache<(&'static str, MiniSpur)>,
    /// By bytes too: a value found here needs no UTF-8 check (`known_value`).
    values: ByteCache<(&'static str, Spur)>,
}

/// Largest spare buffer a thread keeps (one span with huge attributes should not pin its size).
const MAX_SPARE: usize = 64 << 10;

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
    /// The buffer the last builder on this thread packed into, for the next one: packing into a
    /// fresh `Vec` regrew it and then shrank it to size (two reallocations per span); now every
    /// `Attrs` is one allocation of its exact size.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An attribute key: interned (its text and id), or written out with the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'k> {
    /// An interned key.
    Interned(&'static str, MiniSpur),
    /// A key too long to intern, or one past the interner's capacity.
    Inline(&'k str),
}

impl<'k> KeyRef<'k> {
    /// The key for `bytes`, or `None` when they are not UTF-8 (checked only the first time this
    /// thread sees a key).
    pub fn read(bytes: &'k [u8]) -> Option<Self> {
        if let Some(key) = LOCAL.with_borrow_mut(|local| local.keys.get(bytes)) {
            return Some(Self::Interned(key.0, key.1));
        }
        Some(Self::from(simdutf8::basic::from_utf8(bytes).ok()?))
    }

    /// The key's text.
    pub fn as_str(self) -> &'k str {
        match self {
            Self::Interned(text, _) => text,
            Self::Inline(text) => text,
        }
    }

    fn id(self) -> Option<MiniSpur> {
        match self {
            Self::Interned(_, id) => Some(id),
            Self::Inline(_) => None,
        }
    }

    /// The interned key's number (dense from 0), for tables indexed by key.
    pub fn index(self) -> Option<usize> {
        self.id().map(lasso::Key::into_usize)
    }
}

/// An interned text value's id, as `known_value` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueId(Spur);

/// Whether the packing would ask this thread's value cache about a value of `key` this long.
fn asks_cache(key: KeyRef<'_>, len: usize) -> bool {
    key.id().is_some() && len <= MAX_INTERNED_VALUE
}

/// The interned text of a value of `key` this thread has already interned, found by its bytes:
/// the attribute reader asks before checking the value is UTF-8, so a repeated value (a model,
/// an operation, an agent's name) is neither checked nor looked up again when it is packed.
/// `None` also when the packing would not ask (a long value, a key written inline).
pub fn known_value(key: KeyRef<'_>, bytes: &[u8]) -> Option<(&'static str, ValueId)> {
    if !asks_cache(key, bytes.len()) {
        return None;
    }
    LOCAL.with_borrow_mut(|local| local.values.get(bytes).map(|(text, id)| (text, ValueId(id))))
}

/// The number `KeyRef::index` gives `key` (interning it when new).
pub fn key_index(key: &str) -> Option<usize> {
    KeyRef::from(key).index()
}

impl AttrList for [(KeyRef<'_>, Value<'_>)] {
    fn visit<'s>(&'s self, f: &mut dyn FnMut(&'s str, Value<'s>)) {
        for (k, v) in self {
            f(k.as_str(), *v);
        }
    }

    fn visit_indexed<'s>(&'s self, f: &mut dyn FnMut(Option<usize>, &'s str, Value<'s>)) {
        for (k, v) in self {
            f(k.index(), k.as_str(), *v);
        }
    }
}

impl<'k> From<&'k str> for KeyRef<'k> {
    /// Looks the key up (interning it when new).
    fn from(key: &'k str) -> Self {
        key_id(key).map_or(Self::Inline(key), |(text, id)| Self::Interned(text, id))
    }
}

/// The key's interned text and id.
fn key_id(key: &str) -> Option<(&'static str, MiniSpur)> {
    if key.len() > MAX_INTERNED_KEY {
        return None;
    }
    LOCAL.with_borrow_mut(|local| {
        if let Some(found) = local.keys.get(key.as_bytes()) {
            return Some(found);
        }
        let keys: &'static ThreadedRodeo<MiniSpur, FxBuildHasher> = &KEYS;
        let id = keys.get(key).or_else(|| keys.try_get_or_intern(key).ok())?;
        let text = keys.try_resolve(&id)?;
        local.keys.insert(text.as_bytes(), (text, id));
        Some((text, id))
    })
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// At most `limit` bytes of `s`, cut on a character boundary.
pub fn cut(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl AttrsBuilder {
    /// A builder with room for about `n` attributes (reusing this thread's spare buffer).
    pub fn with_capacity(n: usize) -> Self {
        let mut buf = SPARE.take();
        buf.clear();
        buf.reserve(n * 16);
        Self { buf }
    }

    fn key(&mut self, tag: u8, key: KeyRef<'_>) {
        match key {
            KeyRef::Interned(_, id) => {
                self.buf.push(tag);
                self.buf.extend_from_slice(&(lasso::Key::into_usize(id) as u16).to_le_bytes());
            }
            KeyRef::Inline(key) => {
                self.buf.push(tag | INLINE_KEY);
                put_varint(&mut self.buf, key.len() as u64);
                self.buf.extend_from_slice(key.as_bytes());
            }
        }
    }

    /// The interned id of a short value of an interned key that is not high-cardinality.
    ///
    /// Once a key is high-cardinality only this thread's cache is asked: its values are mostly
    /// ids seen once, and asking the shared interner for each cost a shard lock (a value another
    /// thread interned is then written inline, which only costs its bytes).
    ///
    /// `asked`: `known_value` has already found the value missing from this thread's cache.
    fn value_id(key: MiniSpur, s: &str, asked: bool) -> Option<Spur> {
        if s.len() > MAX_INTERNED_VALUE {
            return None;
        }
        LOCAL.with_borrow_mut(|local| {
            if !asked && let Some((_, id)) = local.values.get(s.as_bytes()) {
                return Some(id);
            }
            let seen = VALUES_OF_KEY.get(lasso::Key::into_usize(key))?;
            if seen.load(Ordering::Relaxed) >= VALUES_PER_KEY
                || VALUE_BYTES.load(Ordering::Relaxed) + s.len() > MAX_VALUE_BYTES
            {
                return None;
            }
            let values: &'static ThreadedRodeo<Spur, FxBuildHasher> = &VALUES;
            let id = match values.get(s) {
                Some(id) => id,
                None => {
                    seen.fetch_add(1, Ordering::Relaxed);
                    VALUE_BYTES.fetch_add(s.len(), Ordering::Relaxed);
                    values.try_get_or_intern(s).ok()?
                }
            };
            let text = values.try_resolve(&id)?;
            local.values.insert(text.as_bytes(), (text, id));
            Some(id)
        })
    }

    fn text(&mut self, kind: u8, key: KeyRef<'_>, s: &str, limit: usize, asked: bool) {
        let kept = cut(s, limit);
        if kind == STR && kept.len() == s.len() {
            if let Some(v) = key.id().and_then(|k| Self::value_id(k, s, asked)) {
                self.key(INTERNED, key);
                put_varint(&mut self.buf, lasso::Key::into_usize(v) as u64);
                return;
            }
        }
        if kept.len() < s.len() {
            self.key(CUT, key);
            put_varint(&mut self.buf, s.len() as u64);
        } else {
            self.key(kind, key);
        }
        put_varint(&mut self.buf, kept.len() as u64);
        self.buf.extend_from_slice(kept.as_bytes());
    }

    /// A string, cut to `limit` bytes on a character boundary (the full size is kept).
    pub fn str<'k>(&mut self, key: impl Into<KeyRef<'k>>, s: &str, limit: usize) {
        self.text(STR, key.into(), s, limit, false);
    }

    /// A string the attribute reader has already asked `known_value` about, with its answer.
    pub fn str_read(&mut self, key: KeyRef<'_>, s: &str, known: Option<ValueId>, limit: usize) {
        match known {
            Some(ValueId(v)) if s.len() <= limit => {
                self.key(INTERNED, key);
                put_varint(&mut self.buf, lasso::Key::into_usize(v) as u64);
            }
            _ => self.text(STR, key, s, limit, asks_cache(key, s.len())),
        }
    }

    /// An array or map as JSON text, cut like a string.
    pub fn json<'k>(&mut self, key: impl Into<KeyRef<'k>>, s: &str, limit: usize) {
        self.text(JSON, key.into(), s, limit, false);
    }

    /// An integer.
    pub fn int<'k>(&mut self, key: impl Into<KeyRef<'k>>, v: i64) {
        self.key(INT, key.into());
        put_varint(&mut self.buf, ((v << 1) ^ (v >> 63)) as u64);
    }

    /// A float.
    pub fn double<'k>(&mut self, key: impl Into<KeyRef<'k>>, v: f64) {
        self.key(DOUBLE, key.into());
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A boolean.
    pub fn bool<'k>(&mut self, key: impl Into<KeyRef<'k>>, v: bool) {
        self.key(BOOL, key.into());
        self.buf.push(u8::from(v));
    }

    /// Bytes: only their size is kept.
    pub fn bytes<'k>(&mut self, key: impl Into<KeyRef<'k>>, n: usize) {
        self.key(BYTES, key.into());
        put_varint(&mut self.buf, n as u64);
    }

    /// The packed attributes.
    pub fn finish(self) -> Attrs {
        let attrs = Attrs(Box::from(self.buf.as_slice()));
        if self.buf.capacity() <= MAX_SPARE {
            SPARE.set(self.buf);
        }
        attrs
    }
}

/// Reads a packed buffer front to back.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn next_attr(&mut self) -> Option<(&'a str, AttrRef<'a>)> {
        let tag = self.byte()?;
        let key: &'a str = if tag & INLINE_KEY != 0 {
            self.str()?
        } else {
            let id = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
            let spur = <MiniSpur as lasso::Key>::try_from_usize(usize::from(id))?;
            KEYS.try_resolve(&spur)?
        };
        let value = match tag & !INLINE_KEY {
            STR => AttrRef::Str(self.str()?),
            CUT => {
                let original_bytes = usize::try_from(self.varint()?).ok()?;
                AttrRef::Truncated { original_bytes, prefix: self.str()? }
            }
            INT => {
                let z = self.varint()?;
                AttrRef::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            DOUBLE => AttrRef::Double(f64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            BOOL => AttrRef::Bool(self.byte()? != 0),
            JSON => AttrRef::Json(self.str()?),
            BYTES => AttrRef::Bytes { bytes: usize::try_from(self.varint()?).ok()? },
            INTERNED => {
                let spur = <Spur as lasso::Key>::try_from_usize(usize::try_from(self.varint()?).ok()?)?;
                AttrRef::Str(VALUES.try_resolve(&spur)?)
            }
            _ => return None,
        };
        Some((key, value))
    }
}

impl Attrs {
    /// The attributes in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, AttrRef<'_>)> {
        let mut r = Reader { buf: &self.0, at: 0 };
        std::iter::from_fn(move || r.next_attr())
    }

    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<AttrRef<'_>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Bytes of the buffer.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

impl AttrList for Attrs {
    fn visit<'s>(&'s self, f: &mut dyn FnMut(&'s str, Value<'s>)) {
        for (k, v) in self.iter() {
            let v = match v {
                AttrRef::Str(s) => Value::Str(s),
                AttrRef::Truncated { prefix, .. } => Value::Str(prefix),
                AttrRef::Int(i) => Value::Int(i),
                AttrRef::Double(d) => Value::Double(d),
                AttrRef::Bool(b) => Value::Bool(b),
                AttrRef::Json(_) | AttrRef::Bytes { .. } => Value::Other,
            };
            f(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_written() {
        let mut b = AttrsBuilder::default();
        b.str("gen_ai.request.model", "gpt-4o", 64);
        b.str("prompt", "héllo wörld", 4);
        b.int("gen_ai.usage.input_tokens", 1234);
        b.int("delta", -7);
        b.int("min", i64::MIN);
        b.double("gen_ai.request.temperature", 0.25);
        b.bool("cockpit.retry", true);
        b.json("tags", "[\"a\",\"b\"]", 64);
        b.bytes("blob", 4096);
        let long_key = "k".repeat(300);
        b.str(long_key.as_str(), "v", 64);
        let a = b.finish();
        let got: Vec<(String, AttrRef<'_>)> = a.iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(
            got,
            vec![
                ("gen_ai.request.model".into(), AttrRef::Str("gpt-4o")),
                ("prompt".into(), AttrRef::Truncated { prefix: "hél", original_bytes: 13 }),
                ("gen_ai.usage.input_tokens".into(), AttrRef::Int(1234)),
                ("delta".into(), AttrRef::Int(-7)),
                ("min".into(), AttrRef::Int(i64::MIN)),
                ("gen_ai.request.temperature".into(), AttrRef::Double(0.25)),
                ("cockpit.retry".into(), AttrRef::Bool(true)),
                ("tags".into(), AttrRef::Json("[\"a\",\"b\"]")),
                ("blob".into(), AttrRef::Bytes { bytes: 4096 }),
                (long_key, AttrRef::Str("v")),
            ]
        );
        assert_eq!(a.get("delta"), Some(AttrRef::Int(-7)));
        // Interned keys cost 2 bytes; only the over-long key is written out.
        assert!(a.heap_bytes() < 100 + 300, "{} bytes", a.heap_bytes());
    }

    #[test]
    fn a_builder_after_another_on_the_same_thread_packs_only_its_own_attributes() {
        let mut big = AttrsBuilder::with_capacity(1);
        big.str("prompt", &"p".repeat(5_000), 10_000);
        let big = big.finish();
        let mut small = AttrsBuilder::with_capacity(1);
        small.int("gen_ai.usage.input_tokens", 7);
        let small = small.finish();
        let got: Vec<(&str, AttrRef<'_>)> = small.iter().collect();
        assert_eq!(got, vec![("gen_ai.usage.input_tokens", AttrRef::Int(7))]);
        assert!(small.heap_bytes() < 16, "exactly its own size: {} bytes", small.heap_bytes());
        assert_eq!(big.get("prompt"), Some(AttrRef::Str(&"p".repeat(5_000))));
    }

    #[test]
    fn a_key_with_many_values_stops_interning_new_ones_and_a_key_with_few_keeps_on() {
        let packed = |key: &str, value: &str| {
            let mut b = AttrsBuilder::default();
            b.str(key, value, 256);
            b.finish()
        };
        let low = packed("test.cardinality.low", "constant-value");
        assert!(low.heap_bytes() < 8, "a repeated value is an id: {} bytes", low.heap_bytes());
        let id_key = "test.cardinality.ids";
        let first = "id-00000000";
        assert!(packed(id_key, first).heap_bytes() < 8, "the first values are interned");
        for i in 1..=usize::from(VALUES_PER_KEY) {
            packed(id_key, &format!("id-{i:08}"));
        }
        let new = "id-99999999";
        let past = packed(id_key, new);
        assert!(past.heap_bytes() > new.len(), "past the line a new value is inline");
        assert_eq!(past.get(id_key), Some(AttrRef::Str(new)));
        assert!(packed(id_key, first).heap_bytes() < 8, "one interned before keeps its id");
        assert!(packed("test.cardinality.low", "constant-value").heap_bytes() < 8);
    }

    #[test]
    fn keys_are_read_from_bytes_checked_once_and_interned_when_short() {
        assert_eq!(KeyRef::read(b"k\xff"), None, "not UTF-8");
        let key = KeyRef::read(b"gen_ai.request.model");
        assert!(matches!(key, Some(KeyRef::Interned("gen_ai.request.model", _))), "a short key is interned: {key:?}");
        assert_eq!(KeyRef::read(b"gen_ai.request.model"), key, "the same id again");
        assert_eq!(Some(KeyRef::from("gen_ai.request.model")), key, "by text as by bytes");
        let long = "k".repeat(MAX_INTERNED_KEY + 1);
        assert_eq!(KeyRef::read(long.as_bytes()), Some(KeyRef::Inline(long.as_str())));
    }

    #[test]
    fn a_value_this_thread_interned_is_known_by_its_bytes_and_packs_as_its_id() {
        let key = KeyRef::from("test.known.model");
        let value = "known-model-7";
        assert_eq!(known_value(key, value.as_bytes()), None, "not seen yet");
        let mut first = AttrsBuilder::default();
        first.str(key, value, 256);
        let first = first.finish();
        let (text, id) = known_value(key, value.as_bytes()).expect("interned by the packing");
        assert_eq!(text, value);
        assert_eq!(known_value(key, b"known-model-8"), None, "another value is not");
        assert_eq!(known_value(KeyRef::Inline("test.known.model"), value.as_bytes()), None, "an inline key never asks");
        let mut b = AttrsBuilder::default();
        b.str_read(key, value, Some(id), 256);
        let packed = b.finish();
        assert_eq!(packed, first, "the same bytes as packing the text");
        assert_eq!(packed.get("test.known.model"), Some(AttrRef::Str(value)));
        let mut cut = AttrsBuilder::default();
        cut.str_read(key, value, Some(id), 5);
        let cut = cut.finish();
        assert_eq!(
            cut.get("test.known.model"),
            Some(AttrRef::Truncated { prefix: "known", original_bytes: value.len() }),
            "a limit below the value's size still cuts it"
        );
        let mut missing = AttrsBuilder::default();
        missing.str_read(key, "known-model-9", None, 256);
        assert_eq!(missing.finish().get("test.known.model"), Some(AttrRef::Str("known-model-9")));
        assert!(known_value(key, b"known-model-9").is_some(), "a value asked about and missing is interned");
    }
    proptest::proptest! {
        #[test]
        fn strings_round_trip(key in ".{0,40}", value in ".{0,200}", limit in 0usize..300) {
            let mut b = AttrsBuilder::default();
            b.str(key.as_str(), &value, limit);
            let a = b.finish();
            let (k, v) = a.iter().next().ok_or_else(|| proptest::test_runner::TestCaseError::fail("empty"))?;
            proptest::prop_assert_eq!(k, key.as_str());
            match v {
                AttrRef::Str(s) => proptest::prop_assert_eq!(s, value.as_str()),
                AttrRef::Truncated { prefix, original_bytes } => {
                    proptest::prop_assert!(value.starts_with(prefix) && prefix.len() <= limit);
                    proptest::prop_assert_eq!(original_bytes, value.len());
                }
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
