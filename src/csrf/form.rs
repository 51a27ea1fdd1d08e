//! Finding the token in a form body: `application/x-www-form-urlencoded`
//! (what a plain HTML form posts) and `multipart/form-data` (a form with a
//! file input). Only the first field of the name counts; nothing else of
//! the body is interpreted.

use http::HeaderMap;
use http::header::CONTENT_TYPE;

/// The kinds of body a token can be found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormKind {
    UrlEncoded,
    Multipart { boundary: String },
}

/// The form kind of a request, from its `Content-Type`; `None` for any
/// other body (JSON, none): the token must then come in the header.
pub(crate) fn kind(headers: &HeaderMap) -> Option<FormKind> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Some(FormKind::UrlEncoded);
    }
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.find_map(|p| {
        let (name, value) = p.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })?;
    (!boundary.is_empty() && boundary.len() <= 70).then_some(FormKind::Multipart { boundary })
}

/// The value of the first field named `field` in `body`.
pub(crate) fn find(kind: &FormKind, body: &[u8], field: &str) -> Option<String> {
    match kind {
        FormKind::UrlEncoded => body.split(|&b| b == b'&').find_map(|pair| {
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let name = decode(halves.next()?)?;
            (name == field).then(|| decode(halves.next().unwrap_or_default()))?
        }),
        FormKind::Multipart { boundary } => multipart(body, boundary, field),
    }
}

/// Percent- and `+`-decoding of one urlencoded name or value.
fn decode(text: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The first part whose `Content-Disposition` names `field`, as text.
fn multipart(body: &[u8], boundary: &str, field: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let wanted = format!("name=\"{field}\"");
    let mut rest = body;
    loop {
        let start = find_bytes(rest, delimiter.as_bytes())? + delimiter.len();
        rest = &rest[start..];
        if rest.starts_with(b"--") {
            return None;
        }
        let headers_end = find_bytes(rest, b"\r\n\r\n")?;
        let headers = &rest[..headers_end];
        let content = &rest[headers_end + 4..];
        let end = find_bytes(content, format!("\r\n{delimiter}").as_bytes())?;
        let named = headers.split(|&b| b == b'\n').any(|line| {
            let line = String::from_utf8_lossy(line);
            let lower = line.to_ascii_lowercase();
            lower.trim_start().starts_with("content-disposition:")
                && line.split(';').any(|param| param.trim() == wanted.as_str())
        });
        if named {
            return String::from_utf8(content[..end].to_vec()).ok();
        }
        rest = &content[end..];
    }
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, value.parse().unwrap());
        map
    }

    #[test]
    fn kinds() {
        assert_eq!(
            kind(&content_type("application/x-www-form-urlencoded")),
            Some(FormKind::UrlEncoded)
        );
        assert_eq!(
            kind(&content_type(
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
            )),
            Some(FormKind::UrlEncoded)
        );
        assert_eq!(
            kind(&content_type("multipart/form-data; boundary=----abc")),
            Some(FormKind::Multipart {
                boundary: "----abc".into()
            })
        );
        assert_eq!(
            kind(&content_type(
                "multipart/form-data; charset=x; boundary=\"q r\""
            )),
            Some(FormKind::Multipart {
                boundary: "q r".into()
            })
        );
        assert_eq!(kind(&content_type("multipart/form-data")), None);
        assert_eq!(kind(&content_type("multipart/form-data; boundary=")), None);
        assert_eq!(
            kind(&content_type("multipart/form-data; boundary=\"\"")),
            None
        );
        let longest = format!("multipart/form-data; boundary={}", "b".repeat(70));
        assert!(kind(&content_type(&longest)).is_some());
        let too_long = format!("multipart/form-data; boundary={}", "b".repeat(71));
        assert_eq!(kind(&content_type(&too_long)), None);
        assert_eq!(kind(&content_type("application/json")), None);
        assert_eq!(kind(&HeaderMap::new()), None);
    }

    #[test]
    fn urlencoded_fields() {
        let kind = FormKind::UrlEncoded;
        assert_eq!(
            find(&kind, b"item=a&csrf_token=T0k-_", "csrf_token").as_deref(),
            Some("T0k-_")
        );
        assert_eq!(
            find(&kind, b"csrf_token=first&csrf_token=second", "csrf_token").as_deref(),
            Some("first")
        );
        assert_eq!(
            find(&kind, b"csrf%5Ftoken=enc%2Doded+x", "csrf_token").as_deref(),
            Some("enc-oded x")
        );
        assert_eq!(
            find(&kind, b"csrf_token", "csrf_token").as_deref(),
            Some("")
        );
        assert_eq!(
            find(&kind, b"xcsrf_token=a&csrf_tokenx=b", "csrf_token"),
            None
        );
        assert_eq!(find(&kind, b"csrf_token=%zz", "csrf_token"), None);
        assert_eq!(find(&kind, b"csrf_token=%4", "csrf_token"), None);
        assert_eq!(find(&kind, b"", "csrf_token"), None);
    }

    #[test]
    fn multipart_fields() {
        let kind = FormKind::Multipart {
            boundary: "XyZ".into(),
        };
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nname=\"csrf_token\" inside a file\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nT0k3n\r\n--XyZ--\r\n";
        assert_eq!(find(&kind, body, "csrf_token").as_deref(), Some("T0k3n"));
        assert_eq!(find(&kind, body, "other"), None);
        // Truncated before the part ends: nothing.
        assert_eq!(find(&kind, &body[..body.len() - 16], "csrf_token"), None);
        assert_eq!(find(&kind, b"garbage", "csrf_token"), None);
        assert_eq!(find(&kind, b"--XyZ--", "csrf_token"), None);
    }
}
