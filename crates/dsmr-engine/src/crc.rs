//! CRC-16/ARC, the checksum DSMR 4 and later put after `!`, and
//! CRC-16/X25, which Holley meters (header `/HLY…`) compute instead.
//!
//! On x86-64 with PCLMULQDQ (detected at run time with the `std` feature, or
//! enabled at compile time without it) inputs of 64 bytes and more are folded
//! with carry-less multiplies, four 16-byte lanes at a time; everything else,
//! and the last bytes, go through slice-by-16 tables built at compile time.
//! Either way a 1 kB telegram is checked in well under a microsecond, so the
//! check never dominates decoding.

const POLY: u16 = 0xA001; // 0x8005 reflected

const fn tables() -> [[u16; 256]; 16] {
    let mut t = [[0u16; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 16 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

static T: [[u16; 256]; 16] = tables();

/// CRC-16/ARC (poly 0x8005 reflected, init 0, no final XOR) of `data`.
///
/// On x86-64 with PCLMULQDQ the bulk is folded 16 bytes at a time with
/// carry-less multiplies; elsewhere (and for short inputs) the tables.
#[inline]
pub fn crc16_arc(data: &[u8]) -> u16 {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        if data.len() >= 64 && std::is_x86_feature_detected!("pclmulqdq") {
            // SAFETY: the CPU supports PCLMULQDQ (checked just above), the
            // only feature `clmul::crc16_arc` is compiled for beyond the
            // x86-64 baseline (SSE2).
            return unsafe { clmul::crc16_arc(data) };
        }
    }
    // Without std there is no run-time detection: fold only when the build
    // targets a CPU that has PCLMULQDQ (`-C target-feature=+pclmulqdq` or a
    // `target-cpu` that includes it).
    #[cfg(all(
        target_arch = "x86_64",
        not(feature = "std"),
        target_feature = "pclmulqdq"
    ))]
    {
        if data.len() >= 64 {
            // SAFETY: PCLMULQDQ is enabled for the whole build (the cfg above).
            return unsafe { clmul::crc16_arc(data) };
        }
    }
    crc16_arc_table(data, 0)
}

// The folding code exists where it can run: with run-time detection (std),
// or where the build itself enables PCLMULQDQ.
#[cfg(all(
    target_arch = "x86_64",
    any(feature = "std", test, target_feature = "pclmulqdq")
))]
/// `x^n mod P` for the unreflected polynomial `P = x^16 + x^15 + x^2 + 1`.
const fn x_pow_mod(n: u32) -> u16 {
    let mut r: u32 = 1; // x^0
    let mut i = 0;
    while i < n {
        r <<= 1;
        if r & 0x1_0000 != 0 {
            r ^= 0x1_8005;
        }
        i += 1;
    }
    r as u16
}

#[cfg(all(
    target_arch = "x86_64",
    any(feature = "std", test, target_feature = "pclmulqdq")
))]
/// A remainder of degree < 16 as a 64-bit reflected operand: the
/// coefficient of `x^d` goes to bit `63 - d`.
const fn reflect64(c: u16) -> u64 {
    let mut r = 0u64;
    let mut d = 0;
    while d < 16 {
        if c & (1 << d) != 0 {
            r |= 1 << (63 - d);
        }
        d += 1;
    }
    r
}

/// Folding constants. A 16-byte block loaded little-endian holds, in bit
/// `k`, the coefficient of `x^(127 - k)` (ARC is bit-reflected). Its low
/// half `A` stands for `A * x^64`, its high half `B` for `B`; moving the
/// block 128 bits further means multiplying by `x^128`, i.e. by `x^192` and
/// `x^128` for the halves, which may be replaced by their remainders mod P
/// (the CRC only depends on the message mod P). A reflected 64x64 carry-less
/// product puts the coefficient of `x^(126 - k)` in bit `k`, one short of
/// the block layout, hence `x^191` and `x^127`.
/// Moving a block `n` bits further multiplies its halves by `x^(n+63)`
/// and `x^(n-1)` (see above, where `n` = 128); as one `(hi, lo)` pair.
#[cfg(all(
    target_arch = "x86_64",
    any(feature = "std", test, target_feature = "pclmulqdq")
))]
const fn fold_by(n: u32) -> (i64, i64) {
    (
        reflect64(x_pow_mod(n - 1)) as i64,
        reflect64(x_pow_mod(n + 63)) as i64,
    )
}

