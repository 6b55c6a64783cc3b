//! The live page at `/`: one self-contained HTML file (`page.html`) with
//! the exposition's path and the meters' current state filled in.

use super::api::meters_json;
use crate::state::Meters;
use std::time::Duration;

/// The page: one self-contained file (inline CSS and JS, nothing external).
const PAGE: &str = include_str!("page.html");

/// The page with the link to the exposition filled in; the meters'
/// state is added per request by [`page`].
pub fn page_template(telemetry_path: &str) -> String {
    PAGE.replace("{{METRICS_PATH}}", &escape_html(telemetry_path))
}

/// The page with the current state of every meter inlined (the API's
/// document), so it shows values at once, before `/events` connects.
pub fn page(template: &str, meters: &Meters, stale_after: Duration) -> String {
    // `<` only occurs inside JSON strings, where `\u003c` is the same
    // character: nothing a meter name holds can end or confuse the script.
    let state = meters_json(meters, stale_after).replace('<', "\\u003c");
    template.replace("{{INITIAL_STATE}}", &state)
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_names_in_the_landing_page() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
