//! Content negotiation for the exposition: Prometheus asks for OpenMetrics
//! in its `Accept` header, everyone else gets text 0.0.4.

use hyper::header::HeaderValue;

/// OpenMetrics only when the client lists `application/openmetrics-text`
/// with a quality at least that of plain text; everyone else (browsers,
/// curl, promtool) gets text 0.0.4.
pub fn wants_openmetrics<'h>(accept: impl IntoIterator<Item = &'h HeaderValue>) -> bool {
    let (mut openmetrics, mut text) = (0.0_f32, 0.0_f32);
    let ranges = accept
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut params = range.split(';');
        let media = params.next().unwrap_or_default().trim();
        let q = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse().unwrap_or(0.0));
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics = openmetrics.max(q);
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
        {
            text = text.max(q);
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &'static str) -> bool {
        wants_openmetrics([&HeaderValue::from_static(v)])
    }

    #[test]
    fn negotiates_openmetrics_only_when_asked() {
        assert!(!wants_openmetrics([]));
        assert!(!accept("text/plain"));
        assert!(!accept("*/*"));
        assert!(accept("application/openmetrics-text"));
        // What Prometheus sends.
        assert!(accept(
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        ));
        assert!(!accept(
            "text/plain;q=1, application/openmetrics-text;q=0.5"
        ));
        assert!(!accept("application/openmetrics-text;q=0"));
        assert!(accept("Application/OpenMetrics-Text; Q=0.9"));
    }
}