#[cfg(all(
    target_arch = "x86_64",
    any(feature = "std", test, target_feature = "pclmulqdq")
))]
mod clmul {
    use core::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_storeu_si128,
        _mm_xor_si128,
    };

    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(c: &[u8]) -> __m128i {
        let c: &[u8; 16] = c[..16].try_into().unwrap_or(&[0; 16]);
        // SAFETY: an unaligned 16-byte load from a 16-byte array.
        unsafe { _mm_loadu_si128(c.as_ptr().cast()) }
    }

    /// `s` moved by the distance `k` stands for, in the same layout.
    #[inline]
    #[target_feature(enable = "sse2,pclmulqdq")]
    fn fold(s: __m128i, k: __m128i) -> __m128i {
        let lo = _mm_clmulepi64_si128::<0x00>(s, k);
        let hi = _mm_clmulepi64_si128::<0x11>(s, k);
        _mm_xor_si128(lo, hi)
    }

    /// Constants computed at compile time (`fold_by` loops `n` times).
    const K128: (i64, i64) = super::fold_by(128);
    const K512: (i64, i64) = super::fold_by(512);

    #[inline]
    #[target_feature(enable = "sse2")]
    fn k((hi, lo): (i64, i64)) -> __m128i {
        _mm_set_epi64x(hi, lo)
    }

    /// CRC-16/ARC by folding; `data` must be at least 16 bytes long.
    ///
    /// Four blocks are folded side by side, 64 bytes per step, so that the
    /// multiplies' latencies overlap instead of forming one long chain.
    #[target_feature(enable = "sse2,pclmulqdq")]
    pub(super) fn crc16_arc(data: &[u8]) -> u16 {
        if data.len() < 16 {
            return super::crc16_arc_table(data, 0);
        }
        let mut s = load(&data[..16]);
        let rest = &data[16..];
        let mut tail = rest;
        if rest.len() >= 64 + 48 {
            // Lanes 1..3 start from the next three blocks; lane 0 holds the
            // first block and moves 64 bytes per step like the others.
            let (k512, k128) = (k(K512), k(K128));
            let mut lanes = [
                s,
                load(&rest[0..16]),
                load(&rest[16..32]),
                load(&rest[32..48]),
            ];
            let mut wide = rest[48..].chunks_exact(64);
            for c in &mut wide {
                for (j, lane) in lanes.iter_mut().enumerate() {
                    *lane = _mm_xor_si128(fold(*lane, k512), load(&c[16 * j..16 * j + 16]));
                }
            }
            s = lanes[0];
            for lane in &lanes[1..] {
                s = _mm_xor_si128(fold(s, k128), *lane);
            }
            tail = wide.remainder();
        }
        let k128 = k(K128);
        let mut chunks = tail.chunks_exact(16);
        for c in &mut chunks {
            s = _mm_xor_si128(fold(s, k128), load(c));
        }
        let mut folded = [0u8; 16];
        // SAFETY: an unaligned 16-byte store into a 16-byte array.
        unsafe { _mm_storeu_si128(folded.as_mut_ptr().cast(), s) };
        let crc = super::crc16_arc_table(&folded, 0);
        super::crc16_arc_table(chunks.remainder(), crc)
    }
}

