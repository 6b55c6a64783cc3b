//! A serial port: the USB P1 cable, or any tty the meter's bytes arrive on.
//!
//! DSMR 4 and 5 meters send 115200 baud 8N1; DSMR 2.2 and 3.0 send 9600 baud
//! 7E1. A port that vanishes (cable unplugged), fails or hangs up is reopened
//! by the shared reconnect loop, so the exporter survives a replug.

use super::feed::fmt_smarty;
use super::reconnect::{reconnect_loop, Retry};
use crate::state::Meter;
use dsmr_engine::smarty::SmartyKeys;
use std::fmt;
use std::sync::Arc;

/// Bits per character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataBits {
    /// DSMR 2.2 / 3.0 (7E1).
    Seven,
    /// DSMR 4 and later (8N1).
    Eight,
}

/// Parity bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    None,
    Even,
    Odd,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopBits {
    One,
    Two,
}

/// A serial port and its line settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// Device path, e.g. `/dev/ttyUSB0` or a stable `/dev/serial/by-id/…` link.
    pub path: String,
    /// 115200 for DSMR 4/5, 9600 for DSMR 2.2/3.0.
    pub baud: u32,
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
    /// How a vanished or failed port is reopened.
    pub retry: Retry,
    /// Keys of a Luxembourg (Smarty) meter, whose frames are encrypted.
    pub smarty: Option<SmartyKeys>,
}

impl SerialConfig {
    /// 115200 8N1 (DSMR 4 and 5, e-MUCS, Smarty) on `path`.
    pub fn new(path: impl Into<String>) -> SerialConfig {
        SerialConfig {
            path: path.into(),
            baud: 115_200,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            retry: Retry::default(),
            smarty: None,
        }
    }

    /// The frame format in the usual short form, e.g. `8N1`, `7E1`.
    pub fn frame(&self) -> String {
        format!(
            "{}{}{}",
            match self.data_bits {
                DataBits::Seven => 7,
                DataBits::Eight => 8,
            },
            match self.parity {
                Parity::None => 'N',
                Parity::Even => 'E',
                Parity::Odd => 'O',
            },
            match self.stop_bits {
                StopBits::One => 1,
                StopBits::Two => 2,
            }
        )
    }
}

impl fmt::Display for SerialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "serial {} {} {}", self.path, self.baud, self.frame())?;
        fmt_smarty(f, self.smarty.as_ref())
    }
}

/// Reads the port forever, reopening it whenever it goes away.
pub async fn run(cfg: SerialConfig, meter: Arc<Meter>) {
    let what = cfg.to_string();
    let retry = cfg.retry;
    let smarty = cfg.smarty.clone();
    reconnect_loop(meter, what, retry, None, smarty.as_ref(), || {
        let cfg = cfg.clone();
        async move { open(&cfg) }
    })
    .await
}

fn open(cfg: &SerialConfig) -> std::io::Result<tokio_serial::SerialStream> {
    use tokio_serial::SerialPortBuilderExt;
    let stream = tokio_serial::new(cfg.path.as_str(), cfg.baud)
        .data_bits(match cfg.data_bits {
            DataBits::Seven => tokio_serial::DataBits::Seven,
            DataBits::Eight => tokio_serial::DataBits::Eight,
        })
        .parity(match cfg.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        })
        .stop_bits(match cfg.stop_bits {
            StopBits::One => tokio_serial::StopBits::One,
            StopBits::Two => tokio_serial::StopBits::Two,
        })
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
        .map_err(std::io::Error::from)
        .map_err(with_hint)?;
    Ok(stream)
}

/// Adds the usual fix to the error a user without access to the port gets.
fn with_hint(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied
        || e.to_string().contains("Permission denied")
    {
        std::io::Error::new(
            e.kind(),
            format!("{e} (add the user to the dialout group, or see README: permissions)"),
        )
    } else {
        e
    }
}
