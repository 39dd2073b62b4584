//! numpy's sampling methods of `Generator`: `shuffle`, `permutation` and `choice`, with numpy's
//! algorithms (Fisher–Yates on `random_interval`, Floyd's algorithm with its hash set, the tail shuffle,
//! the cdf search), so that they consume and return exactly what numpy's do.

use crate::distributions::bounded_u64;
use crate::generator::Arg;
use crate::{Error, Generator};

/// Scratch buffers of [`Generator::choice`], kept by the caller so that repeated draws allocate nothing.
#[derive(Clone, Debug, Default)]
pub struct ChoiceBuffers {
    cdf: Vec<f64>,
    uniforms: Vec<f64>,
    p: Vec<f64>,
    hash: Vec<u64>,
    pool: Vec<i64>,
    seen: Vec<bool>,
}

/// How [`Generator::choice`] samples, numpy's keywords.
#[derive(Clone, Copy, Debug)]
pub struct ChoiceOptions<'a> {
    /// Draw with replacement (numpy's default).
    pub replace: bool,
    /// Probabilities of the population's elements (`None`: uniform).
    pub p: Option<&'a [f64]>,
    /// Without replacement, shuffle the sample (numpy's default); `false` keeps Floyd's order.
    pub shuffle: bool,
}

impl Default for ChoiceOptions<'_> {
    fn default() -> Self {
        ChoiceOptions {
            replace: true,
            p: None,
            shuffle: true,
        }
    }
}

/// numpy's `_gen_mask`: the smallest mask of all ones at least `max`.
fn gen_mask(max: u64) -> u64 {
    let mut mask = max;
    for shift in [1, 2, 4, 8, 16, 32] {
        mask |= mask >> shift;
    }
    mask
}