/// CRC-16/ARC with tables, continuing from `crc`.
fn crc16_arc_table(data: &[u8], mut crc: u16) -> u16 {
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let x = crc ^ u16::from_le_bytes([c[0], c[1]]);
        crc = T[15][(x & 0xff) as usize]
            ^ T[14][(x >> 8) as usize]
            ^ T[13][c[2] as usize]
            ^ T[12][c[3] as usize]
            ^ T[11][c[4] as usize]
            ^ T[10][c[5] as usize]
            ^ T[9][c[6] as usize]
            ^ T[8][c[7] as usize]
            ^ T[7][c[8] as usize]
            ^ T[6][c[9] as usize]
            ^ T[5][c[10] as usize]
            ^ T[4][c[11] as usize]
            ^ T[3][c[12] as usize]
            ^ T[2][c[13] as usize]
            ^ T[1][c[14] as usize]
            ^ T[0][c[15] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ T[0][((crc ^ b as u16) & 0xff) as usize];
    }
    crc
}

/// CRC-16/X25 (poly 0x1021 reflected, init 0xFFFF, final XOR 0xFFFF) of
/// `data`: what Holley DTSD545 meters put after `!` instead of CRC-16/ARC.
///
/// One table lookup a byte: it runs only for `/HLY` headers (see
/// [`crate::telegram::CrcAlgorithm`]), never on the ARC meters' path.
pub fn crc16_x25(data: &[u8]) -> u16 {
    let mut crc = 0xFFFF_u16;
    for &b in data {
        crc = (crc >> 8) ^ X25[((crc ^ b as u16) & 0xff) as usize];
    }
    !crc
}

const X25_POLY: u16 = 0x8408; // 0x1021 reflected

const fn x25_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ X25_POLY
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static X25: [u16; 256] = x25_table();

/// Parses the 1 to 4 hex digits after `!` (either case; some heat meters
/// drop the leading zero).
pub fn parse_crc_digits(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    let mut v: u16 = 0;
    for &d in digits {
        let n = (d as char).to_digit(16)?;
        v = (v << 4) | n as u16;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    fn bitwise(data: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &b in data {
            crc ^= b as u16;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn check_value_of_the_catalogue() {
        // The CRC catalogue's check value for CRC-16/ARC.
        assert_eq!(crc16_arc(b"123456789"), 0xBB3D);
        assert_eq!(crc16_arc(b""), 0);
    }

    #[test]
    fn slice_by_16_matches_bitwise_at_every_length() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(crc16_arc(&data[..n]), bitwise(&data[..n]), "length {n}");
            assert_eq!(
                crc16_arc_table(&data[..n], 0),
                bitwise(&data[..n]),
                "length {n}"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn folding_matches_tables_on_random_input_at_every_length() {
        if !std::is_x86_feature_detected!("pclmulqdq") {
            return;
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut data = vec![0u8; 2100];
        for round in 0..4 {
            for b in data.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = match round {
                    0 => x as u8,
                    1 => 0xFF,
                    2 => 0,
                    _ => (x as u8) | 0x80,
                };
            }
            for n in 0..data.len() {
                // SAFETY: PCLMULQDQ is present (checked above).
                let fast = unsafe { clmul::crc16_arc(&data[..n]) };
                assert_eq!(
                    fast,
                    crc16_arc_table(&data[..n], 0),
                    "round {round} length {n}"
                );
            }
        }
    }

    #[test]
    fn x25_check_value_of_the_catalogue() {
        // The CRC catalogue's check value for CRC-16/X25 (CRC-16/IBM-SDLC).
        assert_eq!(crc16_x25(b"123456789"), 0x906E);
        assert_eq!(crc16_x25(b""), 0);
        // Bitwise, MSB-first form of the same CRC on another input.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 11 + 5) as u8).collect();
        let mut crc: u16 = 0xFFFF;
        for &b in &data {
            crc ^= b as u16;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x8408
                } else {
                    crc >> 1
                };
            }
        }
        assert_eq!(crc16_x25(&data), !crc);
        assert_ne!(crc16_x25(&data), crc16_arc(&data));
    }

    #[test]
    fn digits_any_case_and_short() {
        assert_eq!(parse_crc_digits(b"B9F"), Some(0x0B9F));
        assert_eq!(parse_crc_digits(b"ef2f"), Some(0xEF2F));
        assert_eq!(parse_crc_digits(b""), None);
        assert_eq!(parse_crc_digits(b"12345"), None);
        assert_eq!(parse_crc_digits(b"12G4"), None);
    }
}
