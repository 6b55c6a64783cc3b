//! A scrape of many meters: the meters split over the cores, each part
//! rendered a chunk of meters at a time straight into per-family texts.
//!
//! Text formats want each family's samples together, so the one-pass
//! collector ([`super::exposition`]) holds every meter's samples at once,
//! sorts them and runs them through `prometheus_client`'s encoder: at
//! 10 000 meters some 730 000 samples of about 190 bytes, and most of a
//! scrape's time. Here the meters are split into one contiguous part per
//! core (at most [`MAX_THREADS`]); a part collects the samples of
//! [`CHUNK`] meters at a time and appends each sample's line
//! ([`super::lines`]) to its family's text. The exposition is then every
//! family's `# HELP`/`# TYPE` lines followed by that family's text from
//! each part in order: the same text as the one pass (a unit test checks
//! it), handed out as [`Exposition`] pieces so that nothing joins 50 MB
//! that is only going to be compressed.

use super::exposition::{collect_samples, encode_registry, Format, MetricsOptions};
use super::lines::{descriptor, write_sample, FAMILIES};
use super::process::ProcessCollector;
use crate::state::{Live, Meter, Meters};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Meters whose samples are collected at once: about 64 × 73 samples of
/// 190 bytes, under a megabyte, so they stay in the cache while written.
const CHUNK: usize = 64;

/// At most this many threads render one scrape.
pub const MAX_THREADS: usize = 4;

/// An exposition as pieces of text, in order: joined, they are the text.
#[derive(Debug, Default)]
pub struct Exposition {
    pieces: Vec<String>,
}

impl Exposition {
    /// One piece.
    pub fn whole(text: String) -> Exposition {
        Exposition { pieces: vec![text] }
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> &[String] {
        &self.pieces
    }

    /// Bytes in all.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(String::len).sum()
    }

    /// True when there is no text.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text in one string.
    pub fn into_string(mut self) -> String {
        if self.pieces.len() == 1 {
            return self.pieces.pop().unwrap_or_default();
        }
        self.pieces.concat()
    }
}

/// How many threads a scrape of `meters` meters uses: one per core, at
/// most [`MAX_THREADS`], and no more than there are chunks.
pub fn threads(meters: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_THREADS).min(meters.div_ceil(CHUNK)).max(1)
}

/// The exposition of `meters`, as [`super::Metrics::render`] writes it.
/// `hints` holds each part's family text lengths from the previous scrape,
/// so the texts are allocated once at their size; it is updated.
pub(super) fn render(
    meters: &Meters,
    live: &Live,
    opts: &MetricsOptions,
    process: bool,
    format: Format,
    hints: &mut Vec<Vec<usize>>,
) -> Exposition {
    let list: Vec<Arc<Meter>> = meters.iter().cloned().collect();
    let n = threads(list.len());
    let per_part = list.len().div_ceil(n).max(1);
    let parts: Vec<&[Arc<Meter>]> = list.chunks(per_part).collect();
    hints.resize_with(parts.len(), || vec![0; FAMILIES]);
    let rendered: Vec<Vec<String>> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (i, part) in parts.iter().enumerate().skip(1) {
            let hint = &hints[i];
            let job = move || render_part(part, None, opts, format, hint);
            // Without a thread (none left), the part is rendered here.
            match std::thread::Builder::new()
                .name("scrape".into())
                .spawn_scoped(scope, job)
            {
                Ok(h) => handles.push(Ok(h)),
                Err(_) => handles.push(Err(i)),
            }
        }
        let first = parts
            .first()
            .map(|p| render_part(p, Some(live), opts, format, &hints[0]))
            .unwrap_or_else(|| render_part(&[], Some(live), opts, format, &[]));
        let mut all = vec![first];
        for h in handles {
            all.push(match h {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    tracing::error!("a scrape thread failed; its meters are left out");
                    vec![String::new(); FAMILIES]
                }),
                Err(i) => render_part(parts[i], None, opts, format, &hints[i]),
            });
        }
        all
    });
    for (hint, part) in hints.iter_mut().zip(&rendered) {
        for (h, text) in hint.iter_mut().zip(part) {
            *h = text.len();
        }
    }
    let mut pieces = Vec::with_capacity(FAMILIES * (rendered.len() + 1) + 2);
    let mut rendered: Vec<std::vec::IntoIter<String>> =
        rendered.into_iter().map(Vec::into_iter).collect();
    for family in super::families::ALL {
        let texts: Vec<String> = rendered
            .iter_mut()
            .map(|p| p.next().unwrap_or_default())
            .filter(|t| !t.is_empty())
            .collect();
        if texts.is_empty() {
            continue;
        }
        pieces.push(descriptor(family, format).to_owned());
        pieces.extend(texts);
    }
    if process {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let mut p = String::new();
        if let Err(e) = encode_registry(&mut p, &registry, format) {
            tracing::error!("encoding process metrics failed: {e}");
        }
        if let Some(len) = p.strip_suffix(EOF).map(str::len) {
            p.truncate(len);
        }
        pieces.push(p);
    }
    if format == Format::OpenMetrics {
        pieces.push(EOF.to_owned());
    }
    Exposition { pieces }
}

