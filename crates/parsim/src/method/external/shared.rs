//! A memory file shared with a worker process (Linux): the numeric columns of a data set are written
//! into it, so that a fit frame carries only their places and the worker uses the columns where they
//! are (the Python worker lends them to the user's code without a copy), instead of reading them
//! through a pipe (two copies by the kernel and a wake-up per pipe-full).
//!
//! The file is anonymous (`memfd_create`): nothing is written to any file system. The worker inherits
//! its descriptor, and parsim offers it in the hello frame; a worker that does not take it up is sent
//! its columns in the frames as before. The file only grows, so a worker's mapping of it stays valid.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A shared memory file and parsim's mapping of it.
pub struct Shared {
    fd: OwnedFd,
    /// The start of the mapping (null while the file is empty).
    map: *mut u8,
    /// The file's size, all of it mapped.
    len: usize,
}

// SAFETY: the mapping is owned by this value alone (no other reference to it exists in parsim), so it
// may move to another thread with it, as a Vec's buffer does.
unsafe impl Send for Shared {}

impl Shared {
    /// A new, empty shared file (close-on-exec: only the worker it is given to inherits it).
    pub fn create() -> io::Result<Shared> {
        // SAFETY: a NUL-terminated name and flags; the descriptor returned is owned below.
        let fd = unsafe { libc::memfd_create(c"parsim-data".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Shared {
            // SAFETY: a fresh descriptor nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            map: std::ptr::null_mut(),
            len: 0,
        })
    }

    /// The descriptor the worker inherits (the same number in the worker).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The first `len` bytes of the file, which grows (by doubling, so that a data set of a new size
    /// remaps it a few times at most) when it is shorter.
    pub fn bytes(&mut self, len: usize) -> io::Result<&mut [u8]> {
        if len > self.len {
            self.grow(len.max(2 * self.len))?;
        }
        if len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: `map` is a live read-write mapping of `self.len >= len` bytes that only `self` refers
        // to, borrowed mutably for the slice's lifetime. The worker uses the file (reads it, and may
        // write to it) only between a fit frame and its reply, when parsim does not write it; parsim
        // never reads it.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.map, len) })
    }

    fn grow(&mut self, len: usize) -> io::Result<()> {
        let size = libc::off_t::try_from(len).map_err(io::Error::other)?;
        // SAFETY: ftruncate on a descriptor this value owns.
        if unsafe { libc::ftruncate(self.fd.as_raw_fd(), size) } != 0 {
            return Err(io::Error::last_os_error());
        }
        self.unmap();
        // SAFETY: a new shared mapping of the whole file, which is `len` bytes long.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        self.map = map.cast();
        self.len = len;
        Ok(())
    }

    fn unmap(&mut self) {
        if !self.map.is_null() {
            // SAFETY: the mapping made by `grow`, of `self.len` bytes, no longer borrowed.
            unsafe { libc::munmap(self.map.cast(), self.len) };
            self.map = std::ptr::null_mut();
            self.len = 0;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.unmap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_grows_and_keeps_what_was_written_through_another_mapping() {
        let mut shared = Shared::create().unwrap();
        shared.bytes(16).unwrap()[..3].copy_from_slice(b"abc");
        // Growing remaps the file: the bytes written before are still there.
        let bytes = shared.bytes(100_000).unwrap();
        assert_eq!(&bytes[..3], b"abc");
        bytes[99_999] = 7;
        // What a worker reads: the file itself, through its descriptor.
        let mut read = vec![0u8; 100_000];
        // SAFETY: pread into a buffer of that length, on a descriptor the test owns.
        let n = unsafe { libc::pread(shared.fd(), read.as_mut_ptr().cast(), read.len(), 0) };
        assert_eq!(n, 100_000);
        assert_eq!((&read[..3], read[99_999]), (&b"abc"[..], 7));
    }
}
