//! Mergeable streaming moments: count, mean, sum of squared deviations (M2) and cross-moments.
//!
//! Welford's update adds one value in O(1) without catastrophic cancellation; Chan, Golub & LeVeque's
//! pairwise formula merges two accumulators exactly as if their values had been pushed into one. Memory is
//! constant in the number of values, so shards of a study can be summarised separately and merged.

use serde::{Deserialize, Serialize};

/// Count, mean and M2 = Σ(xᵢ − x̄)² of a stream of values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of values pushed.
    pub n: u64,
    /// Running mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    /// Add one value (Welford).
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Merge another accumulator into this one (Chan et al.).
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.n += other.n;
    }

    /// Mean, or NaN when empty.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// Sample variance with divisor n − 1, or NaN when n < 2.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Standard error of the mean, √(M2 / (n(n − 1))), or NaN when n < 2.
    pub fn se_of_mean(&self) -> f64 {
        (self.variance() / self.n as f64).sqrt()
    }
}

/// Count, means, M2 of each and the cross-moment C = Σ(xᵢ − x̄)(yᵢ − ȳ) of a stream of pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CoMoments {
    /// Number of pairs pushed.
    pub n: u64,
    /// Running mean of x.
    pub mean_x: f64,
    /// Running mean of y.
    pub mean_y: f64,
    /// Σ(xᵢ − x̄)².
    pub m2_x: f64,
    /// Σ(yᵢ − ȳ)².
    pub m2_y: f64,
    /// Σ(xᵢ − x̄)(yᵢ − ȳ).
    pub c_xy: f64,
}

impl CoMoments {
    /// Add one pair.
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        let n = self.n as f64;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / n;
        self.mean_y += dy / n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        // The cross term uses the old deviation of one and the new deviation of the other (exact update).
        self.c_xy += dx * (y - self.mean_y);
    }

    /// Merge another accumulator into this one.
    pub fn merge(&mut self, other: &CoMoments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let dx = other.mean_x - self.mean_x;
        let dy = other.mean_y - self.mean_y;
        self.mean_x += dx * nb / n;
        self.mean_y += dy * nb / n;
        self.m2_x += other.m2_x + dx * dx * na * nb / n;
        self.m2_y += other.m2_y + dy * dy * na * nb / n;
        self.c_xy += other.c_xy + dx * dy * na * nb / n;
        self.n += other.n;
    }

    /// Sample variance of x (divisor n − 1), NaN when n < 2.
    pub fn variance_x(&self) -> f64 {
        self.m2(self.m2_x)
    }

    /// Sample variance of y (divisor n − 1), NaN when n < 2.
    pub fn variance_y(&self) -> f64 {
        self.m2(self.m2_y)
    }

    /// Pearson correlation of x and y; NaN when n < 2 or either is constant.
    pub fn correlation(&self) -> f64 {
        if self.n < 2 || self.m2_x <= 0.0 || self.m2_y <= 0.0 {
            return f64::NAN;
        }
        (self.c_xy / (self.m2_x * self.m2_y).sqrt()).clamp(-1.0, 1.0)
    }

    fn m2(&self, m2: f64) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            m2 / (self.n - 1) as f64
        }
    }
}

/// Number of trials and of successes: coverage, rejection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proportion {
    /// Trials.
    pub n: u64,
    /// Successes.
    pub hits: u64,
}

impl Proportion {
    /// Add one trial.
    pub fn push(&mut self, hit: bool) {
        self.n += 1;
        self.hits += u64::from(hit);
    }

    /// Merge another count into this one.
    pub fn merge(&mut self, other: &Proportion) {
        self.n += other.n;
        self.hits += other.hits;
    }

    /// The proportion, NaN when there were no trials.
    pub fn estimate(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.hits as f64 / self.n as f64
        }
    }

    /// Its Monte Carlo SE √(p(1 − p)/n), NaN when there were no trials.
    pub fn mcse(&self) -> f64 {
        let p = self.estimate();
        (p * (1.0 - p) / self.n as f64).sqrt()
    }
}
