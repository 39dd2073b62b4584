//! A worker process: a child whose stdin and stdout carry frames, with a deadline on every exchange.
//!
//! One thread drives all three pipes with poll(2) on non-blocking descriptors: the request is written
//! while the reply (and the child's standard error) is read, so a child that stops reading cannot block
//! parsim, and a deadline covers the whole exchange, writing included.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::protocol::MAX_FRAME;

/// How long a child that closed its stdout may take to exit on its own before it is killed: its exit
/// status goes into the fit's message, which must not depend on the machine's load.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long a worker that is no longer needed has to exit on its own after its stdin is closed.
const END_GRACE: Duration = Duration::from_secs(1);

/// The pipe size asked for on Linux (its default `pipe-max-size`).
#[cfg(target_os = "linux")]
const PIPE_SIZE: libc::c_int = 1 << 20;

/// How much of the child's standard error is kept for messages (its last bytes).
const STDERR_TAIL: usize = 4096;

/// Why an exchange with the worker ended without a reply.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// No complete reply before the deadline.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The child closed its stdout (it exited or crashed).
    #[error("the worker process ended")]
    Ended,
    /// The child wrote something that is not a frame.
    #[error("{0}")]
    Garbage(String),
    /// The pipes failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A running worker process.
pub struct Process {
    child: Child,
    /// None once closed, when the process is being ended.
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    stderr: Option<ChildStderr>,
    /// The last [`STDERR_TAIL`] bytes the child wrote to its standard error.
    tail: VecDeque<u8>,
    /// Bytes of standard error read but not yet kept (reused).
    scratch: Vec<u8>,
    /// Bytes of standard output read past the last reply frame: the start of the next one.
    pending: Vec<u8>,
}

