//! The `parse` command: telegrams in, a readable account out.
// stub: replaced by the lead's version at merge

use crate::dsmr::{FrameEvent, Framer, Telegram, Zone};
use std::io::{Read, Write};

/// Why the `parse` command failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Reading the input or writing the output failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Frames and decodes every telegram in `input` and writes one line per
/// telegram to `out`.
pub fn run(input: &mut dyn Read, out: &mut dyn Write, zone: Zone) -> Result<(), InspectError> {
    let _ = zone;
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let mut framer = Framer::new();
    let mut lines = Vec::new();
    let mut on = |ev: FrameEvent<'_>| match ev {
        FrameEvent::Telegram(t) => lines.push(match Telegram::decode(t) {
            Ok(t) => format!("telegram {} crc {:?}", t.header(), t.crc),
            Err(e) => format!("telegram refused: {e}"),
        }),
        FrameEvent::Discarded(e) => lines.push(format!("discarded: {e}")),
    };
    framer.feed(&bytes, &mut on);
    framer.finish(&mut on);
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(())
}