/// numpy's `kahan_sum` (the check that probabilities sum to 1).
fn kahan_sum(values: &[f64]) -> f64 {
    let Some((&first, rest)) = values.split_first() else {
        return 0.0;
    };
    let (mut sum, mut c) = (first, 0.0);
    for &x in rest {
        let y = x - c;
        let t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    sum
}

/// numpy's `cdf = cumsum(p); cdf /= cdf[-1]` into `cdf`.
fn fill_cdf(p: &[f64], cdf: &mut Vec<f64>) {
    cdf.clear();
    let mut acc = 0.0;
    cdf.extend(p.iter().map(|&x| {
        acc += x;
        acc
    }));
    if let Some(&last) = cdf.last() {
        for c in cdf.iter_mut() {
            *c /= last;
        }
    }
}

/// `cdf.searchsorted(x, side='right')`: the first index whose cdf exceeds `x`.
fn search_right(cdf: &[f64], x: f64) -> usize {
    cdf.partition_point(|&c| c <= x)
}

impl Generator {
    /// numpy's `random_interval(max)`: a draw on [0, max] by masked rejection, from the buffered 32-bit
    /// words when `max` fits in 32 bits.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = gen_mask(max);
        let bits = self.bit_generator_mut();
        loop {
            let value = if max <= 0xFFFF_FFFF {
                u64::from(bits.next_u32()) & mask
            } else {
                bits.next_u64() & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `shuffle(x)` of a one-dimensional array: from the last element down, each swapped with a
    /// `random_interval` draw at or below it.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// `permutation(n)`: `arange(n)` shuffled, into `out`.
    pub fn permutation(&mut self, n: usize, out: &mut Vec<i64>) {
        out.clear();
        out.extend(0..n as i64);
        self.shuffle(out);
    }

    /// numpy's `_shuffle_int(n, first, data)`: the tail shuffle of `choice`, on Lemire draws.
    fn shuffle_int(&mut self, first: usize, data: &mut [i64]) {
        for i in (first..data.len()).rev() {
            let j = bounded_u64(self.bit_generator_mut(), 0, i as u64) as usize;
            data.swap(i, j);
        }
    }

    /// `choice(a, size=out.len(), replace, p, shuffle)` for a population of `population` elements:
    /// writes the chosen indices (`a[idx]` is the caller's). Checks as numpy does, in numpy's order,
    /// before drawing.
    pub fn choice(
        &mut self,
        population: usize,
        out: &mut [i64],
        options: ChoiceOptions<'_>,
        buffers: &mut ChoiceBuffers,
    ) -> Result<(), Error> {
        let size = out.len();
        if population == 0 && size != 0 {
            return Err(Error::invalid(
                "a",
                "a must be a positive integer unless no samples are taken",
            ));
        }
        if let Some(p) = options.p {
            check_probabilities(p, population)?;
        }
        match (options.replace, options.p) {
            (true, None) => {
                let high = i64::try_from(population).unwrap_or(i64::MAX);
                self.fill_integers(out, Arg::Scalar(0), Arg::Scalar(high), false)
            }
            (true, Some(p)) => {
                fill_cdf(p, &mut buffers.cdf);
                buffers.uniforms.resize(size, 0.0);
                self.fill_random(&mut buffers.uniforms);
                for (o, &u) in out.iter_mut().zip(&buffers.uniforms) {
                    *o = search_right(&buffers.cdf, u) as i64;
                }
                Ok(())
            }
            (false, _) if size > population => Err(Error::invalid(
                "size",
                "Cannot take a larger sample than population when replace is False",
            )),
            (false, Some(p)) => self.choice_weighted_unique(p, out, buffers),
            (false, None) => {
                self.choice_unique(population, out, options.shuffle, buffers);
                Ok(())
            }
        }
    }

    /// Without replacement, with probabilities: numpy draws `size - found` uniforms at a time from the
    /// cdf of the probabilities left (those found set to 0) and keeps each new index's first occurrence.
    fn choice_weighted_unique(
        &mut self,
        p: &[f64],
        out: &mut [i64],
        buffers: &mut ChoiceBuffers,
    ) -> Result<(), Error> {
        let size = out.len();
        if p.iter().filter(|&&x| x > 0.0).count() < size {
            return Err(Error::invalid("p", "Fewer non-zero entries in p than size"));
        }
        buffers.p.clear();
        buffers.p.extend_from_slice(p);
        buffers.seen.clear();
        buffers.seen.resize(p.len(), false);
        let mut found = 0;
        while found < size {
            buffers.uniforms.resize(size - found, 0.0);
            self.fill_random(&mut buffers.uniforms);
            for &k in &out[..found] {
                buffers.p[k as usize] = 0.0;
            }
            fill_cdf(&buffers.p, &mut buffers.cdf);
            let before = found;
            for &u in &buffers.uniforms {
                let k = search_right(&buffers.cdf, u);
                // np.unique keeps each value's first index; the kept values are in order of those.
                if !buffers.seen[k] {
                    buffers.seen[k] = true;
                    out[found] = k as i64;
                    found += 1;
                }
            }
            for &k in &out[before..found] {
                buffers.seen[k as usize] = false;
            }
        }
        Ok(())
    }

    /// Without replacement, uniform: the tail of a partial shuffle of `arange(population)` for large
    /// samples of large populations, otherwise Floyd's algorithm (then shuffled unless `shuffle` is
    /// false), with numpy's cut-offs.
    fn choice_unique(
        &mut self,
        population: usize,
        out: &mut [i64],
        shuffle: bool,
        buffers: &mut ChoiceBuffers,
    ) {
        let size = out.len();
        let cutoff = if shuffle { 50 } else { 20 };
        if population > 10_000 && size > population / cutoff {
            let pool = &mut buffers.pool;
            pool.clear();
            pool.extend(0..population as i64);
            self.shuffle_int((population - size).max(1), pool);
            out.copy_from_slice(&pool[population - size..]);
            return;
        }
        // The hash set's size: the smallest power of two above 1.2 * size (numpy truncates the product).
        let mask = gen_mask((1.2 * size as f64) as u64);
        let hash = &mut buffers.hash;
        hash.clear();
        hash.resize(mask as usize + 1, u64::MAX);
        for j in population - size..population {
            let val = bounded_u64(self.bit_generator_mut(), 0, j as u64);
            let mut loc = (val & mask) as usize;
            while hash[loc] != u64::MAX && hash[loc] != val {
                loc = (loc + 1) & mask as usize;
            }
            let chosen = if hash[loc] == u64::MAX {
                hash[loc] = val;
                val
            } else {
                let mut loc = (j as u64 & mask) as usize;
                while hash[loc] != u64::MAX {
                    loc = (loc + 1) & mask as usize;
                }
                hash[loc] = j as u64;
                j as u64
            };
            out[j + size - population] = chosen as i64;
        }
        if shuffle {
            self.shuffle_int(1, out);
        }
    }
}

/// numpy's checks of `choice`'s probabilities.
fn check_probabilities(p: &[f64], population: usize) -> Result<(), Error> {
    if p.len() != population {
        return Err(Error::invalid("p", "a and p must have same size"));
    }
    let sum = kahan_sum(p);
    if sum.is_nan() {
        return Err(Error::invalid("p", "probabilities contain NaN"));
    }
    if p.iter().any(|&x| x < 0.0) {
        return Err(Error::invalid("p", "probabilities are not non-negative"));
    }
    // numpy's tolerance: the square root of the float64 machine epsilon.
    if (sum - 1.0).abs() > f64::EPSILON.sqrt() {
        return Err(Error::invalid("p", "probabilities do not sum to 1"));
    }
    Ok(())
}
