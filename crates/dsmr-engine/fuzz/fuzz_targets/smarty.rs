//! Smarty (Luxembourg) streams through `SmartyDeframer` with fixed test
//! keys. The input is a script, not the stream itself, so that genuine
//! frames (which random bytes never are: AES-GCM) reach the decryptor:
//!
//! - byte 0: chunk size - 1 for the chunked run;
//! - byte 1: bit 0 = keys with the authentication key (AAD), bit 1 = raw
//!   noise (may contain `0xDB`, so false headers, bad lengths, failed
//!   authentication and resynchronisation);
//! - then records: a byte `t` and `t & 0x7F` bytes; `t & 0x80` seals those
//!   bytes as a frame (fixed system title, counter 1, 2, ...), otherwise
//!   they are noise (without raw noise, `0xDB` becomes `0xDA`).
//!
//! The stream goes through one deframer whole (`decode`) and through a
//! second one in chunks (`push` + `next_frame`); both end with `finish`.
//! Nothing is set up per run: the keyed ciphers, the four deframers (two
//! per key variant, each `reset` before use) and every buffer live across
//! runs, so a run costs what its bytes cost.
//! Checked:
//! - both runs give the same frames, errors and stats (chunking never
//!   changes the result; `regressions/smarty/` holds the input that once
//!   showed it did);
//! - every frame that authenticates is one that was sealed, in order
//!   (plaintext, title, counter), and the buffer stays within its cap;
//! - without raw noise: every sealed frame comes out, at its offset, with
//!   the noise before it counted, not a replay, and with no error.
#![no_main]

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};
use dsmr_engine::smarty::{SmartyDeframer, SmartyError, SmartyKeys, SmartyStats};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::sync::OnceLock;

/// athombv/node-dsmr-parser's test keys, as in the engine's tests.
const KEY: &str = "0123456789abcdef0123456789abcdef";
const AUTH: &str = "ffeeddccbbaa99887766554433221100";
const TITLE: [u8; 8] = *b"SAG\x01\x02\x03\x04\x05";
const MAX_FRAME_LEN: usize = 1024;

/// Each byte but `0xDB`, which becomes `0xDA`: noise that cannot start a
/// frame. A table rather than a compare, so that the coverage hooks do not
/// run once per noise byte.
const NO_TAG: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i == 0xDB { 0xDA } else { i as u8 };
        i += 1;
    }
    t
};

type SmartyGcm = AesGcm<Aes128, U12, U12>;

struct Warm {
    sealer: SmartyGcm,
    keys_plain: SmartyKeys,
    keys_auth: SmartyKeys,
    aad: [u8; 17],
}

fn warm() -> &'static Warm {
    static WARM: OnceLock<Warm> = OnceLock::new();
    WARM.get_or_init(|| {
        let key: [u8; 16] = hex(KEY);
        let mut aad = [0x30; 17];
        aad[1..].copy_from_slice(&hex::<16>(AUTH));
        Warm {
            sealer: SmartyGcm::new(&GenericArray::from(key)),
            keys_plain: SmartyKeys::from_hex(KEY, None).expect("key"),
            keys_auth: SmartyKeys::from_hex(KEY, Some(AUTH)).expect("keys"),
            aad,
        }
    })
}

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// A sealed frame: where it starts, the noise before it, its plaintext's
/// place in `Scratch::plain`, and its counter.
struct Sealed {
    offset: u64,
    noise_before: u64,
    plain: (usize, usize),
    counter: u32,
}

#[derive(Debug, PartialEq)]
enum Event {
    Frame {
        plain: Vec<u8>,
        title: [u8; 8],
        counter: u32,
        offset: u64,
        noise_before: u64,
        replay: bool,
    },
    Error(SmartyError),
}

struct Scratch {
    stream: Vec<u8>,
    plain: Vec<u8>,
    sealed: Vec<Sealed>,
    whole: Vec<Event>,
    chunked: Vec<Event>,
    /// Whole and chunked deframers without, then with, the auth key.
    deframers: [[SmartyDeframer; 2]; 2],
}

impl Scratch {
    fn new(w: &Warm) -> Scratch {
        let pair = |k: &SmartyKeys| {
            [
                SmartyDeframer::with_max_frame_len(k.clone(), MAX_FRAME_LEN),
                SmartyDeframer::with_max_frame_len(k.clone(), MAX_FRAME_LEN),
            ]
        };
        Scratch {
            stream: Vec::new(),
            plain: Vec::new(),
            sealed: Vec::new(),
            whole: Vec::new(),
            chunked: Vec::new(),
            deframers: [pair(&w.keys_plain), pair(&w.keys_auth)],
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new(warm()));
}

fn seal(w: &Warm, with_auth: bool, counter: u32, plaintext: &[u8], out: &mut Vec<u8>) {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&TITLE);
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    let len = 1 + 4 + plaintext.len() + 12;
    out.extend_from_slice(&[0xDB, 8]);
    out.extend_from_slice(&TITLE);
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    out.push(0x30);
    out.extend_from_slice(&counter.to_be_bytes());
    let body = out.len();
    out.extend_from_slice(plaintext);
    let aad: &[u8] = if with_auth { &w.aad } else { &[] };
    let tag = w
        .sealer
        .encrypt_in_place_detached(&GenericArray::from(nonce), aad, &mut out[body..])
        .expect("seal");
    out.extend_from_slice(&tag);
}

