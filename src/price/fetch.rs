//! The fetch schedule: each feed loaded from its store, fetched once at
//! start (awaited, briefly, so the first telegrams find prices), then
//! kept ahead of time by one task per feed.
//!
//! Day-ahead prices for tomorrow are published around 13:00 CET (12:00
//! UTC in winter). A feed that has tomorrow's prices sleeps until 11:30
//! UTC the next day; one that lacks them asks every 10 minutes from 11:30
//! UTC on; one that lacks the current hour asks every 15 minutes. A
//! failure is retried after 30 s, doubling up to 30 minutes. A local file
//! is read again every minute and replaces its feed's table whole (old
//! rows kept, so an old capture replays with its prices); fetched feeds
//! drop prices older than two days.

use super::config::FetchConfig;
use super::entsoe;
use super::http::{self, FetchError};
use super::rows;
use super::store;
use crate::cost::{Feed, FeedSource, Interval, RowFormat};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// First retry after a failure; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// Longest pause between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// Intervals older than this are dropped from a feed.
const KEEP: i64 = 2 * 86_400;

/// Loads every feed's store, fetches each once (waiting at most
/// `first_wait` for all of them), then keeps them fresh in the background.
pub async fn start(feeds: Vec<(FeedSource, Arc<Feed>)>, cfg: FetchConfig, first_wait: Duration) {
    let cfg = Arc::new(cfg);
    let mut first = Vec::with_capacity(feeds.len());
    for (source, feed) in feeds {
        if let Some(path) = cfg
            .state_dir
            .as_ref()
            .and_then(|d| store::path_for(d, &source))
        {
            let kept = store::load(&path);
            if !kept.is_empty() {
                tracing::info!(feed = %source, prices = kept.len(), "prices loaded from the store");
                feed.merge(&kept, now() - KEEP);
            }
        }
        let cfg = cfg.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut failures = 0;
            let mut tx = Some(tx);
            loop {
                let ok = refresh(&source, &feed, &cfg).await;
                failures = if ok { 0 } else { failures + 1 };
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
                let delay = next_delay(&source, ok, failures, feed.end(), now());
                tokio::time::sleep(delay).await;
            }
        });
        first.push(rx);
    }
    let all = async {
        for rx in first {
            let _ = rx.await;
        }
    };
    if tokio::time::timeout(first_wait, all).await.is_err() {
        tracing::warn!(
            "prices: the first fetch is still running after {first_wait:?}; starting without"
        );
    }
}

/// Unix seconds now.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Fetches one feed and merges and stores what came; true on success.
async fn refresh(source: &FeedSource, feed: &Feed, cfg: &FetchConfig) -> bool {
    let now = now();
    match fetch(source, cfg, now).await {
        Ok(ivs) if matches!(source, FeedSource::File { .. }) => {
            feed.replace(&ivs);
            true
        }
        Ok(ivs) => {
            feed.merge(&ivs, now - KEEP);
            tracing::debug!(feed = %source, prices = ivs.len(), until = ?feed.end(), "prices fetched");
            if let Some(path) = cfg
                .state_dir
                .as_ref()
                .and_then(|d| store::path_for(d, source))
            {
                if let Err(e) = store::save(&path, feed.snapshot().intervals()) {
                    tracing::warn!(file = %path.display(), "cannot keep the prices: {e}");
                }
            }
            true
        }
        Err(e) => {
            tracing::warn!(feed = %source, "cannot fetch prices: {e}");
            false
        }
    }
}

