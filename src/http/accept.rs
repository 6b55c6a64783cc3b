//! Content negotiation for the exposition, as Prometheus's own client
//! library (prometheus/common `expfmt.NegotiateAccept`) does it.
//!
//! Offered, in this order of preference: OpenMetrics 1.0.0, OpenMetrics
//! 0.0.1, text 1.0.0 and text 0.0.4. The `Accept` ranges are taken by
//! quality (ties in the header's order); the first range that one offer
//! matches wins, with its version echoed in the `Content-Type`.
//! `application/openmetrics-text` without a version means 0.0.1 and
//! `text/plain` without one 0.0.4, as in expfmt. `*/*` and `text/*` get
//! text 0.0.4, so browsers, curl and promtool see the classic format.
//!
//! Every answer carries the `escaping=` scheme: the one the client asked
//! for (`allow-utf-8`, `underscores`, `dots` or `values`), else
//! `underscores`, expfmt's default. The exporter's names are all valid
//! legacy names, so every scheme gives the same text; echoing it tells a
//! Prometheus 3 scraper that what it asked for was honoured.
//!
//! Prometheus 3's default scrape `Accept` is
//! `application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1`
//! (OpenMetrics 1.0.0 with `escaping=allow-utf-8` answers it; 3.3 puts the
//! escaping on every range, and protobuf first when asked, which is not
//! offered here and so skipped); Prometheus 2.42's (Debian 12's, captured
//! from a live scrape) is `application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`.

use crate::metrics::Format;
use hyper::header::HeaderValue;

/// The format to render and the `Content-Type` to send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// What to render.
    pub format: Format,
    /// The media type with its version, charset and escaping scheme.
    pub content_type: String,
}

/// One format offered: media type, version, what renders it.
struct Offer {
    media: &'static str,
    version: &'static str,
    format: Format,
}

const OFFERS: &[Offer] = &[
    Offer {
        media: "application/openmetrics-text",
        version: "1.0.0",
        format: Format::OpenMetrics,
    },
    Offer {
        media: "application/openmetrics-text",
        version: "0.0.1",
        format: Format::OpenMetrics,
    },
    Offer {
        media: "text/plain",
        version: "1.0.0",
        format: Format::Text004,
    },
    Offer {
        media: "text/plain",
        version: "0.0.4",
        format: Format::Text004,
    },
];

/// The classic text format, for wildcards and when nothing matches.
const TEXT_004: usize = 3;

/// The escaping schemes of expfmt; anything else is ignored.
const ESCAPINGS: &[&str] = &["allow-utf-8", "underscores", "dots", "values"];

/// One media range of an `Accept` header.
#[derive(Debug)]
struct Range<'a> {
    media: String,
    version: Option<&'a str>,
    escaping: Option<&'a str>,
    q: f32,
}

/// The answer to the `Accept` headers of a scrape (none: text 0.0.4).
pub fn negotiate<'h>(accept: impl IntoIterator<Item = &'h HeaderValue>) -> Negotiated {
    let mut ranges: Vec<Range<'h>> = accept
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_range)
        .collect();
    // Stable: equal qualities keep the header's order.
    ranges.sort_by(|a, b| b.q.total_cmp(&a.q));
    let mut escaping = "underscores";
    for r in ranges.iter().filter(|r| r.q > 0.0) {
        if let Some(e) = r.escaping.filter(|e| ESCAPINGS.contains(e)) {
            escaping = e;
        }
        if let Some(i) = matching_offer(r) {
            return answer(i, escaping);
        }
    }
    answer(TEXT_004, escaping)
}

/// The offer `r` asks for, if any.
fn matching_offer(r: &Range<'_>) -> Option<usize> {
    if r.media == "*/*" || r.media == "text/*" {
        return Some(TEXT_004);
    }
    let version = r.version.unwrap_or(match r.media.as_str() {
        "application/openmetrics-text" => "0.0.1",
        _ => "0.0.4",
    });
    OFFERS
        .iter()
        .position(|o| o.media == r.media && o.version == version)
}

fn answer(offer: usize, escaping: &str) -> Negotiated {
    let o = &OFFERS[offer.min(OFFERS.len() - 1)];
    Negotiated {
        format: o.format,
        content_type: format!(
            "{}; version={}; charset=utf-8; escaping={escaping}",
            o.media, o.version
        ),
    }
}

/// `type/subtype;k=v;...` with its version, escaping and quality (1 when
/// absent, 0 when unreadable); `None` for an empty range.
fn parse_range(range: &str) -> Option<Range<'_>> {
    let mut params = range.split(';');
    let media = params.next()?.trim().to_ascii_lowercase();
    if media.is_empty() {
        return None;
    }
    let mut r = Range {
        media,
        version: None,
        escaping: None,
        q: 1.0,
    };
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "q" => {
                r.q = v
                    .parse()
                    .ok()
                    .filter(|q: &f32| q.is_finite())
                    .unwrap_or(0.0)
            }
            "version" => r.version = Some(v),
            "escaping" => r.escaping = Some(v),
            _ => {}
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(v: &'static str) -> String {
        negotiate([&HeaderValue::from_static(v)]).content_type
    }

    const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn answers_prometheus_as_it_asks() {
        let n = negotiate([&HeaderValue::from_static(PROMETHEUS_3)]);
        assert_eq!(n.format, Format::OpenMetrics);
        assert_eq!(
            n.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        // Prometheus 3.3 puts the escaping on every range; with
        // protobuf first (scrape_protocols) the next range wins.
        for accept in [
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        ] {
            assert_eq!(
                ct(accept),
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
            );
        }
        assert_eq!(
            ct(PROMETHEUS_2),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        // Prometheus 3 with OpenMetrics turned off (scrape_protocols).
        assert_eq!(
            ct("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"),
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        assert_eq!(
            ct("text/plain;version=0.0.4;escaping=dots"),
            "text/plain; version=0.0.4; charset=utf-8; escaping=dots"
        );
    }

    #[test]
    fn everyone_else_gets_text_004() {
        let text = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
        assert_eq!(negotiate([]).content_type, text);
        assert_eq!(ct("*/*"), text);
        assert_eq!(ct("text/html,application/xhtml+xml,*/*;q=0.8"), text);
        assert_eq!(ct("text/plain"), text);
        assert_eq!(ct("application/json"), text);
        // An unknown version or escaping is not matched / ignored.
        assert_eq!(ct("application/openmetrics-text;version=2.0.0"), text);
        assert_eq!(ct("text/plain;escaping=nope"), text);
        assert_eq!(ct("application/openmetrics-text;q=0"), text);
    }

    #[test]
    fn quality_and_defaults() {
        assert_eq!(
            negotiate([&HeaderValue::from_static(
                "text/plain;q=1, application/openmetrics-text;q=0.5"
            )])
            .format,
            Format::Text004
        );
        assert_eq!(
            ct("Application/OpenMetrics-Text; Q=0.9"),
            "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores"
        );
    }
}
