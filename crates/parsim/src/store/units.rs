//! Units of work: one replication of one condition, named by the pair, never by a number that depends
//! on how many replications or conditions the study has (so a study can grow without renumbering).

/// One replication of one condition: the unit of work, of storage and of resumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    /// The condition's index in the design.
    pub condition: usize,
    /// The replication's index within the condition.
    pub replication: u64,
}

impl Unit {
    /// Replication `replication` of condition `condition`.
    pub fn new(condition: usize, replication: u64) -> Unit {
        Unit {
            condition,
            replication,
        }
    }
}

/// A set of units: a bitset of replications per condition (a million units take 125 kB).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitSet {
    conditions: Vec<Vec<u64>>,
    len: u64,
}

impl UnitSet {
    /// No units.
    pub fn new() -> UnitSet {
        UnitSet::default()
    }

    /// Add `unit`; whether it was new.
    pub fn insert(&mut self, unit: Unit) -> bool {
        if self.conditions.len() <= unit.condition {
            self.conditions.resize(unit.condition + 1, Vec::new());
        }
        let words = &mut self.conditions[unit.condition];
        let (word, bit) = split(unit.replication);
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let new = words[word] & bit == 0;
        words[word] |= bit;
        self.len += u64::from(new);
        new
    }

    /// Whether `unit` is in the set.
    pub fn contains(&self, unit: Unit) -> bool {
        let (word, bit) = split(unit.replication);
        self.conditions
            .get(unit.condition)
            .and_then(|words| words.get(word))
            .is_some_and(|w| w & bit != 0)
    }

    /// How many units the set holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add every unit of `other`.
    pub fn extend_from(&mut self, other: &UnitSet) {
        for unit in other.iter() {
            self.insert(unit);
        }
    }

    /// The units in (condition, replication) order.
    pub fn iter(&self) -> impl Iterator<Item = Unit> + '_ {
        self.conditions
            .iter()
            .enumerate()
            .flat_map(|(condition, words)| {
                words.iter().enumerate().flat_map(move |(w, &word)| {
                    (0..64)
                        .filter(move |b| word & (1 << b) != 0)
                        .map(move |b| Unit::new(condition, w as u64 * 64 + b))
                })
            })
    }

    /// The units of `conditions` × `replications` the set holds (a study's design; stored units beyond
    /// it, from a run with more replications, are left out).
    pub fn within(&self, conditions: usize, replications: u64) -> UnitSet {
        self.iter()
            .filter(|u| u.condition < conditions && u.replication < replications)
            .collect()
    }
}

impl FromIterator<Unit> for UnitSet {
    fn from_iter<I: IntoIterator<Item = Unit>>(iter: I) -> Self {
        let mut set = UnitSet::new();
        for unit in iter {
            set.insert(unit);
        }
        set
    }
}

/// The word and bit of a replication in its condition's bitset.
fn split(replication: u64) -> (usize, u64) {
    ((replication / 64) as usize, 1 << (replication % 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_each_unit_once_and_lists_them_in_order() {
        let mut set = UnitSet::new();
        for (c, r) in [(2, 130), (0, 5), (2, 0), (0, 5), (0, 63), (0, 64)] {
            set.insert(Unit::new(c, r));
        }
        assert_eq!(set.len(), 5);
        let listed: Vec<(usize, u64)> = set.iter().map(|u| (u.condition, u.replication)).collect();
        assert_eq!(listed, [(0, 5), (0, 63), (0, 64), (2, 0), (2, 130)]);
        assert!(set.contains(Unit::new(2, 130)));
        assert!(!set.contains(Unit::new(1, 0)));
        assert!(!set.contains(Unit::new(2, 131)));
        assert_eq!(set.within(3, 64).len(), 3);
    }
}