impl Process {
    /// Start `program` with `args` and the extra environment variables `env` in `directory`, its stdin
    /// and stdout piped for frames and its standard error kept for messages; it inherits the
    /// descriptor `inherit` (under the same number), when given.
    pub fn spawn(
        program: &Path,
        args: &[impl AsRef<OsStr>],
        env: &[(String, String)],
        directory: &Path,
        inherit: Option<RawFd>,
    ) -> io::Result<Process> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(directory)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C at the terminal stops parsim, which finishes its
            // in-flight units and then ends the workers; it must not kill them under a running fit.
            .process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent. The child is
        // killed when the thread that started it ends, which is the parsim worker that owns it (or
        // the whole process, when parsim is killed): no orphan outlives a SIGKILL of parsim.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // Clearing close-on-exec in the child alone: the parent's descriptor keeps it, so
                // no other child started meanwhile inherits the file.
                if let Some(fd) = inherit {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the child's pipes were not set up"));
        };
        for fd in [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()] {
            set_nonblocking(fd)?;
        }
        // A data set of 5,000 rows and 6 columns is 240 kB: through the default 64 kB pipe it would
        // take a dozen wake-ups of both processes. A larger pipe (best effort: the system may cap it)
        // takes it in one write.
        #[cfg(target_os = "linux")]
        for fd in [stdin.as_raw_fd(), stdout.as_raw_fd()] {
            // SAFETY: fcntl on a descriptor this process owns, with an integer argument.
            unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE) };
        }
        Ok(Process {
            child,
            stdin: Some(stdin),
            stdout,
            stderr: Some(stderr),
            tail: VecDeque::with_capacity(STDERR_TAIL),
            scratch: vec![0; 8192],
            pending: Vec::new(),
        })
    }

    /// Write the frame `request` and read one reply frame's payload into `reply`, all before
    /// `deadline` (none: no limit).
    ///
    /// An exchange costs four system calls when all goes well (the stderr check, the write, the poll
    /// for the reply, one read of it whole): at some 20 µs an exchange, each one saved shows.
    pub fn exchange(
        &mut self,
        request: &[u8],
        reply: &mut Vec<u8>,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), ExchangeError> {
        // Only what the child writes during this exchange is quoted in its messages, so that a
        // message does not depend on which units the same process served before.
        self.drain_stderr();
        self.tail.clear();
        let Some(stdin_fd) = self.stdin.as_ref().map(|s| s.as_raw_fd()) else {
            return Err(ExchangeError::Ended);
        };
        // The pipe nearly always has room for the whole request (a fit frame is a few hundred bytes
        // when the columns go through the shared file): it is written before any poll.
        let mut written = self.write_some(request)?;
        let mut frame = Frame::start(reply, &mut self.pending)?;
        loop {
            if frame.complete() && written == request.len() {
                frame.finish(reply, &mut self.pending);
                return Ok(());
            }
            let mut fds = [
                pollfd(self.stdout.as_raw_fd(), libc::POLLIN),
                pollfd(stdin_fd, libc::POLLOUT),
                pollfd(
                    self.stderr.as_ref().map_or(-1, |e| e.as_raw_fd()),
                    libc::POLLIN,
                ),
            ];
            if written == request.len() {
                fds[1].fd = -1;
            }
            if frame.complete() {
                fds[0].fd = -1;
            }
            let wait = match deadline {
                None => -1,
                Some((at, limit)) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ExchangeError::Timeout(limit));
                    }
                    // Rounded up, so that a wake-up is never before the deadline.
                    i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
                }
            };
            // SAFETY: `fds` is a valid array of three pollfd for the duration of the call.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            if fds[2].revents != 0 {
                self.drain_stderr();
            }
            if fds[1].revents != 0 && written < request.len() {
                written += self.write_some(&request[written..])?;
            }
            if fds[0].revents != 0 {
                match self.stdout.read(frame.space(reply)) {
                    Ok(0) => return Err(ExchangeError::Ended),
                    Ok(n) => frame.got(reply, n)?,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    /// Write as much of `bytes` as the pipe takes now; how much that was.
    fn write_some(&mut self, bytes: &[u8]) -> Result<usize, ExchangeError> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(ExchangeError::Ended);
        };
        let mut written = 0;
        while written < bytes.len() {
            match stdin.write(&bytes[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The child closed its stdin (it is exiting): its stdout says the rest.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(bytes.len()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(written)
    }

    /// Read what the child has written to its standard error, keeping the last bytes.
    fn drain_stderr(&mut self) {
        let Some(stderr) = self.stderr.as_mut() else {
            return;
        };
        loop {
            match stderr.read(&mut self.scratch) {
                Ok(0) => {
                    self.stderr = None;
                    return;
                }
                Ok(n) => {
                    let over = (self.tail.len() + n).saturating_sub(STDERR_TAIL);
                    self.tail.drain(..over.min(self.tail.len()));
                    let keep = &self.scratch[n.saturating_sub(STDERR_TAIL)..n];
                    self.tail.extend(keep);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: all read for now. Any other error: nothing more to learn from it.
                Err(_) => return,
            }
        }
    }

    /// The last lines the child wrote to its standard error (at most `lines`), trimmed; empty when it
    /// wrote nothing.
    pub fn stderr_tail(&mut self, lines: usize) -> String {
        self.drain_stderr();
        let (a, b) = self.tail.as_slices();
        let text = String::from_utf8_lossy(&[a, b].concat()).into_owned();
        let all: Vec<&str> = text.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Kill the child (if it still runs) and say how it ended: `exit status 3`, `killed by signal 9
    /// (SIGKILL)`.
    pub fn kill(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Ok(status),
            // It may be exiting on its own (it closed its stdout): give it a moment, then kill it.
            _ => {
                let until = Instant::now() + EXIT_GRACE;
                loop {
                    match self.child.try_wait() {
                        Ok(Some(status)) => break Ok(status),
                        Ok(None) if Instant::now() < until => {
                            std::thread::sleep(Duration::from_millis(2))
                        }
                        _ => {
                            let _ = self.child.kill();
                            break self.child.wait();
                        }
                    }
                }
            }
        };
        match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}{}", signal_name(signal)),
                _ => s.to_string(),
            },
            Err(e) => format!("unknown exit ({e})"),
        }
    }

    /// Kill the child without waiting for it to exit on its own.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A worker is between fits when it is dropped. Closing its stdin tells it to exit, which lets
        // the user's code end as it would anywhere (atexit handlers, profilers writing their output);
        // one that does not exit within a second is killed.
        self.stdin = None;
        let until = Instant::now() + END_GRACE;
        while Instant::now() < until {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                _ => return,
            }
        }
        self.kill_now();
    }
}

/// A reply frame being read into the caller's buffer: its four length bytes, then its payload. Reads
/// ask for as much as the buffer holds, so a reply usually arrives in one read; bytes past the frame
/// (which a well-behaved child never writes) are kept for the next exchange, whose frame they start,
/// as if the frame had been read to its end alone.
struct Frame {
    /// Bytes of the frame in the buffer.
    got: usize,
    /// The frame's length with its length bytes, once they are read.
    len: Option<usize>,
}

/// How much a read asks for while the frame's length is unknown.
const FIRST_READ: usize = 4096;

