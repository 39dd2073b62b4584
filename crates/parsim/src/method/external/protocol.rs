//! The wire format between parsim and a method's worker process, as docs/methods.md specifies it:
//! length-prefixed frames of little-endian integers, IEEE doubles and UTF-8 strings.
//!
//! Every frame is a `u32` payload length followed by the payload, whose first byte is the message type.
//! parsim sends `H` (hello) once, then `F` (fit) per data set; the worker answers `H` with `R` (ready)
//! or `E` (error), and `F` with `O` (outcome) or `E`.

use parsim_lmm::{ColumnRef, Columns};

use super::shared::Shared;

/// The protocol's version, sent in the hello frame; a worker that speaks another answers `E`.
pub const VERSION: u32 = 1;

/// The largest frame either side accepts: a bound on what a confused worker (one that prints text to
/// its standard output, say) can make parsim allocate, far above any data set's frame.
pub const MAX_FRAME: usize = 1 << 30;

/// Message types (the payload's first byte).
pub mod message {
    /// parsim → worker, once: version, method name, file, function.
    pub const HELLO: u8 = b'H';
    /// parsim → worker: one data set to fit.
    pub const FIT: u8 = b'F';
    /// worker → parsim: set up and waiting for data (answers `H`).
    pub const READY: u8 = b'R';
    /// worker → parsim: the estimates of one fit (answers `F`).
    pub const OUTCOME: u8 = b'O';
    /// worker → parsim: the hello or the fit failed, with a message (answers `H` or `F`).
    pub const ERROR: u8 = b'E';
}

/// Column types in a fit frame.
pub mod column {
    /// Little-endian f64 values.
    pub const FLOAT: u8 = 0;
    /// Little-endian i64 values.
    pub const INT: u8 = 1;
    /// Strings (u32 length, UTF-8 bytes), one per row.
    pub const TEXT: u8 = 2;
    /// Little-endian f64 values in the shared memory file, at the u64 byte offset that follows.
    pub const SHARED_FLOAT: u8 = 3;
    /// Little-endian i64 values in the shared memory file, likewise.
    pub const SHARED_INT: u8 = 4;
}

/// Bits of the optional flags byte that ends a ready frame: what the worker takes up.
pub mod ready {
    /// The worker reads numeric columns from the shared memory file offered in the hello frame.
    pub const SHARED: u8 = 1;
}

/// The hello frame's descriptor field when parsim offers no shared memory file.
pub const NO_SHARED: u32 = u32::MAX;

/// Bits of a result row's mask: which optional values the row carries, and its kind.
pub mod mask {
    /// The standard error is given.
    pub const SE: u8 = 1;
    /// The degrees of freedom are given (absent: normal reference).
    pub const DF: u8 = 2;
    /// The lower confidence limit is given.
    pub const CI_LOWER: u8 = 4;
    /// The upper confidence limit is given.
    pub const CI_UPPER: u8 = 8;
    /// The p-value is given.
    pub const P_VALUE: u8 = 16;
    /// The estimate is a variance component (SD, correlation), not a coefficient.
    pub const VARIANCE: u8 = 32;
}

/// Writes frames into a reused buffer.
pub struct FrameWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> FrameWriter<'a> {
    /// Start a frame of type `kind` in `buf` (its old contents are dropped, its capacity kept).
    pub fn new(buf: &'a mut Vec<u8>, kind: u8) -> FrameWriter<'a> {
        buf.clear();
        buf.extend_from_slice(&[0; 4]);
        buf.push(kind);
        FrameWriter { buf }
    }

    /// Append a byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Append a u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Append a u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Append an f64.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Append `n` eight-byte words: the buffer grows once and the copy runs as one loop over fixed-size
    /// chunks, which compiles to a plain copy (a push per value would check the capacity each time).
    fn words(&mut self, words: impl Iterator<Item = [u8; 8]>, n: usize) {
        let at = self.buf.len();
        self.buf.resize(at + 8 * n, 0);
        for (chunk, word) in self.buf[at..].chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word);
        }
    }

    /// Append a string (u32 byte length, then its bytes).
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u32(len32(s.len()));
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    /// Write the payload's length into the frame's first four bytes: the frame is complete.
    pub fn finish(self) -> Result<(), FrameError> {
        let payload = self.buf.len() - 4;
        if payload > MAX_FRAME {
            return Err(FrameError(format!(
                "the data set is {payload} bytes, more than a frame may hold ({MAX_FRAME})"
            )));
        }
        self.buf[..4].copy_from_slice(&len32(payload).to_le_bytes());
        Ok(())
    }
}

