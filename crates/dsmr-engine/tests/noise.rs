//! Noise never becomes a telegram: the acceptance rule (`Acceptance`,
//! `Telegram::plausible_without_crc`) refuses random bytes at any baud
//! rate, with or without the high bit and with 7-bit parity, corpus
//! telegrams with a damaged byte or their CRC cut off, and DSMR 2.2/3.0
//! telegrams with a garbage line; every real telegram of the corpus is still
//! accepted.

mod common;

use dsmr_engine::telegram::Implausible;
use dsmr_engine::{Acceptance, CrcStatus, Error, FrameEvent, Framer, Telegram};
use proptest::prelude::*;

/// What a stream gave: telegrams accepted, and frames refused.
#[derive(Debug, Default)]
struct Outcome {
    accepted: Vec<Vec<u8>>,
    refused: Vec<Error>,
}

/// Frames, decodes and checks `stream` as one meter's, as the exporter's
/// pipeline does.
fn run(stream: &[u8], keep_bit7: bool) -> Outcome {
    let mut framer = Framer::new();
    if keep_bit7 {
        framer = framer.keep_bit7();
    }
    let mut acceptance = Acceptance::new();
    let mut t = Telegram::new();
    let mut out = Outcome::default();
    let mut on = |ev: FrameEvent<'_>| {
        if let FrameEvent::Telegram(f) = ev {
            match t.decode_into(f).and_then(|()| acceptance.check(&t)) {
                Ok(()) => out.accepted.push(t.raw().to_vec()),
                Err(e) => out.refused.push(e),
            }
        }
    };
    // Chunks like a serial read's, so a frame also spans blocks.
    for chunk in stream.chunks(1500) {
        framer.feed(chunk, &mut on);
    }
    framer.finish(&mut on);
    out
}

/// A fast deterministic byte source (SplitMix64): proptest picks the seed,
/// so megabytes cost no per-byte strategy.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// The characters of a P1 telegram: noise made of them frames far more
/// often than uniform bytes do, which is what a baud rate close to the
/// right one gives.
const P1_ALPHABET: &[u8] =
    b"0123456789ABCDEFKMWXZabcdefhkmsvw-:.()*/!\\ \r\n\r\n\r\n(((((()))))))!!!!////";

/// How noise reaches the framer.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Uniform bytes (a wrong baud rate at 8N1).
    Raw,
    /// Bit 7 set on every byte (an uninverted line idles high).
    HighSet,
    /// Bit 7 cleared on every byte.
    HighCleared,
    /// 7 data bits with even parity in bit 7 (7E1 read at 8N1).
    Even,
    /// 7 data bits with odd parity in bit 7.
    Odd,
    /// Bytes drawn from the P1 alphabet, then given even parity.
    P1Even,
}

const SHAPES: [Shape; 6] = [
    Shape::Raw,
    Shape::HighSet,
    Shape::HighCleared,
    Shape::Even,
    Shape::Odd,
    Shape::P1Even,
];

fn even(b: u8) -> u8 {
    let b = b & 0x7f;
    b | (((b.count_ones() & 1) as u8) << 7)
}

fn noise(seed: u64, len: usize, shape: Shape) -> Vec<u8> {
    let mut src = Bytes(seed);
    let mut v = src.fill(len);
    for b in &mut v {
        *b = match shape {
            Shape::Raw => *b,
            Shape::HighSet => *b | 0x80,
            Shape::HighCleared => *b & 0x7f,
            Shape::Even => even(*b),
            Shape::Odd => even(*b) ^ 0x80,
            Shape::P1Even => even(P1_ALPHABET[*b as usize % P1_ALPHABET.len()]),
        };
    }
    v
}

