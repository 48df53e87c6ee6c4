//! A mergeable quantile sketch (DDSketch, 1% relative error) that packs itself small once its
//! minute has closed.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};

/// Relative accuracy of every sketch.
pub const RELATIVE_ERROR: f64 = 0.01;

fn config() -> Config {
    Config::new(RELATIVE_ERROR, 2048, 1.0e-9)
}

/// A quantile sketch: live while its minute is open, packed bytes after (at most one is set).
#[derive(Clone, Default)]
pub struct Sketch {
    live: Option<Box<DDSketch>>,
    packed: Option<Box<[u8]>>,
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch(n={})", self.count())
    }
}

impl Sketch {
    /// Adds a value (negative and non-finite values are ignored).
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() || v < 0.0 {
            return;
        }
        self.live().add(v);
    }

    fn live(&mut self) -> &mut DDSketch {
        let packed = self.packed.take();
        self.live.get_or_insert_with(|| {
            let mut fresh = DDSketch::new(config());
            if let Some(old) = packed.as_deref().and_then(unpack) {
                let _ = fresh.merge(&old);
            }
            Box::new(fresh)
        })
    }

    /// Merges another sketch into this one.
    pub fn merge(&mut self, other: &Sketch) {
        if let Some(o) = &other.live {
            let _ = self.live().merge(o);
        } else if let Some(o) = other.packed.as_deref().and_then(unpack) {
            let _ = self.live().merge(&o);
        }
    }

    /// Packs a live sketch into bytes (for closed minutes).
    pub fn pack(&mut self) {
        if let Some(s) = self.live.take() {
            self.packed = (s.count() > 0).then(|| s.to_java_bytes().into_boxed_slice());
        }
    }

    fn with<R>(&self, f: impl FnOnce(&DDSketch) -> R) -> Option<R> {
        match (&self.live, &self.packed) {
            (Some(s), _) => Some(f(s)),
            (None, Some(b)) => unpack(b).map(|s| f(&s)),
            (None, None) => None,
        }
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.with(|s| s.count() as u64).unwrap_or(0)
    }

    /// The q-quantile (0..=1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.with(|s| s.quantile(q.clamp(0.0, 1.0)).ok().flatten()).flatten()
    }

    /// Quantiles at many points at once (one decode).
    pub fn quantiles(&self, qs: &[f64]) -> Option<Vec<f64>> {
        self.with(|s| qs.iter().filter_map(|q| s.quantile(q.clamp(0.0, 1.0)).ok().flatten()).collect::<Vec<_>>())
            .filter(|v: &Vec<f64>| v.len() == qs.len())
    }

    /// Sum of the values.
    pub fn sum(&self) -> Option<f64> {
        self.with(|s| s.sum()).flatten()
    }

    fn packed_bytes(&self) -> Option<Vec<u8>> {
        match (&self.live, &self.packed) {
            (Some(s), _) if s.count() > 0 => Some(s.to_java_bytes()),
            (None, Some(b)) => Some(b.to_vec()),
            _ => None,
        }
    }
}

fn unpack(bytes: &[u8]) -> Option<DDSketch> {
    DDSketch::from_java_bytes(bytes).ok()
}

impl Serialize for Sketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.packed_bytes() {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_str(""),
        }
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(Sketch::default());
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        unpack(&bytes).ok_or_else(|| serde::de::Error::custom("not a DDSketch encoding"))?;
        Ok(Sketch { live: None, packed: Some(bytes.into_boxed_slice()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The value at the rank DDSketch uses for q: floor(q·(n−1)) in sorted order.
    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() as f64 - 1.0)) as usize]
    }

    proptest! {
        #[test]
        fn quantiles_within_one_percent(values in proptest::collection::vec(0.001f64..1.0e7, 1..400), split in 0usize..400) {
            // Build in two halves, pack one, merge: the merged sketch is as accurate as one.
            let split = split.min(values.len());
            let (mut a, mut b) = (Sketch::default(), Sketch::default());
            values[..split].iter().for_each(|v| a.add(*v));
            values[split..].iter().for_each(|v| b.add(*v));
            b.pack();
            a.merge(&b);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0] {
                let got = a.quantile(q).expect("non-empty");
                let want = exact(&sorted, q);
                prop_assert!((got - want).abs() <= want * RELATIVE_ERROR * 1.0001, "q={q} got={got} want={want}");
            }
            prop_assert_eq!(a.count(), values.len() as u64);
        }
    }

    #[test]
    fn serde_round_trip_and_empty() {
        let mut s = Sketch::default();
        assert_eq!(s.quantile(0.5), None);
        for v in 1..=100 {
            s.add(f64::from(v));
        }
        let json = serde_json::to_string(&s).expect("serialize");
        let back: Sketch = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back.count(), 100);
        assert!((back.quantile(0.5).expect("p50") - 50.0).abs() <= 0.5);
        let empty: Sketch = serde_json::from_str("\"\"").expect("empty");
        assert_eq!(empty.count(), 0);
        assert!(serde_json::from_str::<Sketch>("\"not base64!\"").is_err());
    }
}
