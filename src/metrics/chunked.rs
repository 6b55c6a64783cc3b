//! A scrape of many meters, rendered a chunk of meters at a time.
//!
//! Text formats want each family's samples together, so the one-pass
//! collector ([`super::exposition`]) holds every meter's samples at once
//! and sorts them: at 10 000 meters that is some 450 000 samples of about
//! 190 bytes, 90 MB and a sort buffer of half that, per scrape, which the
//! allocator then keeps. Here each chunk of [`CHUNK_METERS`] meters is
//! rendered on its own by the same encoder, its lines are appended to
//! their family's text, and the families are joined at the end in family
//! order: the same exposition, with one chunk's samples alive at a time.
//!
//! [`CHUNK_METERS`]: super::exposition::CHUNK_METERS

use super::exposition::{encode_meters, encode_registry, Format, MetricsOptions, CHUNK_METERS};
use super::families::Family;
use super::process::ProcessCollector;
use crate::state::{Live, Meter, Meters};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// One family's text: its `# HELP`/`# TYPE` lines, then its samples.
#[derive(Debug, Default)]
struct Section {
    descriptor: String,
    lines: String,
}

/// The exposition of `meters`, as [`super::Metrics::render`] writes it.
pub(super) fn render(
    meters: &Meters,
    live: &Live,
    opts: &MetricsOptions,
    process: bool,
    format: Format,
    size_hint: usize,
) -> String {
    let list: Vec<Arc<Meter>> = meters.iter().cloned().collect();
    let mut sections: BTreeMap<Family, Section> = BTreeMap::new();
    let mut text = String::new();
    for (i, chunk) in list.chunks(CHUNK_METERS).enumerate() {
        let collector = Chunk {
            meters: chunk.to_vec(),
            live: (i == 0).then(|| live.clone()),
            opts: opts.clone(),
            families: Mutex::new(Vec::new()),
        };
        let families = collector.encode_into(&mut text, format);
        split_into(&text, &families, &mut sections);
    }
    drop(text);
    let mut out = String::with_capacity(size_hint + size_hint / 8);
    for (_, s) in sections {
        out.push_str(&s.descriptor);
        out.push_str(&s.lines);
    }
    if process {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let mut p = String::new();
        if let Err(e) = encode_registry(&mut p, &registry, format) {
            tracing::error!("encoding process metrics failed: {e}");
        }
        out.push_str(p.strip_suffix(EOF).unwrap_or(&p));
    }
    if format == Format::OpenMetrics {
        out.push_str(EOF);
    }
    release_freed_memory();
    out
}

/// Gives the memory of this scrape's freed buffers back to the system.
/// glibc keeps freed memory below its mmap threshold for the next
/// allocation; after a scrape of many meters that was tens of MiB that
/// the next scrape (seconds later) did not need at once.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator's own
    // arenas to the system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

const EOF: &str = "# EOF\n";

/// Appends the lines of one chunk's text to the sections of their
/// families: the `k`-th `# HELP` line starts the `k`-th family written.
fn split_into(text: &str, families: &[Family], sections: &mut BTreeMap<Family, Section>) {
    let mut current: Option<(&mut Section, bool)> = None;
    let mut next = families.iter();
    for line in text.split_inclusive('\n') {
        if line.starts_with("# HELP ") {
            current = next.next().map(|f| {
                let s = sections.entry(*f).or_default();
                let first = s.descriptor.is_empty();
                (s, first)
            });
        }
        let Some((section, first)) = current.as_mut() else {
            continue;
        };
        if line.starts_with('#') {
            if *first && line != EOF {
                section.descriptor.push_str(line);
            }
        } else {
            section.lines.push_str(line);
        }
    }
}

/// One chunk of meters, with the exporter's own series in the first.
#[derive(Debug)]
struct Chunk {
    meters: Vec<Arc<Meter>>,
    live: Option<Live>,
    opts: MetricsOptions,
    /// The families written, in order, for [`split_into`].
    families: Mutex<Vec<Family>>,
}

impl Chunk {
    /// Renders the chunk into `text` (cleared first); the families written.
    fn encode_into(self, text: &mut String, format: Format) -> Vec<Family> {
        text.clear();
        let families = Arc::new(self);
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Shared(families.clone())));
        if let Err(e) = encode_registry(text, &registry, format) {
            tracing::error!("encoding metrics failed: {e}");
        }
        drop(registry);
        let written = families
            .families
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default();
        written
    }
}

/// The registry owns its collectors; this lets the chunk be read back.
#[derive(Debug)]
struct Shared(Arc<Chunk>);

impl Collector for Shared {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        let c = &self.0;
        let list: Vec<&Arc<Meter>> = c.meters.iter().collect();
        let mut written = Vec::new();
        encode_meters(&list, c.live.as_ref(), &c.opts, encoder, Some(&mut written))?;
        if let Ok(mut f) = c.families.lock() {
            *f = written;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::exposition::Metrics;
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
