//! Where an unsafe request comes from, as far as the browser says:
//! `Sec-Fetch-Site` first (sent by every current browser), `Origin` when it
//! is absent. A pure function of the headers, table-tested below.

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

use super::Refusal;

/// What the headers say about a request's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// The browser says the request comes from the application's own origin.
    SameOrigin,
    /// No browser evidence either way (a non-browser client, an old
    /// browser, a trusted other origin, a user-typed navigation): the token
    /// decides.
    Unknown,
    /// From another origin that is not trusted: refused whatever the token.
    Refused(Refusal),
}

/// Judges `headers`. `trusted` are origins (`https://app.example.com`) whose
/// requests may carry a token; all others are refused.
pub(crate) fn judge(headers: &HeaderMap, trusted: &[String]) -> Provenance {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let is_trusted = |origin: &str| trusted.iter().any(|t| t.eq_ignore_ascii_case(origin));
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" => Provenance::SameOrigin,
            // A navigation the user started (address bar, bookmark).
            b"none" => Provenance::Unknown,
            _ if origin.is_some_and(is_trusted) => Provenance::Unknown,
            // same-site (a sibling subdomain, another port), cross-site, or
            // a value no browser sends.
            _ => Provenance::Refused(Refusal::CrossSite),
        };
    }
    match origin {
        None => Provenance::Unknown,
        Some(origin) if is_own(origin, headers) => Provenance::SameOrigin,
        Some(origin) if is_trusted(origin) => Provenance::Unknown,
        // Includes `Origin: null` (sandboxed frames, some redirects).
        Some(_) => Provenance::Refused(Refusal::ForeignOrigin),
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was
/// sent to: its `Host` header, or the `X-Forwarded-Host` a proxy set (a
/// browser cannot add that header to a cross-site form post).
fn is_own(origin: &str, headers: &HeaderMap) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let same = |host: &str| {
        let host = host.trim();
        let host = host.strip_suffix(default_port).unwrap_or(host);
        !host.is_empty() && host.eq_ignore_ascii_case(authority)
    };
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next());
    headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .chain(forwarded)
        .any(same)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn provenance_table() {
        use Provenance::*;
        let trusted = vec!["https://admin.example.com".to_owned()];
        let cross = Refused(Refusal::CrossSite);
        let foreign = Refused(Refusal::ForeignOrigin);
        let rows: &[(&[(&str, &str)], Provenance)] = &[
            // Sec-Fetch-Site decides when present.
            (&[("sec-fetch-site", "same-origin")], SameOrigin),
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "http://proxy-rewrote-host"),
                    ("host", "app"),
                ],
                SameOrigin,
            ),
            (&[("sec-fetch-site", "none")], Unknown),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "http://127.0.0.1:9"),
                ],
                cross,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://evil.example"),
                ],
                cross,
            ),
            (&[("sec-fetch-site", "cross-site")], cross),
            (&[("sec-fetch-site", "something-new")], cross),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "https://admin.example.com"),
                ],
                Unknown,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://ADMIN.example.com"),
                ],
                Unknown,
            ),
            // Without it, Origin against Host / X-Forwarded-Host.
            (&[], Unknown),
            (&[("host", "localhost:3000")], Unknown),
            (
                &[
                    ("origin", "http://localhost:3000"),
                    ("host", "localhost:3000"),
                ],
                SameOrigin,
            ),
            (
                &[
                    ("origin", "http://LOCALHOST:3000"),
                    ("host", "localhost:3000"),
                ],
                SameOrigin,
            ),
            (
                &[("origin", "https://app.example"), ("host", "app.example")],
                SameOrigin,
            ),
            (
                &[
                    ("origin", "https://app.example"),
                    ("host", "app.example:443"),
                ],
                SameOrigin,
            ),
            (
                &[("origin", "http://app.example"), ("host", "app.example:80")],
                SameOrigin,
            ),
            (
                &[
                    ("origin", "http://app.example"),
                    ("host", "app.example:443"),
                ],
                foreign,
            ),
            (
                &[
                    ("origin", "http://localhost:3001"),
                    ("host", "localhost:3000"),
                ],
                foreign,
            ),
            (
                &[("origin", "http://localhost"), ("host", "localhost:3000")],
                foreign,
            ),
            (
                &[("origin", "http://evil.example"), ("host", "app.example")],
                foreign,
            ),
            (
                &[
                    ("origin", "http://app.example.evil"),
                    ("host", "app.example"),
                ],
                foreign,
            ),
            (&[("origin", "null"), ("host", "app.example")], foreign),
            (
                &[("origin", "ftp://app.example"), ("host", "app.example")],
                foreign,
            ),
            (
                &[
                    ("origin", "http://app.example"),
                    ("host", "internal:8080"),
                    ("x-forwarded-host", "app.example"),
                ],
                SameOrigin,
            ),
            (
                &[
                    ("origin", "http://app.example"),
                    ("host", "internal:8080"),
                    ("x-forwarded-host", "app.example, other"),
                ],
                SameOrigin,
            ),
            (
                &[
                    ("origin", "http://app.example"),
                    ("host", "internal:8080"),
                    ("x-forwarded-host", "other, app.example"),
                ],
                foreign,
            ),
            (&[("origin", "http://app.example")], foreign),
            (&[("origin", "http://"), ("host", "")], foreign),
            (
                &[
                    ("origin", "https://admin.example.com"),
                    ("host", "app.example.com"),
                ],
                Unknown,
            ),
        ];
        for (pairs, expected) in rows {
            assert_eq!(judge(&headers(pairs), &trusted), *expected, "{pairs:?}");
        }
    }
}
