//! A stable least-significant-digit radix sort of packed items, for sorts of millions of keys
//! (the Lovász losses sort every class's errors).
//!
//! An item is one unsigned integer: its high half is the key, its low half a payload that rides
//! along (a position and flag bits). The sort orders by the key only and is stable, so items
//! with equal keys keep the order they were given in: ties are broken by position when the
//! items are built in position order, whatever the thread count. Digits of [`DIGIT_BITS`] bits;
//! the histograms of every digit are gathered in one read, and a digit that is the same for
//! every item costs no pass (a 32-bit key of values in (0, 1] mostly needs three).

/// Bits per radix digit (2048 buckets: three passes for a 32-bit key, six for 64).
pub const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// An item sorted by its high half.
pub trait Item: Copy + Default + Send + Sync {
    /// Bits of the key (the high half of the item).
    const KEY_BITS: u32;
    /// Bits of the payload (the low half).
    const LOW_BITS: u32;
    /// The item with `key` (< 2^KEY_BITS) and `low` (< 2^LOW_BITS).
    fn pack(key: u64, low: u64) -> Self;
    fn key(self) -> u64;
    fn low(self) -> u64;
}

impl Item for u64 {
    const KEY_BITS: u32 = 32;
    const LOW_BITS: u32 = 32;
    #[inline(always)]
    fn pack(key: u64, low: u64) -> Self {
        debug_assert!(key >> Self::KEY_BITS == 0 && low >> Self::LOW_BITS == 0);
        (key << 32) | low
    }
    #[inline(always)]
    fn key(self) -> u64 {
        self >> 32
    }
    #[inline(always)]
    fn low(self) -> u64 {
        self & 0xFFFF_FFFF
    }
}

impl Item for u128 {
    const KEY_BITS: u32 = 64;
    const LOW_BITS: u32 = 64;
    #[inline(always)]
    fn pack(key: u64, low: u64) -> Self {
        ((key as u128) << 64) | low as u128
    }
    #[inline(always)]
    fn key(self) -> u64 {
        (self >> 64) as u64
    }
    #[inline(always)]
    fn low(self) -> u64 {
        self as u64
    }
}

/// Sorts `items` by key, ascending and stable; `tmp` is scratch (resized to `items.len()`).
/// The sorted items end up in `items` (the two vectors may be swapped). Not inlined: one call
/// sorts many items, and profiles then show the sort's own share.
#[inline(never)]
pub fn sort_by_key<I: Item>(items: &mut Vec<I>, tmp: &mut Vec<I>) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let passes = I::KEY_BITS.div_ceil(DIGIT_BITS) as usize;
    let digit = |v: I, pass: usize| ((v.key() >> (pass as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1);
    // Every digit's histogram in one read.
    let mut hist = vec![[0usize; BUCKETS]; passes];
    for &v in items.iter() {
        for (pass, h) in hist.iter_mut().enumerate() {
            h[digit(v, pass)] += 1;
        }
    }
    tmp.clear();
    tmp.resize(n, I::default());
    for (pass, h) in hist.iter_mut().enumerate() {
        // Every item has the same digit here: the pass would not move anything.
        if h.iter().any(|&c| c == n) {
            continue;
        }
        let mut start = 0;
        for c in h.iter_mut() {
            let count = *c;
            *c = start;
            start += count;
        }
        for &v in items.iter() {
            let d = digit(v, pass);
            tmp[h[d]] = v;
            h[d] += 1;
        }
        std::mem::swap(items, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<I: Item + std::fmt::Debug + PartialEq>(keys: &[u64]) {
        let mut items: Vec<I> = keys.iter().enumerate().map(|(i, &k)| I::pack(k, i as u64)).collect();
        let mut expected = items.clone();
        // std's stable sort by key is the reference.
        expected.sort_by_key(|v| v.key());
        let mut tmp = Vec::new();
        sort_by_key(&mut items, &mut tmp);
        assert_eq!(items, expected);
    }

    #[test]
    fn agrees_with_std_stable_sort() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for &n in &[0usize, 1, 2, 3, 100, 5000] {
            let k32: Vec<u64> = (0..n).map(|_| next() & 0xFFFF_FFFF).collect();
            check::<u64>(&k32);
            // Many ties, and keys in few digits.
            let ties: Vec<u64> = (0..n).map(|_| next() % 7).collect();
            check::<u64>(&ties);
            check::<u128>(&ties);
            let k64: Vec<u64> = (0..n).map(|_| next()).collect();
            check::<u128>(&k64);
            let f: Vec<u64> = (0..n).map(|_| ((next() % 1000) as f32 / 1000.0).to_bits() as u64).collect();
            check::<u64>(&f);
        }
    }
}
