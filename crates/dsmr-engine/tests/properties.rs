//! Properties of the framer and decoder over generated input: chunking never
//! changes the result, and no input panics or grows memory without bound.

use dsmr_engine::{FrameEvent, Framer, Telegram};
use proptest::prelude::*;

const CORPUS: &[&[u8]] = &[
    include_bytes!("../../../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt"),
    include_bytes!("../../../fixtures/be_fluvius_v171_peak_history_water.txt"),
    include_bytes!("../../../fixtures/nl_dsmr22_kaifa_kfm.txt"),
    include_bytes!("../../../fixtures/nl_dsmr50_iskra_overflow_garbage_stream.txt"),
    include_bytes!("../../../fixtures/nl_warmtelink_heat_gj_unpadded_crc.txt"),
    include_bytes!("../../../fixtures/de_easymeter_q3d_b1024_gateway_trailer.txt"),
    include_bytes!("../../../fixtures/lu_smarty_spec_example_4mbus.txt"),
    include_bytes!("../../../fixtures/nl_dsmr50_landisgyr_e360_corrupted_truncated_issue1408.txt"),
];

/// The telegram as the `parse` command writes it.
fn json(t: &Telegram) -> String {
    serde_json::to_string(&t.json_view(Default::default())).expect("serializes")
}

/// Everything observable: each event, and for telegrams the decoded JSON.
fn run(stream: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut f = Framer::new();
    let mut t = Telegram::new();
    let mut out = Vec::new();
    let mut h = |e: FrameEvent<'_>| match e {
        FrameEvent::Telegram(fr) => out.push(match t.decode_into(fr) {
            Ok(()) => json(&t),
            Err(e) => format!("error {e}"),
        }),
        FrameEvent::Discarded(e) => out.push(format!("discarded {e}")),
    };
    let mut prev = 0;
    for &c in cuts {
        let c = c.min(stream.len()).max(prev);
        f.feed(&stream[prev..c], &mut h);
        prev = c;
    }
    f.feed(&stream[prev..], &mut h);
    f.finish(&mut h);
    out
}

/// Everything a decoded telegram shows: its JSON, its errors and unknown
/// lines with their positions, and its text.
fn observable(t: &Telegram) -> String {
    format!(
        "{}\n{:?}\n{:?}\n{:?}",
        json(t),
        t.errors,
        t.unknown,
        t.raw()
    )
}

/// A corpus telegram with random single-byte edits.
fn mutate(which: usize, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut v = CORPUS[which].to_vec();
    for (idx, byte, op) in edits {
        if v.is_empty() {
            break;
        }
        let i = idx.index(v.len());
        match op {
            0 => v[i] = *byte,
            1 => {
                v.remove(i);
            }
            _ => v.insert(i, *byte),
        }
    }
    v
}

fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        (
            0..CORPUS.len(),
            proptest::collection::vec(any::<u8>(), 0..8),
        ),
        1..6,
    )
    .prop_map(|parts| {
        let mut v = Vec::new();
        for (i, noise) in parts {
            v.extend_from_slice(CORPUS[i]);
            // Noise without '/' so it cannot start a telegram by chance.
            v.extend(noise.into_iter().filter(|&b| b & 0x7f != b'/'));
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn splitting_the_stream_anywhere_changes_nothing(
        stream in stream_strategy(),
        mut cuts in proptest::collection::vec(0usize..20_000, 0..40),
    ) {
        cuts.sort_unstable();
        let whole = run(&stream, &[]);
        prop_assert!(!whole.is_empty());
        prop_assert_eq!(run(&stream, &cuts), whole);
    }

    #[test]
    fn random_bytes_never_panic_and_memory_is_bounded(
        data in proptest::collection::vec(any::<u8>(), 0..40_000),
        chunk in 1usize..5000,
    ) {
        let mut f = Framer::with_limit(4096);
        let mut t = Telegram::new();
        for c in data.chunks(chunk) {
            f.feed(c, |e| if let FrameEvent::Telegram(fr) = e { let _ = t.decode_into(fr); });
            prop_assert!(f.buffered() <= 4096 + 4096 + 8);
        }
        f.finish(|_| {});
        prop_assert_eq!(f.buffered(), 0);
    }

    /// A reused `Telegram` recognises lines by what the previous telegram
    /// had at the same position; that must never change the result.
    #[test]
    fn decoding_after_other_telegrams_equals_decoding_fresh(
        seq in proptest::collection::vec(
            (
                0..CORPUS.len(),
                proptest::collection::vec(
                    (any::<prop::sample::Index>(), any::<u8>(), 0u8..3),
                    0..6,
                ),
            ),
            1..8,
        ),
    ) {
        let mut warm = Telegram::new();
        for (which, edits) in &seq {
            // Unedited first, so the cache holds the real layout when the
            // edited copy comes.
            for v in [CORPUS[*which].to_vec(), mutate(*which, edits)] {
                let fresh = Telegram::decode(&v);
                let again = warm.decode_into(&v);
                prop_assert_eq!(again.clone().err(), fresh.clone().err());
                if let Ok(fresh) = fresh {
                    prop_assert_eq!(observable(&warm), observable(&fresh));
                }
            }
        }
    }

    #[test]
    fn mutated_telegrams_never_panic(
        which in 0..CORPUS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..30),
    ) {
        let v = mutate(which, &edits);
        // Straight into the decoder (no framer) and through the framer.
        let _ = Telegram::decode(&v);
        let out = run(&v, &[v.len() / 2]);
        prop_assert!(out.len() <= v.len());
    }

    #[test]
    fn structured_garbage_lines_never_panic(
        lines in proptest::collection::vec("[0-9:.*()a-zA-Z!/ -]{0,60}", 0..40),
    ) {
        let mut v = b"/ISK5\\2M550T\r\n\r\n".to_vec();
        for l in lines {
            v.extend_from_slice(l.as_bytes());
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"!");
        if let Ok(t) = Telegram::decode(&v) {
            let _ = json(&t);
        }
    }
}
