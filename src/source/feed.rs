//! Bytes from a port, socket or file on their way to the pipeline, through
//! a Luxembourg (Smarty) deframer when the meter encrypts, and how a
//! source's Smarty keys show in its description (never the keys).

use super::pipeline::Pipeline;
use crate::state::Meter;
use dsmr_engine::smarty::{Decrypted, SmartyDeframer, SmartyError, SmartyKeys};
use std::fmt;
use std::sync::Arc;

/// How a source's `smarty` keys show in its description (never the keys).
pub(crate) fn fmt_smarty(f: &mut fmt::Formatter<'_>, keys: Option<&SmartyKeys>) -> fmt::Result {
    match keys.map(|k| k.auth_key) {
        None => Ok(()),
        Some(None) => f.write_str(", smarty-encrypted (no auth key)"),
        Some(Some(a)) if a == SmartyKeys::SMARTY_AUTH_KEY => {
            f.write_str(", smarty-encrypted (default auth key)")
        }
        Some(Some(_)) => f.write_str(", smarty-encrypted (own auth key)"),
    }
}

/// Bytes from a port or socket on their way to the meter: straight into
/// the pipeline, or first through a Smarty deframer that releases only
/// authenticated plaintext.
#[derive(Debug)]
pub(crate) struct Feed {
    pipeline: Pipeline,
    /// Boxed: the deframer is some 900 bytes that a meter without
    /// encryption (nearly all) would carry in its task for nothing.
    smarty: Option<Box<SmartyDeframer>>,
}

impl Feed {
    /// A feed for `meter`, decrypting when `smarty` keys are given.
    pub(crate) fn new(meter: Arc<Meter>, smarty: Option<&SmartyKeys>) -> Feed {
        Feed {
            pipeline: Pipeline::new(meter),
            smarty: smarty.map(|k| Box::new(SmartyDeframer::new(k.clone()))),
        }
    }

    /// Feeds bytes as read. A Smarty frame that fails authentication (wrong
    /// key, tampered or corrupted) or has a bad header is counted as
    /// `malformed` and logged, rate-limited; its bytes never reach the
    /// decoder. So is a frame whose counter did not increase: a meter
    /// never reuses one, so it is a replay.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let Feed { pipeline, smarty } = self;
        let Some(deframer) = smarty else {
            pipeline.feed(bytes);
            return;
        };
        let mut input = bytes;
        while let Some(result) = deframer.decode(&mut input) {
            match smarty_plaintext(result) {
                Ok(plaintext) => feed_plaintext(pipeline, plaintext),
                Err(why) => pipeline.reject(&why),
            }
        }
    }

    /// Asks the CPU for the meter's state before a read (see
    /// `Meter::prefetch_state`).
    pub(crate) fn prefetch_state(&self) {
        self.pipeline.meter().prefetch_state();
    }

    /// Ends the input (EOF, disconnect): an unfinished frame or telegram is
    /// counted as malformed.
    pub(crate) fn finish(&mut self) {
        if let Some(e) = self.smarty.as_deref_mut().and_then(SmartyDeframer::finish) {
            self.pipeline.reject(&smarty_reason(&e));
        }
        self.pipeline.finish();
    }
}

/// Feeds one decrypted telegram. Smarty plaintext ends at the CRC without
/// the line end that completes a frame, so one is added (a second line end
/// after one already there is skipped by the framer as noise).
pub(crate) fn feed_plaintext(pipeline: &mut Pipeline, plaintext: &[u8]) {
    pipeline.feed(plaintext);
    pipeline.feed(b"\r\n");
}

/// The plaintext of one deframed Smarty frame, or why it is refused: a
/// failed authentication or bad header, or a frame counter that did not
/// increase (a meter never reuses one, so the frame is a replay). The live
/// feed and a replay file refuse frames by this one rule, in the same words.
pub(crate) fn smarty_plaintext(
    result: Result<Decrypted<'_>, SmartyError>,
) -> Result<&[u8], String> {
    match result {
        Ok(frame) if frame.is_replay() => Err(format!(
            "smarty frame counter {} did not increase: replayed frame dropped",
            frame.frame_counter()
        )),
        Ok(frame) => Ok(frame.plaintext()),
        Err(e) => Err(smarty_reason(&e)),
    }
}

/// How a Smarty error reads in the log and as a replay reject.
pub(crate) fn smarty_reason(e: &SmartyError) -> String {
    format!("smarty: {e}")
}
