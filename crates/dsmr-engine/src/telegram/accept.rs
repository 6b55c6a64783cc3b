//! When a telegram without a CRC is believed, and the per-meter memory that
//! refuses one from a meter that has sent CRCs before.
//!
//! A CRC-16 tells a meter's telegram from line noise; without one, the text
//! itself has to. Random bytes at the wrong baud rate, or from an uninverted
//! cable, make a `/XXX5` header and a `!` line now and then, so a telegram
//! without a CRC is believed only when every line of it reads as a meter's
//! would ([`Telegram::plausible_without_crc`]), and only from a meter that
//! has not sent a CRC before ([`Acceptance`]).

use super::{CrcAlgorithm, CrcStatus, Error, Telegram};
use core::fmt;

/// The longest identification after `/XXXn` believed without a CRC; real
/// ones are under 25 bytes.
pub const MAX_IDENTIFICATION: usize = 64;

/// Why a telegram without a CRC does not look like a meter's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    /// The identification after `/XXXn` is empty, longer than
    /// [`MAX_IDENTIFICATION`], has no letter or digit, or holds a byte that
    /// is not printable ASCII.
    Header,
    /// A byte that is neither printable ASCII nor a tab or line end, at
    /// this offset of the text.
    Byte {
        /// Offset in the telegram's text (the `/` is 0).
        offset: u32,
    },
    /// A line is not an OBIS object the decoder reads without a field error.
    Line {
        /// 1-based line number (the header is line 1).
        line: u32,
    },
    /// No electricity register, meter time, version or equipment identifier.
    NoRegister,
}

impl fmt::Display for Implausible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Implausible::Header => f.write_str(
                "its header is not '/', three letters, a digit or '-' and a printable identification",
            ),
            Implausible::Byte { offset } => {
                write!(f, "byte {offset} is not printable ASCII")
            }
            Implausible::Line { line } => {
                write!(f, "line {line} is not an OBIS object that decodes")
            }
            Implausible::NoRegister => f.write_str(
                "it holds no electricity register, meter time, version or equipment identifier",
            ),
        }
    }
}

impl core::error::Error for Implausible {}

fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

impl Telegram {
    /// Whether the telegram reads as a meter's, the check that stands in
    /// for a CRC when there is none. All four must hold:
    ///
    /// 1. The header is `/`, three ASCII letters, a digit or `-`, then an
    ///    identification of 1 to [`MAX_IDENTIFICATION`] printable ASCII
    ///    bytes with at least one letter or digit.
    /// 2. Every byte of the text is printable ASCII, a tab, `\r` or `\n`.
    /// 3. Every line after the header is blank or an OBIS object the
    ///    decoder reads without a field error ([`Telegram::errors`] is
    ///    empty); an object of a code the engine does not know counts, as
    ///    it is well formed.
    /// 4. It holds at least one electricity register (`1-0:1.8.t`,
    ///    `1-0:2.8.t`, `1-0:1.7.0`, `1-0:2.7.0`), the meter time
    ///    (`0-0:1.0.0`), the version (`1-3:0.2.8`, `0-0:96.1.4`) or an
    ///    equipment identifier (`0-0:96.1.1`, `0-0:96.1.0`, `1-0:0.0.0`, an
    ///    M-Bus device's `0-n:96.1.0`).
    ///
    /// A telegram with a CRC that matches must still pass 1 and 4
    /// ([`Telegram::plausible_with_crc`]): one frame of noise in 65 536
    /// matches its own CRC by chance, and a property test over noise found
    /// one.
    pub fn plausible_without_crc(&self) -> Result<(), Implausible> {
        self.plausible_header()?;
        let raw = self.raw();
        if let Some(offset) = raw
            .iter()
            .position(|&b| !(printable(b) || matches!(b, b'\t' | b'\r' | b'\n')))
        {
            return Err(Implausible::Byte {
                offset: offset as u32,
            });
        }
        if let Some(e) = self.errors.first() {
            return Err(Implausible::Line { line: e.line });
        }
        self.holds_a_reading()
    }

