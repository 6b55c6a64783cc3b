//! The Smarty deframer against the published test vectors and frames built
//! here with aes-gcm.

mod common;

use common::counting;
use common::smarty::encrypt;
use common::{fixture, hex_fixture};
use dsmr_engine::smarty::{
    Decrypted, KeyError, KeyKind, SmartyDeframer, SmartyError, SmartyKeys, SmartyStats,
    DEFAULT_MAX_FRAME_LEN,
};

/// athombv/node-dsmr-parser `tests/test-utils.ts`.
const KEY: &str = "0123456789abcdef0123456789abcdef";
const AUTH: &str = "ffeeddccbbaa99887766554433221100";
const VECTOR_COUNTER: u32 = 0x1122_3344;

fn with_aad() -> Vec<u8> {
    hex_fixture("lu_smarty_encrypted_with_aad.hex")
}

fn without_aad() -> Vec<u8> {
    hex_fixture("lu_smarty_encrypted_without_aad.hex")
}

/// The vectors' plaintext is the spec example without the blank line after
/// the header (INDEX.md) and, as decrypting shows, without the CRLF after
/// `!8B52` (1485 bytes of ciphertext). Both differences are removed
/// explicitly so that every other byte is compared.
fn vector_plaintext() -> Vec<u8> {
    let mut text = fixture("lu_smarty_spec_example_4mbus.txt");
    let header_end = text
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("header line")
        + 2;
    assert_eq!(
        text.get(header_end..header_end + 2),
        Some(&b"\r\n"[..]),
        "blank line after header"
    );
    text.drain(header_end..header_end + 2);
    assert!(text.ends_with(b"!8B52\r\n"));
    text.truncate(text.len() - 2);
    assert_eq!(text.len(), 1485);
    text
}

fn keys(auth: Option<&str>) -> SmartyKeys {
    SmartyKeys::from_hex(KEY, auth).expect("valid keys")
}

/// What the deframer produced, owned so that results can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Frame {
        plaintext: Vec<u8>,
        title: [u8; 8],
        counter: u32,
        offset: u64,
    },
    Error(SmartyError),
}

impl Item {
    fn from(result: Result<Decrypted<'_>, SmartyError>) -> Item {
        match result {
            Ok(f) => Item::Frame {
                plaintext: f.plaintext().to_vec(),
                title: f.system_title(),
                counter: f.frame_counter(),
                offset: f.offset(),
            },
            Err(e) => Item::Error(e),
        }
    }
}

/// Feeds `chunks` through `decode`, checking the buffer bound throughout.
fn run_chunks<'a>(d: &mut SmartyDeframer, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Item> {
    let mut items = Vec::new();
    for chunk in chunks {
        let mut input = chunk;
        while let Some(r) = d.decode(&mut input) {
            items.push(Item::from(r));
        }
        assert!(input.is_empty());
        assert!(d.buffered_len() <= d.buffer_capacity());
    }
    items
}

/// Decodes a whole stream; a frame left incomplete at the end is reported.
fn run(keys: SmartyKeys, stream: &[u8]) -> Vec<Item> {
    let mut d = SmartyDeframer::new(keys);
    let mut items = run_chunks(&mut d, [stream]);
    items.extend(d.finish().map(Item::Error));
    items
}

fn frames(items: &[Item]) -> Vec<&Item> {
    items
        .iter()
        .filter(|i| matches!(i, Item::Frame { .. }))
        .collect()
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn raw_keys() -> ([u8; 16], [u8; 16]) {
    let k = keys(Some(AUTH));
    (k.encryption_key, k.auth_key.expect("auth key"))
}

fn vector_frame(offset: u64) -> Item {
    Item::Frame {
        plaintext: vector_plaintext(),
        title: *b"systitle",
        counter: VECTOR_COUNTER,
        offset,
    }
}

#[test]
fn vector_with_aad_decrypts_with_auth_key() {
    let items = run(keys(Some(AUTH)), &with_aad());
    assert_eq!(items, vec![vector_frame(0)]);
}

#[test]
fn vector_without_aad_decrypts_without_auth_key() {
    let items = run(keys(None), &without_aad());
    assert_eq!(items, vec![vector_frame(0)]);
}

#[test]
fn vector_plaintext_is_byte_exact_and_decrypted_has_metadata() {
    let stream = with_aad();
    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let mut input = &stream[..];
    let frame = d.decode(&mut input).expect("a result").expect("decrypts");
    let expected = vector_plaintext();
    assert_eq!(frame.plaintext().len(), expected.len());
    for (i, (got, want)) in frame.plaintext().iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "plaintext byte {i}");
    }
    assert!(frame
        .plaintext()
        .starts_with(b"/Lux5\\253694471_M\r\n1-3:0.2.8(42)\r\n"));
    assert_eq!(&frame.system_title(), b"systitle");
    assert_eq!(frame.frame_counter(), VECTOR_COUNTER);
    assert_eq!(frame.offset(), 0);
    assert_eq!(frame.noise_before(), 0);
    assert!(!frame.is_replay());
    assert!(input.is_empty());
    assert!(d.decode(&mut input).is_none());
    assert_eq!(d.buffered_len(), 0);
    assert_eq!(d.stream_offset(), 1515);
    let stats = d.stats();
    assert_eq!((stats.frames, stats.errors, stats.noise_bytes), (1, 0, 0));
}

