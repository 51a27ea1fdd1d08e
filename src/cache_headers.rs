//! Keeping shared caches from serving one user's session to another.
//!
//! A response that carries a session's `Set-Cookie`, or that was built from
//! a session, must not be stored by a shared cache (a CDN, nginx
//! `proxy_cache`) and replayed to the next user: they would get the first
//! user's page, or worse their cookie. So, unless the application opted out
//! ([`SessionConfigBuilder::insecure_skip_cache_headers`](crate::SessionConfigBuilder::insecure_skip_cache_headers)):
//!
//! * a response that sets or expires the session cookie, or whose handler
//!   read a session that the request's cookie opened, is made
//!   `Cache-Control: private`. A handler's `no-store` or bare `private` is
//!   kept as it is (already at least as strict); its `public` and
//!   `s-maxage` are removed, with a warning, and its other directives
//!   (`max-age`, `no-cache`, …) kept after `private`; the headers CDNs obey
//!   before `Cache-Control` (`CDN-Cache-Control`, `Surrogate-Control`,
//!   `Cloudflare-CDN-Cache-Control`) are removed from such a response;
//! * a response whose handler read or changed the session gets
//!   `Vary: Cookie`, merged into the handler's `Vary` (not repeated, and
//!   not added next to `*`, which already varies on everything).

use http::header::{CACHE_CONTROL, VARY};
use http::{HeaderMap, HeaderName, HeaderValue};

/// What the response has to do with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exposure {
    /// The response is personal: it sets or expires the session cookie, or
    /// was built from a session the request's cookie opened.
    pub(crate) private: bool,
    /// The handler read or changed the session, so the response depends on
    /// the `Cookie` header.
    pub(crate) varies_on_cookie: bool,
}

/// Adds the `Cache-Control` and `Vary` that `exposure` calls for. Returns
/// the handler's directives that were removed (`public`, `s-maxage`), for
/// the caller to log.
pub(crate) fn protect(headers: &mut HeaderMap, exposure: Exposure) -> Option<String> {
    let removed = if exposure.private {
        make_private(headers)
    } else {
        None
    };
    if exposure.varies_on_cookie {
        vary_on_cookie(headers);
    }
    removed
}

/// Headers that shared caches obey before `Cache-Control` (RFC 9213
/// `CDN-Cache-Control`, and the vendors' forms): on a private response they
/// would let a CDN store it anyway, so they are removed.
static TARGETED_CACHE_CONTROL: [HeaderName; 3] = [
    HeaderName::from_static("cdn-cache-control"),
    HeaderName::from_static("cloudflare-cdn-cache-control"),
    HeaderName::from_static("surrogate-control"),
];

fn make_private(headers: &mut HeaderMap) -> Option<String> {
    // The usual response has no caching header at all: one lookup per name
    // and a static value, no allocation.
    let targeted = TARGETED_CACHE_CONTROL
        .iter()
        .any(|name| headers.contains_key(name));
    if !targeted && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
        return None;
    }
    let mut removed: Vec<String> = Vec::new();
    for name in &TARGETED_CACHE_CONTROL {
        if headers.remove(name).is_some() {
            removed.push(name.as_str().to_owned());
        }
    }
    let joined = joined(headers, &CACHE_CONTROL);
    let directives = split_directives(&joined);
    let is = |d: &str, name: &str| directive_name(d).eq_ignore_ascii_case(name);
    // `private="Set-Cookie"` keeps only the named fields private: not enough.
    let already = directives
        .iter()
        .any(|d| is(d, "no-store") || d.eq_ignore_ascii_case("private"));
    if !already {
        let (shared, kept): (Vec<&str>, Vec<&str>) = directives
            .into_iter()
            .partition(|d| is(d, "public") || is(d, "s-maxage") || is(d, "private"));
        removed.extend(
            shared
                .into_iter()
                .filter(|d| !is(d, "private"))
                .map(str::to_owned),
        );
        let mut value = String::from("private");
        for directive in kept {
            value.push_str(", ");
            value.push_str(directive);
        }
        // Built from directives of valid header values, joined by ", ".
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(CACHE_CONTROL, value);
        }
    }
    (!removed.is_empty()).then(|| removed.join(", "))
}