    /// Rules 1 and 4 of [`Telegram::plausible_without_crc`], for a telegram
    /// whose CRC matches: a real meter's always passes them (the header, and
    /// a register, the time, the version or an id), noise that happens to
    /// match its CRC does not. The odd line stays allowed, as a CRC vouches
    /// for the bytes.
    pub fn plausible_with_crc(&self) -> Result<(), Implausible> {
        self.plausible_header()?;
        self.holds_a_reading()
    }

    /// Rule 1: the header's identification.
    fn plausible_header(&self) -> Result<(), Implausible> {
        let ident = self
            .raw()
            .get(5..self.header.end as usize)
            .unwrap_or_default();
        if ident.is_empty()
            || ident.len() > MAX_IDENTIFICATION
            || !ident.iter().all(|&b| printable(b))
            || !ident.iter().any(u8::is_ascii_alphanumeric)
        {
            return Err(Implausible::Header);
        }
        Ok(())
    }

    /// Rule 4: at least one register, the time, the version or an id.
    fn holds_a_reading(&self) -> Result<(), Implausible> {
        let register = self
            .imported
            .iter()
            .chain(&self.exported)
            .chain([&self.power_import, &self.power_export])
            .any(Option::is_some)
            || !self.imported_more.is_empty()
            || !self.exported_more.is_empty()
            || self.timestamp.is_some()
            || self.version.is_some()
            || self.emucs_version.is_some()
            || self.equipment_id.is_some()
            || self.serial.is_some()
            || self.device_id.is_some()
            || self.mbus.iter().any(|m| m.equipment_id.is_some());
        if !register {
            return Err(Implausible::NoRegister);
        }
        Ok(())
    }
}

/// The acceptance rule of one meter's stream of telegrams: [`Telegram::verify`]
/// plus the memory that the meter sends CRCs.
///
/// Once a telegram with a valid CRC has arrived, a telegram without one is
/// refused with [`Error::CrcDropped`]: a meter does not stop sending CRCs,
/// so it is noise that happened to frame (or a telegram whose CRC line was
/// cut). A CRC that does not match does not count as "sends CRCs": noise
/// makes four hex digits after a `!` too often, and would lock out a
/// DSMR 2.2/3.0 meter. A source that guards the bytes itself and may leave
/// the CRC off (`allow_missing_crc`, the HomeWizard API) keeps no memory.
///
/// It also remembers which CRC-16 the meter uses ([`CrcAlgorithm`]): a
/// Holley header is checked against X25 and ARC, and once one of them has
/// matched, a telegram that matches only the other is refused as
/// [`Error::CrcMismatch`] (with the CRC the meter's algorithm gives), so
/// damage that happens to match the second CRC does not get through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acceptance {
    allow_missing_crc: bool,
    crc_seen: bool,
    algorithm: Option<CrcAlgorithm>,
}

impl Acceptance {
    /// The rule for a stream of which nothing is known yet.
    pub fn new() -> Acceptance {
        Acceptance::default()
    }

    /// Accepts a telegram without a CRC even when it declares DSMR 4+ or
    /// e-MUCS, and after CRCs (see [`Telegram::verify`]); it must still be
    /// plausible.
    pub fn allow_missing_crc(mut self, allow: bool) -> Acceptance {
        self.allow_missing_crc = allow;
        self
    }

    /// True once a telegram with a valid CRC was accepted.
    pub fn crc_seen(&self) -> bool {
        self.crc_seen
    }

    /// The CRC-16 the meter's accepted telegrams matched, once one did.
    pub fn crc_algorithm(&self) -> Option<CrcAlgorithm> {
        self.algorithm
    }

    /// Accepts or refuses the next telegram of the stream.
    pub fn check(&mut self, t: &Telegram) -> Result<(), Error> {
        match t.crc {
            CrcStatus::Valid(sent) => match self.algorithm {
                Some(known) if known != t.crc_algorithm => {
                    let computed = known.compute(t.crc_covered());
                    return Err(Error::CrcMismatch { sent, computed });
                }
                _ => {
                    t.verify(self.allow_missing_crc)?;
                    self.crc_seen = true;
                    self.algorithm = Some(t.crc_algorithm);
                    return Ok(());
                }
            },
            CrcStatus::Missing if self.crc_seen && !self.allow_missing_crc => {
                return Err(Error::CrcDropped)
            }
            _ => {}
        }
        t.verify(self.allow_missing_crc)
    }
}