/// Every telegram of the corpus that is accepted on its own, each with the
/// CRC it carries.
fn corpus() -> Vec<(String, Vec<u8>, CrcStatus)> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(common::fixtures_dir())
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    for name in names {
        let bytes = common::fixture(&name);
        let mut framer = Framer::new();
        let mut t = Telegram::new();
        let mut on = |ev: FrameEvent<'_>| {
            if let FrameEvent::Telegram(f) = ev {
                if t.decode_into(f).and_then(|()| t.verify(false)).is_ok() {
                    out.push((name.clone(), f.to_vec(), t.crc));
                }
            }
        };
        framer.feed(&bytes, &mut on);
        framer.finish(&mut on);
    }
    out
}

fn with_crc() -> Vec<Vec<u8>> {
    corpus()
        .into_iter()
        .filter(|(_, _, c)| matches!(c, CrcStatus::Valid(_)))
        .map(|(_, f, _)| f)
        .collect()
}

fn without_crc() -> Vec<Vec<u8>> {
    corpus()
        .into_iter()
        .filter(|(_, _, c)| *c == CrcStatus::Missing)
        .map(|(_, f, _)| f)
        .collect()
}

/// Noise frames often enough for the rule to be what refuses it: over a
/// megabyte of P1-alphabet noise, hundreds of frames, none accepted.
#[test]
fn noise_frames_and_is_refused() {
    let mut frames = 0;
    for (i, shape) in SHAPES.into_iter().enumerate() {
        for keep in [false, true] {
            let out = run(&noise(i as u64, 1 << 20, shape), keep);
            assert!(out.accepted.is_empty(), "{shape:?}: {:?}", out.accepted);
            frames += out.refused.len();
        }
    }
    assert!(
        frames > 100,
        "only {frames} frames: the test does not reach the rule"
    );
}

/// Noise behind Holley headers, where CRC-16/X25 is tried as well as ARC:
/// every `/` of a megabyte of P1-alphabet noise starts `/HLY5`, so hundreds
/// of frames get both CRCs checked, and none is accepted.
#[test]
fn noise_behind_a_holley_header_is_refused() {
    for seed in 0..4u64 {
        let raw = noise(seed, 1 << 20, Shape::HighCleared);
        let mut stream = Vec::with_capacity(raw.len() * 2);
        for b in raw {
            let c = P1_ALPHABET[b as usize % P1_ALPHABET.len()];
            stream.push(c);
            if c == b'/' {
                stream.extend_from_slice(b"HLY5");
            }
        }
        let out = run(&stream, false);
        assert!(out.accepted.is_empty(), "{:?}", out.accepted);
        assert!(
            out.refused.len() > 100,
            "only {} frames: the test does not reach the rule",
            out.refused.len()
        );
    }
}

/// The examples of issue #12.
#[test]
fn a_bare_header_is_refused_alone_and_after_a_crc() {
    let bare = b"/ABC5\r\n\r\n!\r\n";
    let out = run(bare, false);
    assert!(out.accepted.is_empty());
    assert_eq!(out.refused, [Error::Implausible(Implausible::Header)]);
    let named = b"/ABC5 x\r\n\r\n!\r\n";
    assert_eq!(
        run(named, false).refused,
        [Error::Implausible(Implausible::NoRegister)]
    );
    let garbage = b"/ABC5 x\r\n\r\n0-0:1.0.0(230101120000W)\r\n\x01zz\r\n!\r\n";
    assert_eq!(
        run(garbage, true).refused,
        [Error::Implausible(Implausible::Byte { offset: 37 })]
    );
    let mut stream = with_crc().swap_remove(0);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(bare);
    stream.extend_from_slice(named);
    let out = run(&stream, false);
    assert_eq!(out.accepted.len(), 1, "{:?}", out.refused);
    assert_eq!(out.refused, [Error::CrcDropped, Error::CrcDropped]);
}