/// Once built, the deframer allocates nothing, whether frames arrive whole,
/// split, byte by byte, through push, or fail authentication.
#[test]
fn steady_state_allocates_nothing() {
    let frame = with_aad();
    let mut stream = b"noise".to_vec();
    for _ in 0..4 {
        stream.extend_from_slice(&frame);
    }
    let mut tampered = frame.clone();
    tampered[100] ^= 1;
    stream.extend_from_slice(&tampered);
    stream.extend_from_slice(&frame);

    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let before = counting::allocations();
    let (mut ok, mut failed) = (0, 0);
    let mut tally = |r: Result<Decrypted<'_>, SmartyError>| match r {
        Ok(f) if f.plaintext().len() == 1485 => ok += 1,
        _ => failed += 1,
    };
    for chunk in [&stream[..], &stream[..1], &stream[1..700], &stream[700..]] {
        let mut input = chunk;
        while let Some(r) = d.decode(&mut input) {
            tally(r);
        }
    }
    for chunk in stream.chunks(1).chain(stream.chunks(997)) {
        let mut input = chunk;
        while let Some(r) = d.decode(&mut input) {
            tally(r);
        }
    }
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let n = d.push(rest);
        rest = &rest[n..];
        while let Some(r) = d.next_frame() {
            tally(r);
        }
    }
    assert_eq!(counting::allocations() - before, 0);
    assert_eq!((ok, failed), (5 * 5, 5));
    let probe = counting::allocations();
    drop(std::hint::black_box(vec![0u8; 64]));
    assert_eq!(counting::allocations(), probe + 1, "the counter counts");
}

/// A frame that fails authentication and ends in `0xDB`: the deframer
/// resumes the same way whether the byte after it came in the same read or
/// not (found by the `smarty` fuzz target; regressions/smarty/ holds its
/// input).
#[test]
fn a_failed_frame_ending_in_the_tag_resyncs_the_same_however_split() {
    let key = keys(None).encryption_key;
    let title = *b"SAG\x01\x02\x03\x04\x05";
    let mut bad = encrypt(key, None, title, 1, b"/ISK5\\2M550T-1013\r\n\r\n!\r\n");
    let last = bad.len() - 1;
    bad[last - 1] ^= 1; // the tag no longer verifies, whatever the last byte is
    bad[last] = 0xDB;
    let good = encrypt(key, None, title, 2, b"/ISK5\\2M550T-1013\r\n\r\n!\r\n");
    let mut stream = bad;
    stream.push(0x00);
    stream.extend_from_slice(&good);

    let mut whole = SmartyDeframer::new(keys(None));
    let mut input = &stream[..];
    let mut whole_items = Vec::new();
    while let Some(r) = whole.decode(&mut input) {
        whole_items.push(Item::from(r));
    }
    whole_items.extend(whole.finish().map(|e| Item::from(Err(e))));

    let mut split = SmartyDeframer::new(keys(None));
    let mut split_items = Vec::new();
    for byte in stream.chunks(1) {
        let mut rest = byte;
        while !rest.is_empty() {
            let n = split.push(rest);
            rest = &rest[n..];
            while let Some(r) = split.next_frame() {
                split_items.push(Item::from(r));
            }
        }
    }
    split_items.extend(split.finish().map(|e| Item::from(Err(e))));

    assert_eq!(whole_items, split_items);
    assert_eq!(whole.stats(), split.stats());
    let frames = whole_items
        .iter()
        .filter(|i| matches!(i, Item::Frame { .. }))
        .count();
    assert_eq!(
        frames, 1,
        "the good frame after the failed one: {whole_items:?}"
    );
}

