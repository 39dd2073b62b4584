//! Where there is no `memfd_create`, parsim offers no shared memory file: the columns travel in the
//! fit frames.

use std::io;
use std::os::fd::RawFd;

/// No shared memory file can exist here (the type has no values).
pub enum Shared {}

impl Shared {
    /// Always unsupported.
    pub fn create() -> io::Result<Shared> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// Never called: there is no value to call it on.
    pub fn fd(&self) -> RawFd {
        match *self {}
    }

    /// Never called likewise.
    pub fn bytes(&mut self, _len: usize) -> io::Result<&mut [u8]> {
        match *self {}
    }
}
