//! The OpenMetrics text writer: the spooled series read back family by
//! family (`# HELP`, `# TYPE`, then each sample with its time), formatted on
//! one thread while the caller's thread writes the blocks out, `# EOF` last.

use super::options::{BackfillError, QUEUED_BATCHES, READ_BLOCK};
use super::spool::{damaged, Records, Series, Spool, TAG_FLOAT, TAG_INT, TAG_SAME};
use crate::metrics::{MetricKind, Value};
use std::io::{Seek, SeekFrom, Write};
use std::sync::mpsc;

/// Appends the decimal text of `v`: it runs twice for every line of the
/// output, and `write!` costs several times more than `itoa`.
fn push_int(text: &mut Vec<u8>, v: i64, buf: &mut itoa::Buffer) {
    text.extend_from_slice(buf.format(v).as_bytes());
}

impl Series {
    /// Formats the spooled samples as OpenMetrics lines into `chunks`;
    /// stops early, without error, when the writing side is gone.
    fn replay(&mut self, chunks: &mut Chunks) -> Result<(), BackfillError> {
        let spool_err = |source| BackfillError::Spool {
            path: self.path.clone(),
            source,
        };
        self.file.flush().map_err(spool_err)?;
        let file = self.file.get_mut();
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        let mut input = Records::new(file);
        let (mut time, mut value) = (0i64, Value::Int(0));
        let mut num = itoa::Buffer::new();
        while let Some(tag) = input.byte().map_err(spool_err)? {
            let delta = input.varint().map_err(spool_err)?;
            time = time.wrapping_add_unsigned(delta);
            value = match tag {
                TAG_SAME => value,
                TAG_INT => {
                    let z = input.varint().map_err(spool_err)?;
                    Value::Int((z >> 1) as i64 ^ -((z & 1) as i64))
                }
                TAG_FLOAT => Value::Float(f64::from_le_bytes(input.array().map_err(spool_err)?)),
                _ => return Err(spool_err(damaged())),
            };
            let text = &mut chunks.buf;
            text.extend_from_slice(self.key.as_bytes());
            text.push(b' ');
            match value {
                Value::Int(v) => push_int(text, v, &mut num),
                // Display prints the shortest text that reads back as the
                // same double, and never an exponent.
                Value::Float(v) => {
                    let _ = write!(text, "{v}");
                }
            }
            text.push(b' ');
            push_int(text, time, &mut num);
            text.push(b'\n');
            if !chunks.maybe_send() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The formatted output on its way to the writing thread, in blocks;
/// written blocks come back for reuse.
struct Chunks {
    buf: Vec<u8>,
    tx: mpsc::SyncSender<Vec<u8>>,
    returned: mpsc::Receiver<Vec<u8>>,
    /// The writing side hung up (it failed): formatting more is useless.
    gone: bool,
}

impl Chunks {
    /// Sends the block when full; false when the writing side is gone.
    fn maybe_send(&mut self) -> bool {
        self.buf.len() < READ_BLOCK || self.send()
    }

    /// Sends the block; false when the writing side is gone.
    fn send(&mut self) -> bool {
        let next = match self.returned.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(READ_BLOCK + 1024),
        };
        let full = std::mem::replace(&mut self.buf, next);
        self.gone |= self.tx.send(full).is_err();
        !self.gone
    }
}

impl Spool {
    /// Writes every series, family by family in the exposition's order,
    /// each family described once, then `# EOF`. A scoped thread formats
    /// while this one writes, so formatting overlaps the output's I/O.
    pub(super) fn concatenate(&mut self, out: &mut dyn Write) -> Result<(), BackfillError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUED_BATCHES);
        let (back_tx, returned) = mpsc::channel::<Vec<u8>>();
        let series = &mut self.series;
        let (written, formatted) = std::thread::scope(|scope| {
            let formatter = scope.spawn(move || {
                let mut chunks = Chunks {
                    buf: Vec::with_capacity(READ_BLOCK + 1024),
                    tx,
                    returned,
                    gone: false,
                };
                format_all(series, &mut chunks)?;
                chunks.send();
                Ok::<(), BackfillError>(())
            });
            let mut written = Ok(());
            for chunk in &rx {
                written = out.write_all(&chunk);
                if written.is_err() {
                    break;
                }
                let _ = back_tx.send(chunk);
            }
            // Hanging up stops a formatter that is still going.
            drop(rx);
            let formatted = match formatter.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (written, formatted)
        });
        let write_err = |source| BackfillError::Write { source };
        written.map_err(write_err)?;
        formatted?;
        out.write_all(b"# EOF\n").map_err(write_err)?;
        out.flush().map_err(write_err)
    }
}

/// Every series in family order, each family's `# HELP` and `# TYPE` first.
fn format_all(series: &mut [Series], chunks: &mut Chunks) -> Result<(), BackfillError> {
    let mut order: Vec<usize> = (0..series.len()).collect();
    // Stable: series of a family keep the order they first appeared in.
    order.sort_by_key(|&i| series[i].fam);
    let mut current = None;
    for i in order {
        if chunks.gone {
            return Ok(());
        }
        let series = &mut series[i];
        if current != Some(series.fam) {
            current = Some(series.fam);
            let fam = series.fam;
            let kind = match fam.kind() {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
            };
            let name = fam.family_name();
            let _ = write!(
                chunks.buf,
                "# HELP {name} {}\n# TYPE {name} {kind}\n",
                fam.help()
            );
        }
        series.replay(chunks)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_format_like_display() {
        let cases = [
            0,
            7,
            -7,
            10,
            99,
            100,
            -101,
            7_668_414_000,
            i64::MAX,
            i64::MIN,
        ];
        let mut buf = itoa::Buffer::new();
        for v in cases {
            let mut text = b"x ".to_vec();
            push_int(&mut text, v, &mut buf);
            assert_eq!(text, format!("x {v}").as_bytes());
        }
    }
}