/// Every real telegram is still accepted through the stateful rule, each
/// fixture as one meter's stream.
#[test]
fn every_corpus_telegram_is_still_accepted() {
    let all = corpus();
    assert!(all.iter().any(|(_, _, c)| *c == CrcStatus::Missing));
    for (name, frame, _) in &all {
        let mut stream = frame.clone();
        stream.extend_from_slice(b"\r\n");
        let out = run(&stream, false);
        assert_eq!(out.accepted.len(), 1, "{name}: {:?}", out.refused);
    }
}

/// A meter that sent a CRC and then a telegram without one: refused.
#[test]
fn a_cut_off_crc_after_crcs_is_refused() {
    for frame in with_crc() {
        let bang = frame.iter().rposition(|&b| b == b'!').expect("a '!'");
        let mut stream = frame.clone();
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(&frame[..=bang]);
        stream.extend_from_slice(b"\r\n");
        let out = run(&stream, false);
        assert_eq!(out.accepted.len(), 1);
        assert_eq!(out.refused.len(), 1);
        assert!(matches!(
            out.refused[0],
            Error::CrcDropped | Error::MissingCrc { .. }
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Megabytes of noise of every shape, read with the high bit cleared
    /// (as the framer does) and kept: nothing accepted.
    #[test]
    fn random_bytes_are_never_accepted(
        seed in any::<u64>(),
        len in (64usize << 10)..(320 << 10),
        shape in prop::sample::select(SHAPES.to_vec()),
        keep in any::<bool>(),
    ) {
        let out = run(&noise(seed, len, shape), keep);
        prop_assert!(out.accepted.is_empty(), "{:?}", out.accepted);
    }

    /// A corpus telegram with a CRC, after itself, with one burst of up to
    /// 16 bits changed (which CRC-16 always detects; the 7-bit value of
    /// each byte changes and never becomes a line end, '!' or '/', which
    /// would reframe it): refused.
    #[test]
    fn a_damaged_telegram_after_its_meter_is_refused(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        flips in prop::collection::vec(1u8..0x80, 1..=2),
    ) {
        let all = with_crc();
        let frame = which.get(&all);
        let mut bad = frame.clone();
        let at = at.index(bad.len() - flips.len());
        for (i, f) in flips.iter().enumerate() {
            bad[at + i] ^= f;
        }
        prop_assume!(bad[at..at + flips.len()]
            .iter()
            .zip(&frame[at..at + flips.len()])
            .all(|(&b, &o)| !matches!(b & 0x7f, b'\n' | b'!' | b'/') && !matches!(o, b'\n' | b'!' | b'/')));
        let mut stream = frame.clone();
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(b"\r\n");
        let out = run(&stream, false);
        prop_assert_eq!(out.accepted.len(), 1, "{:?}", out.refused);
    }

    /// A DSMR 2.2/3.0 telegram with a line of garbage inserted between two
    /// of its lines: refused, alone and after itself.
    #[test]
    fn a_garbage_line_in_a_telegram_without_crc_is_refused(
        which in any::<prop::sample::Index>(),
        line in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 4..64),
    ) {
        let masked: Vec<u8> = garbage.iter().map(|b| b & 0x7f).collect();
        prop_assume!(!masked.iter().any(|b| matches!(b, b'\n' | b'!' | b'/')));
        prop_assume!(masked.iter().any(|b| !matches!(b, b' ' | b'\r' | b'\t')));
        let all = without_crc();
        let frame = which.get(&all);
        let ends: Vec<usize> = frame
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        let at = *line.get(&ends);
        let mut bad = frame[..at].to_vec();
        bad.extend_from_slice(&garbage);
        bad.extend_from_slice(b"\r\n");
        bad.extend_from_slice(&frame[at..]);
        bad.extend_from_slice(b"\r\n");
        let out = run(&bad, false);
        prop_assert!(out.accepted.is_empty(), "{:?}", String::from_utf8_lossy(&bad));
        let mut stream = frame.clone();
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(&bad);
        let out = run(&stream, false);
        prop_assert_eq!(out.accepted.len(), 1);
    }
}
