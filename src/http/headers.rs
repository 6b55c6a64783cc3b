//! `http_server_config.headers` of the web configuration file: extra
//! response headers, limited to the security headers exporter-toolkit
//! allows, so a file that works for a Go exporter works here and one it
//! refuses is refused here too.
//!
//! As in exporter-toolkit, the names are matched exactly as written
//! (`X-Frame-Options`, not `x-frame-options`), `X-Content-Type-Options` may
//! only be `nosniff` and `X-Frame-Options` only `deny` or `sameorigin`; the
//! others take any value a header may hold.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;

/// The headers exporter-toolkit lets a web config add, with the values it
/// allows (empty: any).
const ALLOWED: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// Checked extra headers, ready to add to every response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraHeaders(Vec<(HeaderName, HeaderValue)>);

impl ExtraHeaders {
    /// Checks the `headers` mapping as exporter-toolkit does; the error
    /// names the header and what it may be.
    pub(super) fn check(headers: &BTreeMap<String, String>) -> Result<ExtraHeaders, String> {
        let mut out = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| n == name) else {
                let names: Vec<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "http_server_config.headers: {name:?} can not be configured (allowed: {})",
                    names.join(", ")
                ));
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "http_server_config.headers: invalid value for {name}: expected one of {allowed:?}, got {value:?}"
                ));
            }
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                format!("http_server_config.headers: {name}: {value:?} is not a valid header value")
            })?;
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                format!("http_server_config.headers: {name:?} is not a header name")
            })?;
            out.push((header_name, header_value));
        }
        Ok(ExtraHeaders(out))
    }

    /// True when the file sets no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header names, as the file wrote them.
    pub fn names(&self) -> impl Iterator<Item = &HeaderName> {
        self.0.iter().map(|(n, _)| n)
    }

    /// Sets every header on `headers` (replacing what a route set).
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.0 {
            headers.insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&str, &str)]) -> Result<ExtraHeaders, String> {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ExtraHeaders::check(&map)
    }

    #[test]
    fn allows_what_exporter_toolkit_allows() {
        let h = check(&[
            ("Strict-Transport-Security", "max-age=31536000"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "sameorigin"),
            ("X-XSS-Protection", "1; mode=block"),
            ("Content-Security-Policy", "default-src 'self'"),
        ])
        .expect("all five");
        let mut map = HeaderMap::new();
        h.apply(&mut map);
        assert_eq!(map.len(), 5);
        assert_eq!(map["x-frame-options"], "sameorigin");
    }

    #[test]
    fn refuses_what_it_refuses() {
        let e = check(&[("Server", "x")]).unwrap_err();
        assert!(e.contains("\"Server\" can not be configured"), "{e}");
        // Names are matched as written, as in exporter-toolkit's map.
        assert!(check(&[("x-frame-options", "deny")]).is_err());
        let e = check(&[("X-Frame-Options", "allow")]).unwrap_err();
        assert!(e.contains("invalid value for X-Frame-Options"), "{e}");
        assert!(check(&[("X-Content-Type-Options", "sniff")]).is_err());
        assert!(check(&[("Content-Security-Policy", "a\nb")]).is_err());
    }
}