#[test]
fn aad_variant_must_match_the_configured_keys() {
    let auth_error = Item::Error(SmartyError::Authentication {
        offset: 0,
        frame_counter: VECTOR_COUNTER,
    });
    assert_eq!(run(keys(None), &with_aad()), vec![auth_error.clone()]);
    assert_eq!(
        run(keys(Some(AUTH)), &without_aad()),
        vec![auth_error.clone()]
    );
    // Smarty's published auth key is not the one the vectors used.
    let smarty = SmartyKeys::from_hex(KEY, Some("00112233445566778899AABBCCDDEEFF")).expect("keys");
    assert_eq!(smarty.auth_key, Some(SmartyKeys::SMARTY_AUTH_KEY));
    assert_eq!(run(smarty, &with_aad()), vec![auth_error]);
}

#[test]
fn wrong_key_fails_authentication() {
    let wrong = SmartyKeys::from_hex("0123456789abcdef0123456789abcdee", Some(AUTH)).expect("keys");
    let items = run(wrong, &with_aad());
    assert_eq!(
        items,
        vec![Item::Error(SmartyError::Authentication {
            offset: 0,
            frame_counter: VECTOR_COUNTER
        })]
    );
    let message = match &items[0] {
        Item::Error(e) => e.to_string(),
        Item::Frame { .. } => unreachable!(),
    };
    assert!(message.contains("stream offset 0"), "{message}");
    assert!(
        message.contains(&format!("frame counter {VECTOR_COUNTER}")),
        "{message}"
    );
    assert!(message.contains("authentication failed"), "{message}");
}

#[test]
fn flipped_ciphertext_byte_fails() {
    let mut frame = with_aad();
    frame[18 + 700] ^= 0x01;
    assert_eq!(
        run(keys(Some(AUTH)), &frame),
        vec![Item::Error(SmartyError::Authentication {
            offset: 0,
            frame_counter: VECTOR_COUNTER
        })]
    );
}

/// No single flipped bit anywhere (header, counter, ciphertext, tag) yields
/// a frame: either the header is rejected or authentication fails.
#[test]
fn any_corruption_yields_no_plaintext() {
    let frame = with_aad();
    for i in 0..frame.len() {
        for mask in [0x01, 0x80] {
            let mut bad = frame.clone();
            bad[i] ^= mask;
            let items = run(keys(Some(AUTH)), &bad);
            assert!(
                frames(&items).is_empty(),
                "flip {mask:#x} at {i}: {items:?}"
            );
            assert!(
                !items.is_empty(),
                "flip {mask:#x} at {i}: no error reported"
            );
        }
    }
}

#[test]
fn header_errors_say_what_and_where() {
    let k = || keys(Some(AUTH));
    let good = with_aad();
    let mut bad_title = good.clone();
    bad_title[1] = 7;
    assert_eq!(
        run(k(), &bad_title)[0],
        Item::Error(SmartyError::SystemTitleLength { offset: 0, len: 7 })
    );
    let mut bad_security = good.clone();
    bad_security[13] = 0x20;
    assert_eq!(
        run(k(), &bad_security)[0],
        Item::Error(SmartyError::SecurityControl {
            offset: 0,
            byte: 0x20
        })
    );
    let mut bad_prefix = good.clone();
    bad_prefix[10] = 0x83;
    let items = run(k(), &bad_prefix);
    assert_eq!(
        items[0],
        Item::Error(SmartyError::LengthEncoding {
            offset: 0,
            byte: 0x83
        })
    );
    assert!(SmartyError::LengthEncoding {
        offset: 0,
        byte: 0x83
    }
    .to_string()
    .contains("0x83"));
    let mut too_short = good.clone();
    too_short[10..13].copy_from_slice(&[0x82, 0x00, 0x10]);
    assert_eq!(
        run(k(), &too_short)[0],
        Item::Error(SmartyError::TooShort { offset: 0, len: 16 })
    );
}

#[test]
fn every_split_point_gives_the_same_result() {
    let frame = with_aad();
    let expected = vec![vector_frame(0)];
    for cut in 0..=frame.len() {
        let mut d = SmartyDeframer::new(keys(Some(AUTH)));
        let items = run_chunks(&mut d, [&frame[..cut], &frame[cut..]]);
        assert_eq!(items, expected, "split at {cut}");
        assert_eq!(d.buffered_len(), 0);
    }
}