/// One part's family texts (indexed by family number): its meters' sample
/// lines, a [`CHUNK`] of meters at a time, and the exporter's own series
/// first when given `live`.
fn render_part(
    meters: &[Arc<Meter>],
    live: Option<&Live>,
    opts: &MetricsOptions,
    format: Format,
    hint: &[usize],
) -> Vec<String> {
    let mut texts: Vec<String> = (0..FAMILIES)
        .map(|f| {
            let h = hint.get(f).copied().unwrap_or(0);
            String::with_capacity(h + h / 16)
        })
        .collect();
    let mut samples = Vec::with_capacity(CHUNK * 80);
    let mut live = live;
    for chunk in meters.chunks(CHUNK) {
        let refs: Vec<&Arc<Meter>> = chunk.iter().collect();
        samples.clear();
        collect_samples(&refs, live.take(), opts, &mut samples);
        for s in &samples {
            if let Some(text) = texts.get_mut(s.family as usize) {
                write_sample(text, s, format);
            }
        }
    }
    if let Some(live) = live {
        // No meters in this part: the exporter's own series alone.
        samples.clear();
        collect_samples(&[], Some(live), opts, &mut samples);
        for s in &samples {
            if let Some(text) = texts.get_mut(s.family as usize) {
                write_sample(text, s, format);
            }
        }
    }
    texts
}

/// Gives the memory of a scrape's freed buffers back to the system.
/// glibc keeps freed memory below its mmap threshold for the next
/// allocation; after a scrape of many meters that was tens of MiB that
/// the next scrape (seconds later) did not need at once.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator's own
    // arenas to the system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Gives freed memory back to the system (a no-op off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() {}

const EOF: &str = "# EOF\n";

#[cfg(test)]
mod tests {
    use super::super::exposition::{Metrics, CHUNK_METERS};
    use super::*;
    use dsmr_engine::{Telegram, Zone};
    use std::time::Duration;

    const TELEGRAM: &[u8] = include_bytes!("../../fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt");

    /// Without the lines whose values change from one rendering to the next.
    fn steady(text: &str) -> String {
        text.lines()
            .filter(|l| !l.starts_with("dsmr_scrape_duration_seconds{"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn chunks_write_the_same_exposition_as_one_pass() {
        let meters: Vec<Arc<Meter>> = (0..CHUNK_METERS * 2 + 7)
            .map(|i| {
                let m = Meter::new(format!("m{i:04}"), Zone::CET);
                // Every third meter silent: only the exporter's series.
                if i % 3 != 0 {
                    let mut t = Telegram::decode(TELEGRAM).expect("fixture decodes");
                    m.record_telegram(&mut t);
                }
                m
            })
            .collect();
        let opts = MetricsOptions {
            stale_after: Duration::from_secs(3600),
            expose_equipment_ids: false,
        };
        let metrics = Metrics::new(Meters::new(meters), opts);
        for format in [Format::Text004, Format::OpenMetrics] {
            let whole = metrics.render_whole(format);
            let chunked = metrics.render(format);
            assert!(whole.len() > 500_000, "{}", whole.len());
            assert_eq!(steady(&chunked), steady(&whole), "{format:?}");
            assert_eq!(
                chunked.matches("dsmr_scrape_duration_seconds{").count(),
                CHUNK_METERS * 2 + 7
            );
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn process_series_come_last_and_openmetrics_ends_once() {
        let meters: Vec<Arc<Meter>> = (0..CHUNK_METERS + 1)
            .map(|i| Meter::new(format!("m{i:04}"), Zone::CET))
            .collect();
        let metrics =
            Metrics::new(Meters::new(meters), MetricsOptions::default()).with_process_metrics();
        let text = metrics.render(Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n") && text.matches("# EOF").count() == 1);
        let process = text.find("# HELP process_").expect("process series");
        assert!(text[..process].contains("dsmr_exporter_build_info"));
        assert!(!text[process..].contains("dsmr_"));
    }
}
