//! `dsmr-exporter parse`: decode a capture and show what the engine sees,
//! so a user can check their meter before wiring Prometheus.
//!
//! Each line is `serde_json::to_writer` of the engine's JSON view
//! ([`Telegram::json_view`]) into one buffer reused for the whole run,
//! written out in blocks of about 64 KiB: no allocation per telegram, and
//! one `write` per block however the output is buffered (stdout is line
//! buffered).

use dsmr_engine::{Acceptance, Error as TelegramError, FrameEvent, Framer, Telegram, Zone};
use serde::Serialize;
use std::io::{Read, Write};
use thiserror::Error;

/// Why a capture gave no usable telegram.
#[derive(Debug, Error)]
pub enum ParseCommandError {
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Not one `/XXXn` header in the input.
    #[error("no telegram found in {bytes} bytes: no '/' header (a '/' followed by three letters and a digit); check the baud rate, parity and that the signal is inverted")]
    NoHeader { bytes: u64 },
    /// Telegrams were found but none was valid.
    #[error("{found} telegram(s) found but none is valid; first problem: {first}")]
    NoValid { found: u64, first: String },
}

/// The line for input that never became a telegram.
#[derive(Serialize)]
struct Discarded<'a> {
    discarded: &'a str,
}

/// Output is written when this much is buffered.
const BLOCK: usize = 64 * 1024;

/// Decodes every telegram of `input`, writing one JSON object per line to
/// `out` (fragments that never completed get `{"discarded": …}`). Fails when
/// no telegram passed its checks.
pub fn run(input: &mut dyn Read, out: &mut dyn Write, zone: Zone) -> Result<(), ParseCommandError> {
    let mut framer = Framer::new();
    let mut telegram = Telegram::new();
    let mut acceptance = Acceptance::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines: Vec<u8> = Vec::with_capacity(BLOCK + 8 * 1024);
    let mut found = 0u64;
    let mut valid = 0u64;
    let mut first_problem: Option<String> = None;
    let mut bytes = 0u64;
    let mut io_err: Option<std::io::Error> = None;
    let mut handle = |ev: FrameEvent<'_>, out: &mut dyn Write| {
        found += 1;
        // Writing into a `Vec` fails only for a value that refuses to
        // serialize, which none of these does.
        let written = match ev {
            FrameEvent::Telegram(frame) => {
                let verdict = telegram
                    .decode_into(frame)
                    .map(|()| acceptance.check(&telegram));
                match verdict {
                    // Valid, or a meter's telegram with a damaged CRC or
                    // without the CRC its version needs: shown, and the
                    // problem kept for the summary.
                    Ok(
                        checked @ (Ok(())
                        | Err(
                            TelegramError::CrcMismatch { .. } | TelegramError::MissingCrc { .. },
                        )),
                    ) => {
                        match checked {
                            Ok(()) => valid += 1,
                            Err(e) => {
                                first_problem.get_or_insert_with(|| e.to_string());
                            }
                        }
                        serde_json::to_writer(&mut lines, &telegram.json_view(zone))
                    }
                    // No header or end, noise that framed, or a CRC missing
                    // after CRCs: nothing of it is trusted, so only why it
                    // was dropped is shown.
                    Ok(Err(e)) | Err(e) => {
                        let msg = e.to_string();
                        let line =
                            serde_json::to_writer(&mut lines, &Discarded { discarded: &msg });
                        first_problem.get_or_insert(msg);
                        line
                    }
                }
            }
            FrameEvent::Discarded(e) => {
                let msg = e.to_string();
                let line = serde_json::to_writer(&mut lines, &Discarded { discarded: &msg });
                first_problem.get_or_insert(msg);
                line
            }
        };
        if let Err(e) = written {
            io_err.get_or_insert(e.into());
        }
        lines.push(b'\n');
        if lines.len() >= BLOCK {
            if let Err(e) = out.write_all(&lines) {
                io_err.get_or_insert(e);
            }
            lines.clear();
        }
    };
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        bytes += n as u64;
        framer.feed(&buf[..n], |ev| handle(ev, out));
    }
    framer.finish(|ev| handle(ev, out));
    if let Some(e) = io_err {
        return Err(e.into());
    }
    out.write_all(&lines)?;
    out.flush()?;
    if found == 0 {
        return Err(ParseCommandError::NoHeader { bytes });
    }
    if valid == 0 {
        return Err(ParseCommandError::NoValid {
            found,
            first: first_problem.unwrap_or_default(),
        });
    }
    Ok(())
}