#[test]
fn byte_by_byte_and_random_chunks_give_the_same_result() {
    let frame = with_aad();
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend_from_slice(&frame);
    }
    let expected: Vec<Item> = (0..3)
        .map(|i| vector_frame(i * frame.len() as u64))
        .collect();

    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    assert_eq!(run_chunks(&mut d, stream.chunks(1)), expected);

    let mut rng = Rng(0x5EED_1234_5678_9ABC);
    for round in 0..200 {
        let mut chunks = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let n = 1 + rng
                .below(if round % 2 == 0 { 64 } else { 4096 })
                .min(rest.len() - 1);
            let (a, b) = rest.split_at(n);
            chunks.push(a);
            rest = b;
        }
        let mut d = SmartyDeframer::new(keys(Some(AUTH)));
        assert_eq!(run_chunks(&mut d, chunks), expected, "round {round}");
    }
}

#[test]
fn push_and_next_frame_with_a_bounded_buffer() {
    let frame = with_aad();
    let mut stream = b"line noise".to_vec();
    for _ in 0..20 {
        stream.extend_from_slice(&frame);
    }
    // Frames 1.5 kB each: a 2 kB cap means push takes only part of a chunk.
    let mut d = SmartyDeframer::with_max_frame_len(keys(Some(AUTH)), 2048);
    let mut items = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let n = d.push(rest);
        assert!(d.buffered_len() <= d.buffer_capacity());
        rest = &rest[n..];
        while let Some(r) = d.next_frame() {
            items.push(Item::from(r));
        }
    }
    assert!(d.finish().is_none());
    let expected: Vec<Item> = (0..20)
        .map(|i| vector_frame(10 + i * frame.len() as u64))
        .collect();
    assert_eq!(items, expected);
    assert_eq!(d.stats().noise_bytes, 10);
}

#[test]
fn three_frames_with_noise_between() {
    let frame = with_aad();
    let noise: [&[u8]; 4] = [
        b"\x00\xffboot\r\n",
        b"garbage between",
        b"\xdb\x07stray tag",
        b"tail",
    ];
    let mut stream = Vec::new();
    let mut offsets = Vec::new();
    for (i, n) in noise.iter().enumerate() {
        stream.extend_from_slice(n);
        if i < 3 {
            offsets.push(stream.len() as u64);
            stream.extend_from_slice(&frame);
        }
    }
    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let mut input = &stream[..];
    let mut got = Vec::new();
    let mut errors = Vec::new();
    while let Some(r) = d.decode(&mut input) {
        match r {
            Ok(f) => {
                assert_eq!(f.plaintext(), &vector_plaintext()[..]);
                got.push((f.offset(), f.noise_before(), f.is_replay()));
            }
            Err(e) => errors.push(e),
        }
    }
    // Same counter three times: the second and third are replays.
    assert_eq!(
        got,
        vec![
            (offsets[0], 8, false),
            (offsets[1], 15, true),
            (offsets[2], 10, true),
        ]
    );
    let stray = offsets[1] + frame.len() as u64;
    assert_eq!(
        errors,
        vec![SmartyError::SystemTitleLength {
            offset: stray,
            len: 7
        }]
    );
    // All noise but the stray 0xDB, which the error accounted for.
    assert_eq!(d.stats().noise_bytes, 8 + 15 + 10 + 4);
    assert_eq!(d.stats().frames, 3);
    assert_eq!(d.stats().errors, 1);
}

#[test]
fn self_encrypted_frames_round_trip() {
    let (key, auth) = raw_keys();
    let title = *b"SAG10305";
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    // Short, 0x81 and 0x82 length forms, and an empty telegram.
    for (i, len) in [10usize, 0, 150, 3000].into_iter().enumerate() {
        let plaintext: Vec<u8> = (0..len).map(|j| (j * 7 + i) as u8).collect();
        let counter = 0x0100_0000 + i as u32;
        let offset = stream.len() as u64;
        stream.extend_from_slice(&encrypt(key, Some(auth), title, counter, &plaintext));
        expected.push(Item::Frame {
            plaintext,
            title,
            counter,
            offset,
        });
    }
    assert_eq!(run(keys(Some(AUTH)), &stream), expected);

    let no_auth = encrypt(
        key,
        None,
        *b"\x00\x01\x02\x03\x04\x05\x06\x07",
        u32::MAX,
        b"/Lux5 hi",
    );
    assert_eq!(
        run(keys(None), &no_auth),
        vec![Item::Frame {
            plaintext: b"/Lux5 hi".to_vec(),
            title: *b"\x00\x01\x02\x03\x04\x05\x06\x07",
            counter: u32::MAX,
            offset: 0,
        }]
    );
}

