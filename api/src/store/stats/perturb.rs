//! Cell-key perturbation of counts of people and participations (the method of the ABS
//! TableBuilder and of the UK 2021 census tables).
//!
//! Every person and every participation has a permanent random record key in `0..KEY_RANGE`
//! (drawn by the database, see migration `000012_record_key`). A cell — the records a count
//! counts — has as key the sum of its records' keys modulo `KEY_RANGE`, and a fixed table maps
//! (count, cell key) to the published value. The same records therefore always publish the same
//! value, however the cell is reached or how often it is asked for, while two different cells
//! (a parent and its children, two overlapping windows) get independent-looking noise, so that
//! subtracting one published value from another gives a noisy answer.

use migration::m20261202_000012_record_key::RECORD_KEY_RANGE;

/// Cell keys lie in `0..KEY_RANGE`.
pub const KEY_RANGE: u32 = 256;
// The table below is laid out in 256ths of the key range.
const _: () = assert!(RECORD_KEY_RANGE == KEY_RANGE as i64);

/// Largest noise added to (or taken from) a count of at least `k`.
pub const MAX_NOISE: i64 = 2;

/// The noise of a count `n ≥ k`, by where its cell key falls, for a count with room `r =
/// min(n − k, MAX_NOISE)` above `k`: row `r` lists `(end of the key range, noise)`. Every row is
/// symmetric, so the noise averages to zero, and no row takes a count below `k`.
const NOISE: [&[(u32, i64)]; 3] = [
    // n = k: published as it is (any noise would either go below k or bias it upwards).
    &[(256, 0)],
    // n = k + 1: −1, 0, +1 with probabilities 1/4, 1/2, 1/4.
    &[(64, -1), (192, 0), (256, 1)],
    // n ≥ k + 2: −2 … +2 with probabilities 1/8, 3/16, 3/8, 3/16, 1/8.
    &[(32, -2), (80, -1), (176, 0), (224, 1), (256, 2)],
];

/// A count of records and its cell key (the sum of their record keys modulo [`KEY_RANGE`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    pub count: i64,
    pub key: u32,
}

impl Cell {
    /// The cell of `count` records whose record keys add up to `key_sum`.
    pub fn new(count: i64, key_sum: i64) -> Cell {
        let key = key_sum.rem_euclid(i64::from(KEY_RANGE));
        Cell {
            count,
            key: u32::try_from(key).unwrap_or(0),
        }
    }
}

/// The union of two cells with no record in common.
impl std::ops::Add for Cell {
    type Output = Cell;
    fn add(self, other: Cell) -> Cell {
        Cell::new(
            self.count + other.count,
            i64::from(self.key) + i64::from(other.key),
        )
    }
}

impl std::ops::AddAssign for Cell {
    fn add_assign(&mut self, other: Cell) {
        *self = *self + other;
    }
}

/// The perturbation table for a smallest published count `k` (`GRIDGOV_STATS_MIN_COUNT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perturbation {
    k: i64,
}

impl Perturbation {
    /// The table for `min_count` (0 is taken as 1: there is no small count to hide then).
    pub fn new(min_count: u32) -> Perturbation {
        Perturbation {
            k: i64::from(min_count.max(1)),
        }
    }

    /// `k`: the smallest count published other than 0.
    pub fn min_count(self) -> i64 {
        self.k
    }

    /// The value published for `cell`:
    /// - 0 stays 0;
    /// - a count `n` in `1..k` becomes `k` when the cell key is below `n/k` of the key range
    ///   and 0 otherwise, so its expected published value is `n` (to within `k/512`);
    /// - a count `n ≥ k` gets the noise of [`NOISE`]: `|noise| ≤ 2`, never below `k`, zero on
    ///   average.
    pub fn publish(self, cell: Cell) -> i64 {
        let (n, key) = (cell.count, cell.key);
        if n <= 0 {
            return 0;
        }
        if n < self.k {
            let range = i64::from(KEY_RANGE);
            let cut = (n * range + self.k / 2) / self.k;
            return if i64::from(key) < cut { self.k } else { 0 };
        }
        let room = usize::try_from((n - self.k).min(MAX_NOISE)).unwrap_or(0);
        let noise = NOISE
            .get(room)
            .and_then(|row| row.iter().find(|(end, _)| key < *end))
            .map_or(0, |(_, d)| *d);
        n + noise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_keys() -> impl Iterator<Item = u32> {
        0..KEY_RANGE
    }

    #[test]
    fn zero_stays_zero() {
        for k in [1, 3, 5, 10] {
            let p = Perturbation::new(k);
            assert!(all_keys().all(|key| p.publish(Cell { count: 0, key }) == 0));
        }
    }

    #[test]
    fn small_counts_publish_zero_or_k_and_average_to_themselves() {
        for k in [2u32, 3, 5, 10] {
            let p = Perturbation::new(k);
            let k = i64::from(k);
            for n in 1..k {
                let shown: Vec<i64> = all_keys()
                    .map(|key| p.publish(Cell { count: n, key }))
                    .collect();
                assert!(shown.iter().all(|v| *v == 0 || *v == k), "k {k}, n {n}");
                assert!(shown.contains(&0) && shown.contains(&k), "k {k}, n {n}");
                let mean = shown.iter().sum::<i64>() as f64 / f64::from(KEY_RANGE);
                assert!(
                    (mean - n as f64).abs() <= k as f64 / 512.0,
                    "k {k}, n {n}: {mean}"
                );
            }
        }
    }

    #[test]
    fn larger_counts_get_bounded_unbiased_noise_never_below_k() {
        let p = Perturbation::new(5);
        for n in 5..60 {
            let noise: Vec<i64> = all_keys()
                .map(|key| p.publish(Cell { count: n, key }) - n)
                .collect();
            assert!(noise.iter().all(|d| d.abs() <= MAX_NOISE), "n {n}");
            assert!(noise.iter().all(|d| n + d >= 5), "n {n}");
            assert_eq!(noise.iter().sum::<i64>(), 0, "n {n}: biased");
        }
        // From k + 2 on, the whole row: 3/8 of the keys leave the count as it is.
        let unchanged = all_keys()
            .filter(|key| {
                p.publish(Cell {
                    count: 40,
                    key: *key,
                }) == 40
            })
            .count();
        assert_eq!(unchanged, 96);
        // k itself is published as it is; k + 1 moves by one at most, both ways.
        assert!(all_keys().all(|key| p.publish(Cell { count: 5, key }) == 5));
        let six: std::collections::BTreeSet<i64> = all_keys()
            .map(|key| p.publish(Cell { count: 6, key }))
            .collect();
        assert_eq!(six.into_iter().collect::<Vec<_>>(), [5, 6, 7]);
    }

    #[test]
    fn cell_keys_add_modulo_the_range() {
        let a = Cell::new(3, 300);
        assert_eq!(a, Cell { count: 3, key: 44 });
        assert_eq!(a + Cell::new(2, 250), Cell { count: 5, key: 38 });
        assert_eq!(Cell::new(1, -1).key, 255);
    }

    #[test]
    fn min_count_zero_or_one_hides_nothing() {
        let p = Perturbation::new(0);
        assert_eq!(p, Perturbation::new(1));
        assert!(all_keys().all(|key| p.publish(Cell { count: 1, key }) == 1));
        assert!(all_keys().all(|key| (p.publish(Cell { count: 2, key }) - 2).abs() <= 1));
    }
}
