//! `--shard K/M`: a balanced, deterministic share of a study's units (of its conditions, for a study with
//! a stopping rule).

use std::fmt;
use std::str::FromStr;

use crate::store::Unit;

/// Shard K of M (1-based K): the units (condition c, replication r) with (c + r) mod M = K - 1.
/// Round-robin over the replications of each condition, shifted by one per condition, keeps shards
/// within one unit of each other in every condition and spreads every condition over every shard; and a
/// unit's shard depends on the unit alone, so it stays put when the study grows in replications or
/// conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

/// A `--shard` value that is not `K/M` with 1 <= K <= M.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {given:?}: expected K/M with 1 <= K <= M, e.g. 2/4")]
pub struct ShardError {
    /// What was given.
    pub given: String,
}

impl Shard {
    /// All units: shard 1 of 1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether this shard owns `unit`.
    pub fn owns(self, unit: Unit) -> bool {
        (unit.condition as u64 % self.count + unit.replication % self.count) % self.count
            == self.index - 1
    }

    /// Whether this shard owns condition `condition` of a study with a stopping rule: such a study's
    /// shards split its conditions (c mod M = K − 1), each taking every replication of its own, because a
    /// condition's next round is decided from all its replications so far.
    pub fn owns_condition(self, condition: usize) -> bool {
        condition as u64 % self.count == self.index - 1
    }

    /// This shard's units among `conditions` × `replications`, in (condition, replication) order.
    pub fn units(self, conditions: usize, replications: u64) -> impl Iterator<Item = Unit> {
        let count = self.count;
        let first = self.index - 1;
        (0..conditions).flat_map(move |c| {
            // The first replication r with (c + r) mod M = K - 1, then every M-th.
            let start = (first + count - c as u64 % count) % count;
            (start..replications)
                .step_by(count as usize)
                .map(move |r| Unit::new(c, r))
        })
    }

    /// How many units of `conditions` × `replications` this shard owns.
    pub fn owned(self, conditions: usize, replications: u64) -> u64 {
        let count = self.count;
        let first = self.index - 1;
        (0..conditions)
            .map(|c| {
                let start = (first + count - c as u64 % count) % count;
                replications.saturating_sub(start).div_ceil(count)
            })
            .sum()
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let err = || ShardError {
            given: s.to_string(),
        };
        let (k, m) = s.split_once('/').ok_or_else(err)?;
        let index: u64 = k.trim().parse().map_err(|_| err())?;
        let count: u64 = m.trim().parse().map_err(|_| err())?;
        if index == 0 || count == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let (conditions, replications) = (4, 7);
        let mut seen = std::collections::HashMap::new();
        for k in 1..=3 {
            let shard: Shard = format!("{k}/3").parse().unwrap();
            let units: Vec<Unit> = shard.units(conditions, replications).collect();
            assert_eq!(units.len() as u64, shard.owned(conditions, replications));
            // 28 units in 3 shards: 9 or 10 each; within a condition 2 or 3 of its 7.
            assert!(units.len() == 9 || units.len() == 10, "balanced: {units:?}");
            for c in 0..conditions {
                let here = units.iter().filter(|u| u.condition == c).count();
                assert!(here == 2 || here == 3, "condition {c}: {here}");
            }
            for u in units {
                assert!(shard.owns(u), "{u:?}");
                *seen.entry(u).or_insert(0) += 1;
            }
        }
        assert_eq!(seen.len(), 28);
        assert!(
            seen.values().all(|&n| n == 1),
            "every unit in exactly one shard"
        );
    }

    #[test]
    fn a_units_shard_does_not_move_when_the_study_grows() {
        let shard = Shard { index: 2, count: 5 };
        let small: Vec<Unit> = shard.units(3, 10).collect();
        let grown: Vec<Unit> = shard.units(6, 40).collect();
        assert!(small.iter().all(|u| grown.contains(u)));
        assert_eq!(shard.owned(1, 0), 0);
        assert_eq!(Shard::WHOLE.owned(3, 10), 30);
    }

    #[test]
    fn rejects_bad_shards() {
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/3/4", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(
            " 2 / 4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
    }
}