#[test]
fn frame_counter_that_does_not_increase_is_flagged() {
    let (key, auth) = raw_keys();
    let title = *b"SAG00001";
    let mut stream = Vec::new();
    for counter in [5, 6, 6, 4, 7] {
        stream.extend_from_slice(&encrypt(key, Some(auth), title, counter, b"x"));
    }
    // Another meter's counter is tracked apart... only against its own last.
    stream.extend_from_slice(&encrypt(key, Some(auth), *b"SAG00002", 1, b"y"));
    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let mut input = &stream[..];
    let mut flags = Vec::new();
    while let Some(r) = d.decode(&mut input) {
        let f = r.expect("decrypts");
        flags.push((f.frame_counter(), f.is_replay()));
    }
    assert_eq!(
        flags,
        vec![
            (5, false),
            (6, false),
            (6, true),
            (4, true),
            (7, false),
            (1, false)
        ]
    );
}

#[test]
fn truncated_frame_followed_by_a_good_one() {
    let frame = with_aad();
    let padding = vec![0u8; DEFAULT_MAX_FRAME_LEN + 16];
    for cut in (1..frame.len())
        .step_by(7)
        .chain([2, 10, 11, 12, 13, 14, 18, frame.len() - 1])
    {
        let mut stream = frame[..cut].to_vec();
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&padding);
        let items = run(keys(Some(AUTH)), &stream);
        assert_eq!(
            frames(&items),
            vec![&vector_frame(cut as u64)],
            "cut at {cut}: {items:?}"
        );
        assert!(
            matches!(items.first(), Some(Item::Error(e)) if error_offset(e) == 0),
            "cut at {cut}: {items:?}"
        );
    }
    // The usual case needs no padding: the cut-off frame's length runs into
    // the good frame, and the search resumes at the good frame's header.
    let mut stream = frame[..700].to_vec();
    stream.extend_from_slice(&frame);
    let items = run(keys(Some(AUTH)), &stream);
    assert_eq!(
        items,
        vec![
            Item::Error(SmartyError::Authentication {
                offset: 0,
                frame_counter: VECTOR_COUNTER
            }),
            vector_frame(700)
        ]
    );
}

fn error_offset(e: &SmartyError) -> u64 {
    match *e {
        SmartyError::SystemTitleLength { offset, .. }
        | SmartyError::LengthEncoding { offset, .. }
        | SmartyError::TooLong { offset, .. }
        | SmartyError::TooShort { offset, .. }
        | SmartyError::SecurityControl { offset, .. }
        | SmartyError::Authentication { offset, .. }
        | SmartyError::Incomplete { offset, .. } => offset,
    }
}

#[test]
fn huge_length_field_is_rejected_and_resyncs() {
    let frame = with_aad();
    let mut stream = frame[..10].to_vec();
    stream.extend_from_slice(&[0x82, 0xFF, 0xFF, 0x30, 0, 0, 0, 1]);
    stream.extend_from_slice(&frame);
    let items = run(keys(Some(AUTH)), &stream);
    assert_eq!(
        items,
        vec![
            Item::Error(SmartyError::TooLong {
                offset: 0,
                len: 0xFFFF,
                max: DEFAULT_MAX_FRAME_LEN
            }),
            vector_frame(18)
        ]
    );
}