impl Frame {
    /// A frame that starts with the bytes left over from the last exchange.
    fn start(buffer: &mut Vec<u8>, pending: &mut Vec<u8>) -> Result<Frame, ExchangeError> {
        buffer.clear();
        buffer.extend_from_slice(pending);
        pending.clear();
        let mut frame = Frame { got: 0, len: None };
        let leftover = buffer.len();
        buffer.resize(leftover.max(FIRST_READ), 0);
        frame.got(buffer, leftover)?;
        Ok(frame)
    }

    fn complete(&self) -> bool {
        self.len.is_some_and(|len| self.got >= len)
    }

    /// Where the next read goes.
    fn space<'b>(&self, buffer: &'b mut [u8]) -> &'b mut [u8] {
        &mut buffer[self.got..]
    }

    /// `n` more bytes were read into the buffer.
    fn got(&mut self, buffer: &mut Vec<u8>, n: usize) -> Result<(), ExchangeError> {
        self.got += n;
        if self.len.is_none() && self.got >= 4 {
            let header = [buffer[0], buffer[1], buffer[2], buffer[3]];
            let len = u32::from_le_bytes(header) as usize;
            if len == 0 || len > MAX_FRAME {
                return Err(ExchangeError::Garbage(format!(
                    "the worker wrote {:?} where a frame's length belongs (does something print \
                     to standard output?)",
                    String::from_utf8_lossy(&header)
                )));
            }
            self.len = Some(4 + len);
            if buffer.len() < 4 + len {
                buffer.resize(4 + len, 0);
            }
        }
        Ok(())
    }

    /// The payload alone left in the buffer; bytes past it kept in `pending`.
    fn finish(self, buffer: &mut Vec<u8>, pending: &mut Vec<u8>) {
        let len = self.len.unwrap_or(self.got);
        pending.extend_from_slice(&buffer[len..self.got]);
        buffer.truncate(len);
        buffer.drain(..4);
    }
}

fn pollfd(fd: i32, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns, with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGFPE => " (SIGFPE)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reads` (what each read returns) to a frame; the payload, or the error.
    fn read_frame(
        reads: &[&[u8]],
        pending: &mut Vec<u8>,
        buffer: &mut Vec<u8>,
    ) -> Result<(), ExchangeError> {
        let mut frame = Frame::start(buffer, pending)?;
        let mut reads = reads.iter();
        while !frame.complete() {
            let bytes = reads.next().expect("the frame ends before the reads do");
            let space = frame.space(buffer);
            space[..bytes.len()].copy_from_slice(bytes);
            frame.got(buffer, bytes.len())?;
        }
        frame.finish(buffer, pending);
        Ok(())
    }

    #[test]
    fn a_frame_is_read_whole_in_pieces_and_bytes_past_it_start_the_next() {
        let (mut pending, mut buffer) = (Vec::new(), Vec::new());
        // The length split across reads, the payload across two more.
        read_frame(
            &[b"\x05\x00", b"\x00\x00Oa", b"bcd"],
            &mut pending,
            &mut buffer,
        )
        .unwrap();
        assert_eq!((&buffer[..], &pending[..]), (&b"Oabcd"[..], &b""[..]));
        // One read holding a frame and the start of another: the rest is kept...
        read_frame(&[b"\x01\x00\x00\x00R\x02\x00"], &mut pending, &mut buffer).unwrap();
        assert_eq!((&buffer[..], &pending[..]), (&b"R"[..], &b"\x02\x00"[..]));
        // ... and is the next frame's start.
        read_frame(&[b"\x00\x00E", b"x"], &mut pending, &mut buffer).unwrap();
        assert_eq!((&buffer[..], &pending[..]), (&b"Ex"[..], &b""[..]));
        // A frame longer than the first read's buffer.
        let mut long = vec![0x10, 0x27, 0, 0];
        long.extend(std::iter::repeat_n(b'F', 10_000));
        read_frame(&[&long[..3000], &long[3000..]], &mut pending, &mut buffer).unwrap();
        assert_eq!(buffer.len(), 10_000);
        assert!(buffer.iter().all(|&b| b == b'F'));
    }

    #[test]
    fn text_where_a_length_belongs_is_garbage() {
        let (mut pending, mut buffer) = (Vec::new(), Vec::new());
        let err = read_frame(&[b"hello\n"], &mut pending, &mut buffer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the worker wrote \"hell\" where a frame's length belongs (does something print to \
             standard output?)"
        );
        // Also when it follows a frame in the same read: the next exchange reports it.
        let mut pending = Vec::new();
        read_frame(&[b"\x01\x00\x00\x00Ohello"], &mut pending, &mut buffer).unwrap();
        assert_eq!(&buffer[..], b"O");
        assert!(read_frame(&[], &mut pending, &mut buffer).is_err());
    }
}