/// A length that fits in the u32 of a frame; larger ones are caught by [`FrameWriter::finish`].
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A frame that breaks the protocol.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FrameError(pub String);

/// The hello frame: protocol version, method name, file (empty when there is none), function, and the
/// descriptor of the shared memory file the worker may map ([`NO_SHARED`] when there is none).
pub fn hello(
    buf: &mut Vec<u8>,
    method: &str,
    file: &str,
    function: &str,
    shared: Option<i32>,
) -> Result<(), FrameError> {
    let mut w = FrameWriter::new(buf, message::HELLO);
    w.u32(VERSION).str(method).str(file).str(function);
    w.u32(
        shared
            .and_then(|fd| u32::try_from(fd).ok())
            .unwrap_or(NO_SHARED),
    );
    w.finish()
}

/// Where one unit's random numbers come from, as the fit frame carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// The study's seed.
    pub seed: u64,
    /// The condition's index.
    pub condition: u64,
    /// The replication's index.
    pub replication: u64,
    /// The method's stream key.
    pub key: u64,
    /// The PCG64 state of `default_rng(SeedSequence(seed, spawn_key=(condition, replication, key)))`.
    pub state: u128,
    /// Its PCG64 increment.
    pub inc: u128,
    /// The integer seed for languages without PCG64 (R's `set.seed`): the stream's first
    /// `integers(0, 2**31 - 1)`.
    pub integer_seed: i64,
}

/// The fit frame: the unit, the condition's parameters and the data set's columns (those named in
/// `only`, or all when it is empty), in the data set's order. With a `shared` file (one the worker
/// took up), the numeric columns' values go into it and the frame says where.
pub fn fit(
    buf: &mut Vec<u8>,
    unit: &Unit,
    parameters: &[(String, f64)],
    data: &dyn Columns,
    only: &[String],
    shared: Option<&mut Shared>,
) -> Result<(), FrameError> {
    let mut w = FrameWriter::new(buf, message::FIT);
    w.u64(unit.seed)
        .u64(unit.condition)
        .u64(unit.replication)
        .u64(unit.key)
        .u64((unit.state >> 64) as u64)
        .u64(unit.state as u64)
        .u64((unit.inc >> 64) as u64)
        .u64(unit.inc as u64)
        .u64(unit.integer_seed as u64);
    w.u32(len32(parameters.len()));
    for (name, value) in parameters {
        w.str(name).f64(*value);
    }
    let rows = data.nrows();
    w.u64(rows as u64);
    let wanted = |name: &str, values: &ColumnRef<'_>| {
        (only.is_empty() || only.iter().any(|c| c == name)) && values.len() == rows
    };
    let mut region = match shared {
        Some(shared) => Some(Region::new(shared, data, rows, &wanted)?),
        None => None,
    };
    // The column count goes before the columns; it is patched in once they are written.
    let count_at = w.buf.len();
    w.u32(0);
    let mut count = 0u32;
    let mut short = None;
    data.for_each_column(&mut |name, values| {
        if !only.is_empty() && !only.iter().any(|c| c == name) {
            return;
        }
        if values.len() != rows {
            short.get_or_insert_with(|| name.to_string());
            return;
        }
        count += 1;
        w.str(name);
        match (values, region.as_mut()) {
            (ColumnRef::Float(v), Some(region)) => {
                let at = region.put(v.iter().map(|x| x.to_le_bytes()), true);
                w.u8(column::SHARED_FLOAT).u64(at);
            }
            (ColumnRef::Int(v), Some(region)) => {
                let at = region.put(v.iter().map(|x| x.to_le_bytes()), false);
                w.u8(column::SHARED_INT).u64(at);
            }
            (ColumnRef::Float(v), None) => {
                w.u8(column::FLOAT);
                w.words(v.iter().map(|x| x.to_le_bytes()), v.len());
            }
            (ColumnRef::Int(v), None) => {
                w.u8(column::INT);
                w.words(v.iter().map(|x| x.to_le_bytes()), v.len());
            }
            (ColumnRef::Text(v), _) => {
                w.u8(column::TEXT);
                for s in v {
                    w.str(s);
                }
            }
        }
    });
    if let Some(name) = short {
        return Err(FrameError(format!(
            "column `{name}` does not have the data set's {rows} rows"
        )));
    }
    w.buf[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    w.finish()
}