#[test]
fn endless_garbage_keeps_the_buffer_bounded() {
    let frame = with_aad();
    let mut rng = Rng(42);
    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let cap = d.buffer_capacity();
    assert!(cap <= DEFAULT_MAX_FRAME_LEN + 13);
    let mut max_seen = 0;
    let mut items = 0usize;
    // Random bytes, bytes that are all 0xDB, and headers that announce the
    // largest allowed frame over and over.
    let mut near_max = frame[..10].to_vec();
    near_max.extend_from_slice(&[0x82, 0x3F, 0xFF, 0x30]);
    let patterns: [Vec<u8>; 3] = [
        rng.bytes(1 << 20),
        vec![0xDB; 100_000],
        near_max.repeat(2000),
    ];
    for pattern in &patterns {
        for chunk in pattern.chunks(1 + rng.below(5000)) {
            let mut input = chunk;
            while let Some(r) = d.decode(&mut input) {
                assert!(r.is_err(), "garbage decrypted");
                items += 1;
            }
            max_seen = max_seen.max(d.buffered_len());
            assert!(d.buffered_len() <= cap);
        }
    }
    assert!(items > 0);
    assert!(
        max_seen > 1000,
        "the near-max headers were buffered: {max_seen}"
    );
    // Zeros flush any frame the garbage announced; then a good frame works.
    let offset = d.stream_offset() + d.buffered_len() as u64 + cap as u64;
    let mut tail = vec![0u8; cap];
    tail.extend_from_slice(&frame);
    let got = run_chunks(&mut d, [&tail[..]]);
    assert_eq!(frames(&got), vec![&vector_frame(offset)]);
    assert_eq!(d.buffered_len(), 0);
}

#[test]
fn push_never_exceeds_capacity() {
    let mut d = SmartyDeframer::with_max_frame_len(keys(None), 100);
    let mut data = vec![0xDBu8, 8];
    data.extend_from_slice(&[0xDB; 1000]);
    let n = d.push(&data);
    assert_eq!(n, d.buffer_capacity());
    assert_eq!(d.buffered_len(), d.buffer_capacity());
    assert_eq!(d.push(&data), 0);
    while d.next_frame().is_some() {}
    assert!(d.buffered_len() < d.buffer_capacity());
}

#[test]
fn finish_reports_an_incomplete_frame() {
    let frame = with_aad();
    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    let mut input = &b"xx"[..];
    assert!(d.decode(&mut input).is_none());
    let mut input = &frame[..600];
    assert!(d.decode(&mut input).is_none());
    assert_eq!(d.buffered_len(), 600);
    assert_eq!(
        d.finish(),
        Some(SmartyError::Incomplete {
            offset: 2,
            bytes: 600
        })
    );
    assert_eq!(d.buffered_len(), 0);
    assert_eq!(d.finish(), None);
    // After a reconnect the stream goes on.
    assert_eq!(run_chunks(&mut d, [&frame[..]]), vec![vector_frame(602)]);
}

#[test]
fn keys_from_hex() {
    let k = SmartyKeys::from_hex(" 0123456789ABCDEF0123456789abcdef\n", Some(AUTH)).expect("keys");
    assert_eq!(
        k.encryption_key,
        [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef
        ]
    );
    assert_eq!(k.auth_key.map(|a| a[0]), Some(0xff));
    assert_eq!(
        SmartyKeys::from_hex(KEY, None).expect("keys").auth_key,
        None
    );

    let short = SmartyKeys::from_hex("0123", None).unwrap_err();
    assert_eq!(
        short,
        KeyError::Length {
            key: KeyKind::Encryption,
            chars: 4
        }
    );
    assert_eq!(
        short.to_string(),
        "encryption key must be 32 hex digits (16 bytes), got 4 characters"
    );
    let bad = SmartyKeys::from_hex(KEY, Some("ffeeddccbbaa99887766554433221g00")).unwrap_err();
    assert_eq!(
        bad,
        KeyError::NotHex {
            key: KeyKind::Authentication,
            position: 30
        }
    );
    assert_eq!(
        bad.to_string(),
        "authentication key: character 30 is not a hex digit"
    );
    let unicode = SmartyKeys::from_hex("é123456789abcdef0123456789abcdef", None).unwrap_err();
    assert_eq!(
        unicode,
        KeyError::NotHex {
            key: KeyKind::Encryption,
            position: 1
        }
    );
}