fn vary_on_cookie(headers: &mut HeaderMap) {
    if !headers.contains_key(VARY) {
        headers.insert(VARY, HeaderValue::from_static("Cookie"));
        return;
    }
    let joined = joined(headers, &VARY);
    let fields = split_directives(&joined);
    if fields
        .iter()
        .any(|f| *f == "*" || f.eq_ignore_ascii_case("cookie"))
    {
        return;
    }
    if fields.is_empty() {
        headers.insert(VARY, HeaderValue::from_static("Cookie"));
        return;
    }
    let value = format!("{}, Cookie", fields.join(", "));
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(VARY, value);
    }
}

/// Every line of a list header, joined with commas (RFC 9110 §5.3). Lines
/// that are not visible ASCII are dropped: they cannot be parsed as a list.
fn joined(headers: &HeaderMap, name: &http::HeaderName) -> String {
    let lines: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    lines.join(",")
}

/// The non-empty, trimmed members of a comma-separated list; a comma inside
/// a quoted string (`no-cache="Set-Cookie, Foo"`) does not split.
fn split_directives(list: &str) -> Vec<&str> {
    let mut members = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                members.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(list[start..].trim());
    members.retain(|m| !m.is_empty());
    members
}

/// `max-age` of `max-age=60`.
fn directive_name(directive: &str) -> &str {
    directive.split('=').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: Exposure = Exposure {
        private: true,
        varies_on_cookie: true,
    };
    const READ_ONLY_ANONYMOUS: Exposure = Exposure {
        private: false,
        varies_on_cookie: true,
    };
    const UNTOUCHED: Exposure = Exposure {
        private: false,
        varies_on_cookie: false,
    };

    struct Row {
        name: &'static str,
        exposure: Exposure,
        cache_control: &'static [&'static str],
        vary: &'static [&'static str],
        expect_cache_control: Option<&'static str>,
        expect_vary: Option<&'static str>,
        /// The handler's directives removed (and logged by the caller).
        expect_removed: Option<&'static str>,
        /// CDN-targeted cache headers the handler set.
        targeted: &'static [&'static str],
    }

    #[test]
    fn headers_table() {
        let rows = [
            Row {
                name: "nothing set: private and Vary added",
                exposure: PRIVATE,
                cache_control: &[],
                vary: &[],
                expect_cache_control: Some("private"),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "no-store kept as is",
                exposure: PRIVATE,
                cache_control: &["no-store, max-age=0"],
                vary: &[],
                expect_cache_control: Some("no-store, max-age=0"),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "private kept as is (any case)",
                exposure: PRIVATE,
                cache_control: &["max-age=60, PRIVATE"],
                vary: &[],
                expect_cache_control: Some("max-age=60, PRIVATE"),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "public and s-maxage removed, others kept",
                exposure: PRIVATE,
                cache_control: &["public, max-age=60, s-maxage=600"],
                vary: &[],
                expect_cache_control: Some("private, max-age=60"),
                expect_vary: Some("Cookie"),
                expect_removed: Some("public, s-maxage=600"),
                targeted: &[],
            },
            Row {
                name: "private with field names is not private enough",
                exposure: PRIVATE,
                cache_control: &["private=\"Set-Cookie, X-A\", max-age=60"],
                vary: &[],
                expect_cache_control: Some("private, max-age=60"),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "several Cache-Control lines read as one list",
                exposure: PRIVATE,
                cache_control: &["max-age=60", "public"],
                vary: &[],
                expect_cache_control: Some("private, max-age=60"),
                expect_vary: Some("Cookie"),
                expect_removed: Some("public"),
                targeted: &[],
            },
            Row {
                name: "no-cache with a quoted list is one directive",
                exposure: PRIVATE,
                cache_control: &["no-cache=\"Set-Cookie, Foo\""],
                vary: &[],
                expect_cache_control: Some("private, no-cache=\"Set-Cookie, Foo\""),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "an escaped quote does not end the quoted string",
                exposure: PRIVATE,
                cache_control: &[r#"no-cache="a\", public, b", max-age=5"#],
                vary: &[],
                expect_cache_control: Some(r#"private, no-cache="a\", public, b", max-age=5"#),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "a backslash outside quotes escapes nothing",
                exposure: PRIVATE,
                cache_control: &[r"x\, public"],
                vary: &[],
                expect_cache_control: Some(r"private, x\"),
                expect_vary: Some("Cookie"),
                expect_removed: Some("public"),
                targeted: &[],
            },
            Row {
                name: "a CDN-targeted header alone: removed, and private added",
                exposure: PRIVATE,
                cache_control: &[],
                vary: &[],
                expect_cache_control: Some("private"),
                expect_vary: Some("Cookie"),
                expect_removed: Some("cloudflare-cdn-cache-control"),
                targeted: &["cloudflare-cdn-cache-control"],
            },
            Row {
                name: "CDN-targeted headers removed, even next to no-store",
                exposure: PRIVATE,
                cache_control: &["no-store"],
                vary: &[],
                expect_cache_control: Some("no-store"),
                expect_vary: Some("Cookie"),
                expect_removed: Some("cdn-cache-control, surrogate-control"),
                targeted: &["cdn-cache-control", "surrogate-control"],
            },
            Row {
                name: "Vary merged without duplicates",
                exposure: PRIVATE,
                cache_control: &[],
                vary: &["Accept-Encoding", "Origin"],
                expect_cache_control: Some("private"),
                expect_vary: Some("Accept-Encoding, Origin, Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "Vary already names cookie",
                exposure: PRIVATE,
                cache_control: &[],
                vary: &["accept-encoding, cookie"],
                expect_cache_control: Some("private"),
                expect_vary: Some("accept-encoding, cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "Vary * respected",
                exposure: PRIVATE,
                cache_control: &[],
                vary: &["*"],
                expect_cache_control: Some("private"),
                expect_vary: Some("*"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "anonymous read: Vary only, the handler's caching kept",
                exposure: READ_ONLY_ANONYMOUS,
                cache_control: &["public, max-age=60"],
                vary: &[],
                expect_cache_control: Some("public, max-age=60"),
                expect_vary: Some("Cookie"),
                expect_removed: None,
                targeted: &[],
            },
            Row {
                name: "untouched session: nothing added",
                exposure: UNTOUCHED,
                cache_control: &[],
                vary: &[],
                expect_cache_control: None,
                expect_vary: None,
                expect_removed: None,
                targeted: &[],
            },
        ];
        for row in rows {
            let mut headers = HeaderMap::new();
            for v in row.cache_control {
                headers.append(CACHE_CONTROL, HeaderValue::from_static(v));
            }
            for v in row.vary {
                headers.append(VARY, HeaderValue::from_static(v));
            }
            for name in row.targeted {
                headers.insert(*name, HeaderValue::from_static("max-age=600"));
            }
            let removed = protect(&mut headers, row.exposure);
            for name in &TARGETED_CACHE_CONTROL {
                assert!(
                    !row.exposure.private || !headers.contains_key(name),
                    "{}: {name} left on a private response",
                    row.name
                );
            }
            assert_eq!(
                removed.as_deref(),
                row.expect_removed,
                "{}: removed",
                row.name
            );
            let all = |name| {
                let values: Vec<&str> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap())
                    .collect();
                (!values.is_empty()).then(|| values.join(" | "))
            };
            assert_eq!(
                all(CACHE_CONTROL).as_deref(),
                row.expect_cache_control,
                "{}: Cache-Control",
                row.name
            );
            assert_eq!(all(VARY).as_deref(), row.expect_vary, "{}: Vary", row.name);
        }
    }
}
