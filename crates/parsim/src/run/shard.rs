//! `--shard K/M`: a balanced, deterministic share of a study's units.

use std::fmt;
use std::str::FromStr;

/// Shard K of M (1-based K): the units u with u mod M = K - 1, where units are numbered
/// `condition * replications + replication`. Round-robin keeps shards within one unit of each other in size
/// and spreads every condition over every shard.
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

    /// The units of this shard among `total` units, in increasing order.
    pub fn units(self, total: u64) -> impl Iterator<Item = u64> {
        (self.index - 1..total).step_by(self.count as usize)
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
        let total = 17;
        let mut seen = vec![0; total as usize];
        for k in 1..=3 {
            let shard: Shard = format!("{k}/3").parse().unwrap();
            let units: Vec<u64> = shard.units(total).collect();
            assert!(units.len() == 5 || units.len() == 6, "balanced: {units:?}");
            for u in units {
                assert_eq!(u % 3, k - 1, "round-robin");
                seen[u as usize] += 1;
            }
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "every unit in exactly one shard"
        );
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