/// The numeric columns' places in the shared file: the float columns first, side by side, then the
/// integer ones, so that a worker copies each group in one piece (pandas keeps one 2-D block per
/// dtype).
struct Region<'a> {
    bytes: &'a mut [u8],
    /// The bytes of one column.
    column: usize,
    /// The next float and integer columns' offsets.
    next: [usize; 2],
}

impl<'a> Region<'a> {
    fn new(
        shared: &'a mut Shared,
        data: &dyn Columns,
        rows: usize,
        wanted: &dyn Fn(&str, &ColumnRef<'_>) -> bool,
    ) -> Result<Region<'a>, FrameError> {
        let mut floats = 0usize;
        let mut ints = 0usize;
        data.for_each_column(&mut |name, values| match values {
            ColumnRef::Float(_) if wanted(name, &values) => floats += 1,
            ColumnRef::Int(_) if wanted(name, &values) => ints += 1,
            _ => {}
        });
        let too_large = || FrameError(format!("a data set of {rows} rows is too large"));
        let column = rows.checked_mul(8).ok_or_else(too_large)?;
        let len = column
            .checked_mul(floats + ints)
            .filter(|&n| n <= MAX_FRAME)
            .ok_or_else(too_large)?;
        let bytes = shared
            .bytes(len)
            .map_err(|e| FrameError(format!("cannot grow the shared memory file: {e}")))?;
        Ok(Region {
            bytes,
            column,
            next: [0, column * floats],
        })
    }

    /// Write one column's values (eight bytes each) at the next place of its type; its offset.
    fn put(&mut self, words: impl Iterator<Item = [u8; 8]>, float: bool) -> u64 {
        let slot = &mut self.next[usize::from(!float)];
        let at = *slot;
        *slot += self.column;
        for (chunk, word) in self.bytes[at..at + self.column]
            .chunks_exact_mut(8)
            .zip(words)
        {
            chunk.copy_from_slice(&word);
        }
        at as u64
    }
}

/// Reads the fields of a frame's payload in order.
pub struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `payload`.
    pub fn new(payload: &'a [u8]) -> Cursor<'a> {
        Cursor {
            buf: payload,
            at: 0,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(FrameError(format!(
                "the frame ends after {} bytes, inside a field at byte {}",
                self.buf.len(),
                self.at
            )));
        };
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    /// A u32.
    pub fn u32(&mut self) -> Result<u32, FrameError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u64.
    pub fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// An f64.
    pub fn f64(&mut self) -> Result<f64, FrameError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A string.
    pub fn str(&mut self) -> Result<&'a str, FrameError> {
        let n = self.u32()? as usize;
        let at = self.at;
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| FrameError(format!("the string at byte {at} is not UTF-8")))
    }

    /// Whether every byte has been read.
    pub fn is_done(&self) -> bool {
        self.at == self.buf.len()
    }
}

/// One row of an outcome frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// The term.
    pub term: &'a str,
    /// Which optional values are given ([`mask`]).
    pub mask: u8,
    /// Estimate, se, df, ci_lower, ci_upper, p_value (the absent ones as written, to be ignored).
    pub values: [f64; 6],
}

impl Row<'_> {
    /// The value at `index` of [`Row::values`] when `bit` of the mask says it is given.
    pub fn get(&self, bit: u8, index: usize) -> Option<f64> {
        (self.mask & bit != 0).then_some(self.values[index])
    }
}

/// A worker's answer.
#[derive(Debug)]
pub enum Reply<'a> {
    /// `R`: the worker is set up (the line about its interpreter that follows is for people reading
    /// the protocol, and skipped), and whether it reads columns from the shared file.
    Ready {
        /// The worker took up the shared memory file ([`ready::SHARED`]).
        shared: bool,
    },
    /// `E`: the hello or fit failed.
    Error(&'a str),
    /// `O`: a fit's status, message and rows (read them with [`Outcome::rows`]).
    Outcome(OutcomeFrame<'a>),
}

/// The header of an outcome frame, and a cursor at its rows.
#[derive(Debug)]
pub struct OutcomeFrame<'a> {
    /// `ok`, `singular` or `not_converged` (empty: `ok`).
    pub status: &'a str,
    /// Warnings or remarks (empty: none).
    pub message: &'a str,
    /// Number of rows.
    pub count: u32,
    rows: &'a [u8],
}

