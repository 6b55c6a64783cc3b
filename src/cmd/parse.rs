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

/// How `parse` shows what it decodes (beside the zone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// `--mask-ids`: identifiers masked ([`Telegram::masked`]) in what is
    /// shown, for a bug report.
    pub mask_ids: bool,
    /// `--raw`: each telegram that would be shown is written as its text
    /// (masked with `mask_ids`, its CRC then computed again), CRLF after
    /// it, instead of JSON; input that never became a telegram is left out.
    pub raw: bool,
}

/// Decodes every telegram of `input`, writing one JSON object per line to
/// `out` (fragments that never completed get `{"discarded": …}`). Fails when
/// no telegram passed its checks.
pub fn run(input: &mut dyn Read, out: &mut dyn Write, zone: Zone) -> Result<(), ParseCommandError> {
    run_with(input, out, zone, ParseOptions::default())
}

/// [`run`] with `--mask-ids` and `--raw`.
pub fn run_with(
    input: &mut dyn Read,
    out: &mut dyn Write,
    zone: Zone,
    options: ParseOptions,
) -> Result<(), ParseCommandError> {
    let mut framer = Framer::new();
    let mut show = Shower::new(zone, options);
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        bytes += n as u64;
        framer.feed(&buf[..n], |ev| show.event(ev, out));
    }
    framer.finish(|ev| show.event(ev, out));
    if let Some(e) = show.io_err {
        return Err(e.into());
    }
    out.write_all(&show.lines)?;
    out.flush()?;
    if show.found == 0 {
        return Err(ParseCommandError::NoHeader { bytes });
    }
    if show.valid == 0 {
        return Err(ParseCommandError::NoValid {
            found: show.found,
            first: show.first_problem.unwrap_or_default(),
        });
    }
    Ok(())
}

/// The state of one run: the meter's acceptance, the telegram decoded into
/// again and again, and the output block.
struct Shower {
    zone: Zone,
    options: ParseOptions,
    telegram: Telegram,
    /// The masked copy shown with `--mask-ids`.
    masked: Telegram,
    acceptance: Acceptance,
    lines: Vec<u8>,
    found: u64,
    valid: u64,
    first_problem: Option<String>,
    io_err: Option<std::io::Error>,
}

impl Shower {
    fn new(zone: Zone, options: ParseOptions) -> Shower {
        Shower {
            zone,
            options,
            telegram: Telegram::new(),
            masked: Telegram::new(),
            acceptance: Acceptance::new(),
            lines: Vec::with_capacity(BLOCK + 8 * 1024),
            found: 0,
            valid: 0,
            first_problem: None,
            io_err: None,
        }
    }

    /// Shows one framed telegram or discarded fragment.
    fn event(&mut self, ev: FrameEvent<'_>, out: &mut dyn Write) {
        self.found += 1;
        let shown = match ev {
            FrameEvent::Telegram(frame) => self.telegram_line(frame),
            FrameEvent::Discarded(e) => {
                let msg = e.to_string();
                let line = self.discarded(&msg);
                self.first_problem.get_or_insert(msg);
                line
            }
        };
        // Writing into a `Vec` fails only for a value that refuses to
        // serialize, which none of these does.
        match shown {
            Ok(true) => {
                self.lines
                    .extend_from_slice(if self.options.raw { b"\r\n" } else { b"\n" })
            }
            Ok(false) => {}
            Err(e) => {
                self.io_err.get_or_insert(e.into());
            }
        }
        if self.lines.len() >= BLOCK {
            if let Err(e) = out.write_all(&self.lines) {
                self.io_err.get_or_insert(e);
            }
            self.lines.clear();
        }
    }

    /// Decodes and checks one telegram and writes what is shown of it;
    /// `Ok(false)` when nothing was written.
    fn telegram_line(&mut self, frame: &[u8]) -> serde_json::Result<bool> {
        let verdict = self
            .telegram
            .decode_into(frame)
            .map(|()| self.acceptance.check(&self.telegram));
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
                    Ok(()) => self.valid += 1,
                    Err(e) => {
                        self.first_problem.get_or_insert_with(|| e.to_string());
                    }
                }
                self.show_telegram()
            }
            // No header or end, noise that framed, or a CRC missing
            // after CRCs: nothing of it is trusted, so only why it
            // was dropped is shown.
            Ok(Err(e)) | Err(e) => {
                let msg = e.to_string();
                let line = self.discarded(&msg);
                self.first_problem.get_or_insert(msg);
                line
            }
        }
    }

    /// The decoded telegram (masked with `--mask-ids`), as JSON or text.
    fn show_telegram(&mut self) -> serde_json::Result<bool> {
        let shown = if self.options.mask_ids {
            // The same header and end, so it decodes as the original did.
            if let Err(e) = self.masked.decode_into(&self.telegram.masked()) {
                return self.discarded(&format!("cannot mask this telegram: {e}"));
            }
            &self.masked
        } else {
            &self.telegram
        };
        if self.options.raw {
            self.lines.extend_from_slice(shown.raw());
            return Ok(true);
        }
        serde_json::to_writer(&mut self.lines, &shown.json_view(self.zone))?;
        Ok(true)
    }

    /// `{"discarded": why}`, left out of `--raw` output.
    fn discarded(&mut self, why: &str) -> serde_json::Result<bool> {
        if self.options.raw {
            return Ok(false);
        }
        serde_json::to_writer(&mut self.lines, &Discarded { discarded: why })?;
        Ok(true)
    }
}