/// The prices of one source now, whatever is already known.
pub async fn fetch(
    source: &FeedSource,
    cfg: &FetchConfig,
    now: i64,
) -> Result<Vec<Interval>, String> {
    match source {
        FeedSource::Entsoe { zone } => {
            let Some(token) = &cfg.entsoe_token else {
                return Err("no ENTSO-E token: set [prices] entsoe_token_file or DSMR_EXPORTER_ENTSOE_TOKEN".to_owned());
            };
            // Yesterday to the day after tomorrow (UTC days): tomorrow in
            // CET/CEST ends at 22:00 or 23:00 UTC of the next day.
            let day = now.div_euclid(86_400) * 86_400;
            let url = entsoe::query_url(
                &cfg.entsoe_url,
                &token.0,
                zone,
                day - 86_400,
                day + 3 * 86_400,
            );
            let body = http::get(&url, FETCH_TIMEOUT)
                .await
                .map_err(|e| explain(&e))?;
            let text =
                std::str::from_utf8(&body).map_err(|_| "the answer is not UTF-8".to_owned())?;
            entsoe::parse(text).map_err(|e| e.to_string())
        }
        FeedSource::Url { url, format } => {
            let body = http::get(url, FETCH_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
            let text =
                std::str::from_utf8(&body).map_err(|_| "the answer is not UTF-8".to_owned())?;
            parse_rows(text, *format)
        }
        FeedSource::File { path, format } => {
            let len = tokio::fs::metadata(path)
                .await
                .map_err(|e| e.to_string())?
                .len();
            if len > http::MAX_BODY as u64 {
                return Err(format!("larger than {} bytes", http::MAX_BODY));
            }
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| e.to_string())?;
            parse_rows(&text, *format)
        }
    }
}

/// An ENTSO-E error answer says why in an acknowledgement document.
fn explain(e: &FetchError) -> String {
    if let FetchError::Status { status, body } = e {
        if let Err(entsoe::EntsoeError::Acknowledgement(why)) = entsoe::parse(body) {
            return format!("HTTP status {status}: {why}");
        }
    }
    e.to_string()
}

fn parse_rows(text: &str, format: RowFormat) -> Result<Vec<Interval>, String> {
    match format {
        RowFormat::Csv => rows::parse_csv(text),
        RowFormat::Json => rows::parse_json(text),
    }
    .map_err(|e| e.to_string())
}

/// When to fetch `source` again (see the module doc). `end` is where its
/// prices end; `failures` counts failed fetches in a row.
pub fn next_delay(
    source: &FeedSource,
    ok: bool,
    failures: u32,
    end: Option<i64>,
    now: i64,
) -> Duration {
    if !ok {
        let backoff = FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(10));
        return backoff.min(MAX_BACKOFF);
    }
    if matches!(source, FeedSource::File { .. }) {
        return Duration::from_secs(60);
    }
    let end = end.unwrap_or(i64::MIN);
    let day = now.div_euclid(86_400) * 86_400;
    let publish = day + 11 * 3_600 + 1_800;
    // Tomorrow ends at 22:00 or 23:00 UTC (midnight CET/CEST).
    let tomorrow_end = day + 2 * 86_400 - 2 * 3_600;
    let secs = if end < now + 3_600 {
        15 * 60
    } else if end >= tomorrow_end {
        publish + 86_400 - now
    } else if now >= publish {
        10 * 60
    } else {
        publish - now
    };
    Duration::from_secs(secs.clamp(60, 86_400) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tomorrow_is_asked_for_from_its_publication_on() {
        let e = FeedSource::Entsoe {
            zone: "10YNL----------L".into(),
        };
        let day = 1_759_276_800; // 2025-10-01T00:00Z
        let at = |h: i64| day + h * 3_600;
        // 08:00 UTC, today's prices known: wait for 11:30.
        assert_eq!(
            next_delay(&e, true, 0, Some(at(22)), at(8)),
            Duration::from_secs(3 * 3_600 + 1_800)
        );
        // 12:00, tomorrow's not there yet: every 10 minutes.
        assert_eq!(
            next_delay(&e, true, 0, Some(at(22)), at(12)),
            Duration::from_secs(600)
        );
        // 13:00 with tomorrow's: until 11:30 the next day.
        assert_eq!(
            next_delay(&e, true, 0, Some(at(46)), at(13)),
            Duration::from_secs(22 * 3_600 + 1_800)
        );
        // No price for the coming hour: every 15 minutes.
        assert_eq!(
            next_delay(&e, true, 0, None, at(13)),
            Duration::from_secs(900)
        );
        // Failures back off exponentially to 30 minutes.
        let backoff: Vec<u64> = (1..=8)
            .map(|f| next_delay(&e, false, f, None, at(8)).as_secs())
            .collect();
        assert_eq!(backoff, [30, 60, 120, 240, 480, 960, 1_800, 1_800]);
    }
}