impl<'a> OutcomeFrame<'a> {
    /// The rows, in the order the worker wrote them; an error when the frame is cut short or too long.
    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'a>, FrameError>> + 'a {
        let mut cursor = Cursor::new(self.rows);
        let count = self.count;
        let mut k = 0;
        std::iter::from_fn(move || {
            if k == count {
                if !cursor.is_done() {
                    k += 1;
                    return Some(Err(FrameError(
                        "the outcome frame has bytes after its last row".into(),
                    )));
                }
                return None;
            }
            if k > count {
                return None;
            }
            k += 1;
            let row = (|| {
                let term = cursor.str()?;
                let mask = cursor.u8()?;
                let mut values = [0.0; 6];
                for v in &mut values {
                    *v = cursor.f64()?;
                }
                Ok(Row { term, mask, values })
            })();
            if row.is_err() {
                k = count + 1;
            }
            Some(row)
        })
    }
}

/// Decode a reply's payload (without its length prefix).
pub fn reply(payload: &[u8]) -> Result<Reply<'_>, FrameError> {
    let mut c = Cursor::new(payload);
    let kind = c.u8()?;
    let out = match kind {
        message::READY => {
            c.str()?;
            // The flags byte is optional: a worker that knows nothing of it ends the frame here.
            let flags = if c.is_done() { 0 } else { c.u8()? };
            Reply::Ready {
                shared: flags & ready::SHARED != 0,
            }
        }
        message::ERROR => Reply::Error(c.str()?),
        message::OUTCOME => {
            let status = c.str()?;
            let message = c.str()?;
            let count = c.u32()?;
            let rows = &payload[c.at..];
            return Ok(Reply::Outcome(OutcomeFrame {
                status,
                message,
                count,
                rows,
            }));
        }
        other => {
            return Err(FrameError(format!(
                "unknown message type {other:#04x} (expected R, O or E)"
            )))
        }
    };
    if !c.is_done() {
        return Err(FrameError(
            "the reply has bytes after its last field".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_frame_round_trips() {
        let mut buf = Vec::new();
        let mut w = FrameWriter::new(&mut buf, message::OUTCOME);
        w.str("not_converged").str("ConvergenceWarning: x").u32(2);
        w.str("X").u8(mask::SE | mask::DF);
        for v in [1.5, 0.25, 12.0, 0.0, 0.0, 0.0] {
            w.f64(v);
        }
        w.str("sd").u8(mask::VARIANCE);
        for v in [2.0, f64::NAN, 0.0, 0.0, 0.0, 0.0] {
            w.f64(v);
        }
        w.finish().unwrap();
        assert_eq!(
            u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize,
            buf.len() - 4
        );
        let Reply::Outcome(o) = reply(&buf[4..]).unwrap() else {
            panic!("an outcome")
        };
        assert_eq!(
            (o.status, o.message, o.count),
            ("not_converged", "ConvergenceWarning: x", 2)
        );
        let rows: Vec<Row<'_>> = o.rows().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows[0].term, "X");
        assert_eq!(rows[0].get(mask::SE, 1), Some(0.25));
        assert_eq!(rows[0].get(mask::DF, 2), Some(12.0));
        assert_eq!(rows[0].get(mask::P_VALUE, 5), None);
        assert_eq!(rows[1].mask, mask::VARIANCE);
    }

    /// The frame's columns as (name, type, offset or first value) in order, skipping the header.
    fn columns(frame: &[u8], rows: usize) -> Vec<(String, u8, u64)> {
        let mut c = Cursor::new(&frame[4..]);
        c.u8().unwrap();
        for _ in 0..9 {
            c.u64().unwrap();
        }
        for _ in 0..c.u32().unwrap() {
            c.str().unwrap();
            c.f64().unwrap();
        }
        assert_eq!(c.u64().unwrap(), rows as u64);
        let n = c.u32().unwrap();
        let mut out = Vec::new();
        for _ in 0..n {
            let name = c.str().unwrap().to_string();
            let kind = c.u8().unwrap();
            let first = match kind {
                column::SHARED_FLOAT | column::SHARED_INT | column::FLOAT | column::INT => {
                    let v = c.u64().unwrap();
                    if kind < column::SHARED_FLOAT {
                        c.take(8 * (rows - 1)).unwrap();
                    }
                    v
                }
                _ => {
                    for _ in 0..rows {
                        c.str().unwrap();
                    }
                    0
                }
            };
            out.push((name, kind, first));
        }
        assert!(c.is_done());
        out
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn numeric_columns_go_to_the_shared_file_floats_side_by_side_then_integers() {
        let data = parsim_lmm::DataFrame::parse_csv("x,g,s,y\n1.5,1,a,-2\n2.5,2,b,0.25\n", "test")
            .unwrap();
        let unit = Unit {
            seed: 1,
            condition: 2,
            replication: 3,
            key: 4,
            state: 5,
            inc: 6,
            integer_seed: 7,
        };
        let parameters = [("n".to_string(), 2.0)];
        let mut shared = Shared::create().unwrap();
        let mut buf = Vec::new();
        fit(&mut buf, &unit, &parameters, &data, &[], Some(&mut shared)).unwrap();
        let found = columns(&buf, 2);
        let expected = [
            ("x", column::SHARED_FLOAT, 0),
            ("g", column::SHARED_INT, 32),
            ("s", column::TEXT, 0),
            ("y", column::SHARED_FLOAT, 16),
        ];
        let found: Vec<(&str, u8, u64)> =
            found.iter().map(|(n, k, o)| (n.as_str(), *k, *o)).collect();
        assert_eq!(found, expected);
        let bytes = shared.bytes(48).unwrap();
        let word = |at: usize| <[u8; 8]>::try_from(&bytes[at..at + 8]).unwrap();
        let floats: Vec<f64> = (0..4).map(|k| f64::from_le_bytes(word(8 * k))).collect();
        assert_eq!(floats, [1.5, 2.5, -2.0, 0.25]);
        assert_eq!(
            (i64::from_le_bytes(word(32)), i64::from_le_bytes(word(40))),
            (1, 2)
        );
        // Without the file, the same columns travel in the frame.
        fit(
            &mut buf,
            &unit,
            &parameters,
            &data,
            &["y".to_string()],
            None,
        )
        .unwrap();
        let found = columns(&buf, 2);
        assert_eq!(
            found,
            [("y".to_string(), column::FLOAT, (-2.0f64).to_bits())]
        );
    }

    #[test]
    fn the_ready_frames_flags_are_optional() {
        let mut buf = Vec::new();
        let mut w = FrameWriter::new(&mut buf, message::READY);
        w.str("plain");
        w.finish().unwrap();
        assert!(matches!(
            reply(&buf[4..]),
            Ok(Reply::Ready { shared: false })
        ));
        let mut w = FrameWriter::new(&mut buf, message::READY);
        w.str("shared").u8(ready::SHARED);
        w.finish().unwrap();
        assert!(matches!(
            reply(&buf[4..]),
            Ok(Reply::Ready { shared: true })
        ));
        let mut w = FrameWriter::new(&mut buf, message::READY);
        w.str("long").u8(ready::SHARED).u8(0);
        w.finish().unwrap();
        assert!(reply(&buf[4..])
            .unwrap_err()
            .0
            .contains("after its last field"));
    }

    #[test]
    fn a_short_or_long_outcome_is_an_error() {
        let mut buf = Vec::new();
        let mut w = FrameWriter::new(&mut buf, message::OUTCOME);
        w.str("").str("").u32(1).str("X").u8(0).f64(1.0);
        w.finish().unwrap();
        let Reply::Outcome(o) = reply(&buf[4..]).unwrap() else {
            panic!("an outcome")
        };
        let rows: Vec<_> = o.rows().collect();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].as_ref().unwrap_err().0.contains("frame ends"));

        let mut w = FrameWriter::new(&mut buf, message::OUTCOME);
        w.str("").str("").u32(0).u8(7);
        w.finish().unwrap();
        let Reply::Outcome(o) = reply(&buf[4..]).unwrap() else {
            panic!("an outcome")
        };
        let rows: Vec<_> = o.rows().collect();
        assert!(rows[0]
            .as_ref()
            .unwrap_err()
            .0
            .contains("after its last row"));
        assert!(reply(b"Z")
            .unwrap_err()
            .0
            .contains("unknown message type 0x5a"));
    }
}
