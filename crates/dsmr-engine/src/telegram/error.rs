//! Why a telegram was refused as a whole, and why one of its fields was left
//! out.

use alloc::string::String;
use core::fmt;

use super::Implausible;
use crate::obis::Obis;
use crate::value::Unit;

/// Why a telegram as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The text does not start with `/`, three letters and a digit (or the
    /// Warmtelink's `-`).
    NoHeader,
    /// No `!` line (with at most four hex digits after it) ends the text.
    NoEnd,
    /// The CRC after `!` does not match the text.
    CrcMismatch {
        /// The four hex digits after `!`, as the meter sent them.
        sent: u16,
        /// The CRC of `/` … `!` as received: a bit flipped on the wire.
        computed: u16,
    },
    /// A DSMR 4+ or e-MUCS telegram came without its CRC.
    MissingCrc {
        /// The declared version (`50`, `50217`), owned so the error outlives
        /// the telegram it came from.
        version: String,
    },
    /// A telegram without a CRC from a meter that has sent one before
    /// (see [`super::Acceptance`]).
    CrcDropped,
    /// A telegram without a CRC that does not read as a meter's (see
    /// [`super::Telegram::plausible_without_crc`]): noise that framed.
    Implausible(Implausible),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoHeader => f.write_str(
                "no telegram header: byte 0 should be '/' followed by three letters and a digit",
            ),
            Error::NoEnd => f.write_str(
                "no '!' line ends the telegram (it is cut off or its CRC line is damaged)",
            ),
            Error::CrcMismatch { sent, computed } => write!(
                f,
                "CRC mismatch: the telegram says {sent:04X}, its content gives {computed:04X}"
            ),
            Error::MissingCrc { version } => write!(
                f,
                "CRC missing on a telegram that declares version {version}, which requires one"
            ),
            Error::CrcDropped => f.write_str(
                "CRC missing on a telegram from a meter that has sent CRCs: noise or a cut-off CRC line",
            ),
            Error::Implausible(why) => write!(
                f,
                "telegram without CRC refused as noise: {why} (check the baud rate, parity and that the signal is inverted)"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Why one field of a telegram was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// The line is not `code(value)…`, or its OBIS code is damaged.
    MalformedLine,
    /// A number did not parse.
    BadNumber {
        /// Which `(…)` group of the line, counted from 0.
        group: u8,
    },
    /// A timestamp is not a date. (Placeholders such as `632525252525W` in
    /// logs, peaks and M-Bus readings are dropped without an error.)
    BadTimestamp {
        /// Which `(…)` group of the line, counted from 0.
        group: u8,
    },
    /// The unit does not fit the register (`V` on an energy register).
    UnexpectedUnit {
        /// Which `(…)` group of the line, counted from 0.
        group: u8,
        /// The unit the meter wrote, so the report can name it.
        unit: Unit,
    },
    /// A value the register needs is missing.
    MissingValue {
        /// The group that should have held it, counted from 0.
        group: u8,
    },
    /// A log declared a different number of entries than it holds.
    CountMismatch {
        /// The count in the log's first group.
        declared: u32,
        /// The entries actually on the line.
        found: u32,
    },
}

impl fmt::Display for FieldErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldErrorKind::MalformedLine => {
                f.write_str("malformed line (not an OBIS code followed by parenthesised values)")
            }
            FieldErrorKind::BadNumber { group } => write!(f, "value {group} is not a number"),
            FieldErrorKind::BadTimestamp { group } => {
                write!(f, "value {group} is not a valid timestamp")
            }
            FieldErrorKind::UnexpectedUnit { group, unit } => write!(
                f,
                "value {group} has unit {unit:?}, which does not fit this register"
            ),
            FieldErrorKind::MissingValue { group } => write!(f, "value {group} is missing"),
            FieldErrorKind::CountMismatch { declared, found } => {
                write!(f, "declares {declared} entries but holds {found}")
            }
        }
    }
}

impl core::error::Error for FieldErrorKind {}

/// One field that was left out, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based line number in the telegram (the header is line 1).
    pub line: u32,
    /// The OBIS code, when it could be read.
    pub obis: Option<Obis>,
    /// What was wrong with it.
    pub kind: FieldErrorKind,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(o) = self.obis {
            write!(f, " ({o})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl core::error::Error for FieldError {}
