//! One CPU per worker when a study's methods run in other processes (Linux).
//!
//! A fit by a Python, R or command method is an exchange: parsim's worker thread writes a data set
//! and sleeps, the method's process wakes, answers and sleeps, and the thread wakes again. When the two
//! sit on different CPUs, each wake-up may have to bring an idle CPU back, which on a virtual machine
//! costs tens of microseconds: on an otherwise idle 2-CPU host an `echo` exchange took 75 µs, and 15 µs
//! with both processes on one CPU (a Python method's mean of a column: 211 against 101 µs). So each
//! worker thread, and the processes it talks to, are kept on one CPU of their own.
//!
//! Only while there are no more workers than CPUs the process may use (`sched_getaffinity`), so that no
//! two workers share a CPU; `PARSIM_NO_PIN=1` turns it off (a method that runs threads of its own, a
//! multi-threaded BLAS say, then keeps every CPU).

/// The CPU of each worker: the allowed ones, starting from the one the run starts on, so that
/// runs started side by side with fewer workers than CPUs tend to take different ones.
pub struct Cpus(Vec<usize>);

impl Cpus {
    /// The CPUs for `jobs` workers, or None when they are not to be pinned.
    pub fn plan(jobs: usize, exchanges: bool) -> Option<Cpus> {
        if !exchanges || std::env::var_os("PARSIM_NO_PIN").is_some_and(|v| v != "0") {
            return None;
        }
        let mut cpus = sys::allowed()?;
        if jobs == 0 || jobs > cpus.len() {
            return None;
        }
        if let Some(at) = sys::current().and_then(|c| cpus.iter().position(|&x| x == c)) {
            cpus.rotate_left(at);
        }
        Some(Cpus(cpus))
    }

    /// Worker `index`'s CPU.
    pub fn of(&self, index: usize) -> usize {
        self.0[index % self.0.len()]
    }
}

/// The calling thread kept on `cpu` until the guard is dropped, when it gets back the CPUs it had
/// (None when the system refused: the thread runs where it did).
pub fn pin(cpu: usize) -> Option<Pinned> {
    sys::pin(cpu)
}

pub use sys::Pinned;

#[cfg(target_os = "linux")]
mod sys {
    use std::mem::{size_of, zeroed};

    /// A thread's CPUs before [`super::pin`], given back on drop.
    pub struct Pinned(libc::cpu_set_t);

    impl Drop for Pinned {
        fn drop(&mut self) {
            // SAFETY: a cpu_set_t of its full size, for the calling thread (0).
            unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &self.0) };
        }
    }

    fn mask() -> Option<libc::cpu_set_t> {
        // SAFETY: an all-zero cpu_set_t is an empty set; the call fills it for the calling thread.
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        let got = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        (got == 0).then_some(set)
    }

    pub fn allowed() -> Option<Vec<usize>> {
        let set = mask()?;
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: a CPU number below CPU_SETSIZE, in a valid set.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect();
        (!cpus.is_empty()).then_some(cpus)
    }

    pub fn current() -> Option<usize> {
        // SAFETY: no arguments; -1 on failure.
        usize::try_from(unsafe { libc::sched_getcpu() }).ok()
    }

    pub fn pin(cpu: usize) -> Option<Pinned> {
        if cpu >= libc::CPU_SETSIZE as usize {
            return None;
        }
        let saved = mask()?;
        // SAFETY: an empty set with one CPU below CPU_SETSIZE added, for the calling thread (0).
        let ok = unsafe {
            let mut set: libc::cpu_set_t = zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0
        };
        ok.then_some(Pinned(saved))
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    /// Nothing is pinned elsewhere.
    pub struct Pinned;

    pub fn allowed() -> Option<Vec<usize>> {
        None
    }

    pub fn current() -> Option<usize> {
        None
    }

    pub fn pin(_cpu: usize) -> Option<Pinned> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_runs_on_its_cpu_and_gets_its_cpus_back() {
        let before = sys::allowed().unwrap();
        let cpu = *before.last().unwrap();
        std::thread::spawn(move || {
            let guard = pin(cpu).expect("pinning to an allowed CPU");
            assert_eq!(sys::allowed().unwrap(), vec![cpu]);
            assert_eq!(sys::current(), Some(cpu));
            drop(guard);
            assert_eq!(sys::allowed().unwrap(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn no_more_workers_than_cpus_are_pinned_and_only_for_exchanges() {
        let n = sys::allowed().unwrap().len();
        assert!(Cpus::plan(n, false).is_none());
        assert!(Cpus::plan(n + 1, true).is_none());
        let cpus = Cpus::plan(n, true).unwrap();
        let mut taken: Vec<usize> = (0..n).map(|j| cpus.of(j)).collect();
        taken.sort_unstable();
        assert_eq!(taken, sys::allowed().unwrap());
    }
}