fn event(r: Result<dsmr_engine::smarty::Decrypted<'_>, SmartyError>) -> Event {
    match r {
        Ok(d) => Event::Frame {
            plain: d.plaintext().to_vec(),
            title: d.system_title(),
            counter: d.frame_counter(),
            offset: d.offset(),
            noise_before: d.noise_before(),
            replay: d.is_replay(),
        },
        Err(e) => Event::Error(e),
    }
}

fuzz_target!(|data: &[u8]| {
    let [chunk, flags, script @ ..] = data else {
        return;
    };
    let chunk = *chunk as usize + 1;
    let with_auth = flags & 1 != 0;
    let raw_noise = flags & 2 != 0;
    let w = warm();
    SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        s.stream.clear();
        s.plain.clear();
        s.sealed.clear();
        s.whole.clear();
        s.chunked.clear();

        let mut noise = 0u64;
        let mut rest = script;
        while let [t, tail @ ..] = rest {
            let n = ((t & 0x7F) as usize).min(tail.len());
            let (bytes, tail) = tail.split_at(n);
            rest = tail;
            if t & 0x80 != 0 {
                let counter = s.sealed.len() as u32 + 1;
                let start = s.plain.len();
                s.plain.extend_from_slice(bytes);
                s.sealed.push(Sealed {
                    offset: s.stream.len() as u64,
                    noise_before: noise,
                    plain: (start, s.plain.len()),
                    counter,
                });
                noise = 0;
                seal(w, with_auth, counter, bytes, &mut s.stream);
            } else {
                noise += n as u64;
                if raw_noise {
                    s.stream.extend_from_slice(bytes);
                } else {
                    s.stream
                        .extend(bytes.iter().map(|&b| NO_TAG[usize::from(b)]));
                }
            }
        }

        let [whole, chunked] = &mut s.deframers[usize::from(with_auth)];
        whole.reset();
        chunked.reset();
        // Whole: frames decrypted straight from the slice.
        let mut input = &s.stream[..];
        while let Some(r) = whole.decode(&mut input) {
            s.whole.push(event(r));
            assert!(whole.buffered_len() <= whole.buffer_capacity());
        }
        assert!(input.is_empty(), "decode returned None with input left");
        if let Some(e) = whole.finish() {
            s.whole.push(Event::Error(e));
        }

        // Chunked: push + next_frame.
        for mut c in s.stream.chunks(chunk) {
            loop {
                let n = chunked.push(c);
                c = &c[n..];
                assert!(chunked.buffered_len() <= chunked.buffer_capacity());
                while let Some(r) = chunked.next_frame() {
                    s.chunked.push(event(r));
                }
                if c.is_empty() {
                    break;
                }
                assert!(n > 0 || chunked.buffered_len() == 0, "push took nothing");
            }
        }
        if let Some(e) = chunked.finish() {
            s.chunked.push(Event::Error(e));
        }

        let stats: SmartyStats = whole.stats();
        assert_eq!(s.whole, s.chunked, "chunking changed the result");
        assert_eq!(stats, chunked.stats(), "chunking changed the stats");
        assert_eq!(whole.stream_offset(), s.stream.len() as u64);
        assert_eq!(chunked.stream_offset(), s.stream.len() as u64);

        // Every authenticated frame is a sealed one, in order.
        let mut next = 0;
        for e in &s.whole {
            if let Event::Frame {
                plain,
                title,
                counter,
                offset,
                noise_before,
                replay,
            } = e
            {
                let i = (next..s.sealed.len())
                    .find(|&i| s.sealed[i].counter == *counter)
                    .expect("a frame that was not sealed, or out of order");
                let f = &s.sealed[i];
                assert_eq!(&s.plain[f.plain.0..f.plain.1], &plain[..]);
                assert_eq!(*title, TITLE);
                assert!(!replay, "fresh counter taken for a replay");
                if !raw_noise {
                    assert_eq!(i, next, "sealed frame {next} lost");
                    assert_eq!(*offset, f.offset);
                    assert_eq!(*noise_before, f.noise_before);
                }
                next = i + 1;
            } else {
                assert!(raw_noise, "error without raw noise: {e:?}");
            }
        }
        if !raw_noise {
            assert_eq!(next, s.sealed.len(), "sealed frames lost at the end");
            assert_eq!(stats.frames, s.sealed.len() as u64);
            assert_eq!(stats.errors, 0);
        }
    });
});