#[test]
fn debug_output_redacts_keys() {
    let k = keys(Some(AUTH));
    let debug = format!("{k:?}");
    assert_eq!(
        debug,
        "SmartyKeys { encryption_key: <redacted>, auth_key: Some(<redacted>) }"
    );
    assert_eq!(
        format!("{:?}", keys(None)),
        "SmartyKeys { encryption_key: <redacted>, auth_key: None }"
    );
    let d = format!("{:#?}", SmartyDeframer::new(k));
    for secret in ["0123", "01, 35", "ffee", "255, 238", "[1, 35"] {
        assert!(
            !debug.contains(secret) && !d.contains(secret),
            "{secret} in {d}"
        );
    }
}

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Noise rich in the bytes that start a header.
    fn noisy_byte() -> impl Strategy<Value = u8> {
        prop_oneof![Just(0xDBu8), Just(0x08u8), Just(0x30u8), any::<u8>()]
    }

    fn decode_in_chunks(d: &mut SmartyDeframer, stream: &[u8], sizes: &[usize]) -> Vec<Item> {
        let mut items = Vec::new();
        let mut rest = stream;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
            let (mut input, tail) = rest.split_at(n);
            rest = tail;
            while let Some(r) = d.decode(&mut input) {
                items.push(Item::from(r));
            }
            assert!(d.buffered_len() <= d.buffer_capacity());
        }
        items
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary input never panics, never authenticates, and never
        /// grows the buffer past its cap.
        #[test]
        fn arbitrary_input_is_safe(
            data in vec(noisy_byte(), 0..4096),
            sizes in vec(1usize..600, 1..8),
            max_len in 0usize..2048,
        ) {
            let mut d = SmartyDeframer::with_max_frame_len(keys(Some(AUTH)), max_len);
            let items = decode_in_chunks(&mut d, &data, &sizes);
            prop_assert!(frames(&items).is_empty());
            let _ = d.finish();
            prop_assert_eq!(d.buffered_len(), 0);
        }

        /// Whatever noise lies between frames (stray headers included) and
        /// however the stream is cut, every frame comes out, in order, once
        /// the stream has run on for one maximum-size frame.
        #[test]
        fn every_frame_survives_noise_and_chunking(
            plain_lens in vec(0usize..300, 1..5),
            noise in vec(vec(noisy_byte(), 0..64), 5),
            sizes in vec(1usize..700, 1..8),
        ) {
            const MAX: usize = 512;
            let (key, auth) = raw_keys();
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for (i, len) in plain_lens.iter().enumerate() {
                stream.extend_from_slice(&noise[i]);
                let plaintext = vec![i as u8; *len];
                let counter = 1000 + i as u32;
                expected.push((plaintext.clone(), counter, stream.len() as u64));
                stream.extend_from_slice(&encrypt(key, Some(auth), *b"SAG98765", counter, &plaintext));
            }
            stream.extend_from_slice(&noise[4]);
            stream.extend_from_slice(&[0u8; MAX + 16]);
            let mut d = SmartyDeframer::with_max_frame_len(keys(Some(AUTH)), MAX);
            let items = decode_in_chunks(&mut d, &stream, &sizes);
            let got: Vec<(Vec<u8>, u32, u64)> = items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Frame { plaintext, counter, offset, .. } => Some((plaintext, counter, offset)),
                    Item::Error(_) => None,
                })
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}

#[test]
fn a_reset_deframer_reads_a_new_stream_as_a_fresh_one_does() {
    let frame = with_aad();
    let mut stream = b"noise".to_vec();
    stream.extend_from_slice(&frame);
    stream.extend_from_slice(&frame); // the same counter again: a replay
    let fresh = run(keys(Some(AUTH)), &stream);

    let mut d = SmartyDeframer::new(keys(Some(AUTH)));
    // A first stream that leaves state everywhere: frames, a replay memory,
    // noise and errors counted, and half a frame buffered.
    let mut first = stream.clone();
    first.extend_from_slice(&frame[..frame.len() / 2]);
    let _ = run_chunks(&mut d, [&first[..]]);
    assert!(d.buffered_len() > 0);
    assert_ne!(d.stats(), SmartyStats::default());

    d.reset();
    assert_eq!(d.buffered_len(), 0);
    assert_eq!(d.stream_offset(), 0);
    assert_eq!(d.stats(), SmartyStats::default());
    let mut again = run_chunks(&mut d, [&stream[..]]);
    again.extend(d.finish().map(Item::Error));
    assert_eq!(again, fresh, "a reset deframer differs from a fresh one");
    // The replay memory went too: the first frame of the new stream is new.
    let mut d2 = SmartyDeframer::new(keys(Some(AUTH)));
    let _ = run_chunks(&mut d2, [&frame[..]]);
    d2.reset();
    let mut input = &frame[..];
    let Some(Ok(f)) = d2.decode(&mut input) else {
        panic!("no frame after reset");
    };
    assert!(!f.is_replay(), "replay memory survived the reset");
}
