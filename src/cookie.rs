//! The session cookie's name and attributes: validated once when the
//! configuration is built, rendered into `Set-Cookie` headers per response.
//!
//! Rules checked at start-up (so a deployment cannot run misconfigured):
//! the name is an HTTP token; `__Host-` (in any letter case, as browsers
//! match it) requires `Secure`, `Path=/` and no `Domain`; `__Secure-`
//! requires `Secure`; `SameSite=None` and `Partitioned` require `Secure`.
//! Without an explicit name, the most protected one the attributes allow
//! is used: `__Host-session`, else `__Secure-session`, else `session`.

use std::fmt::Write as _;

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::chunk;
use crate::defaults;
use crate::error::ConfigError;

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Sent on same-site requests and top-level cross-site navigations with safe methods (default).
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// What the application asked for, before validation.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    /// `None`: the most protected default the other settings allow.
    pub(crate) name: Option<String>,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) same_site: SameSite,
    pub(crate) secure: bool,
    pub(crate) partitioned: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings {
            name: None,
            path: "/".to_owned(),
            domain: None,
            same_site: SameSite::Lax,
            secure: true,
            partitioned: false,
        }
    }
}

/// A validated cookie: its name and every attribute but `Max-Age`, rendered once.
#[derive(Debug, Clone)]
pub(crate) struct SessionCookie {
    name: String,
    /// `; Path=/; HttpOnly; Secure; SameSite=Lax…`
    attributes: String,
    secure: bool,
}

impl SessionCookie {
    /// Whether the cookie is `Secure` (not with `insecure_allow_http`).
    pub(crate) fn secure(&self) -> bool {
        self.secure
    }

    /// Validates `settings`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] naming the setting and the problem.
    pub(crate) fn new(settings: &CookieSettings) -> Result<SessionCookie, ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::InvalidSetting {
                setting,
                problem: problem.to_owned(),
            })
        };
        let name = settings.name.clone().unwrap_or_else(|| {
            if !settings.secure {
                "session".to_owned()
            } else if settings.path != "/" || settings.domain.is_some() {
                "__Secure-session".to_owned()
            } else {
                defaults::COOKIE_NAME.to_owned()
            }
        });
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return invalid(
                "cookie name",
                "must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)",
            );
        }
        if name.len() > 256 {
            return invalid("cookie name", "must be at most 256 bytes");
        }
        if !settings.path.starts_with('/') || !settings.path.bytes().all(is_attribute_byte) {
            return invalid(
                "Path",
                "must start with '/' and contain no ';', spaces or control characters",
            );
        }
        if let Some(domain) = &settings.domain
            && (domain.is_empty() || !domain.bytes().all(is_attribute_byte))
        {
            return invalid(
                "Domain",
                "must be a non-empty host name without ';', spaces or control characters",
            );
        }
        if has_prefix(&name, "__Host-") {
            if !settings.secure {
                return invalid(
                    "cookie name",
                    "a __Host- cookie requires Secure; remove insecure_allow_http()",
                );
            }
            if settings.path != "/" {
                return invalid("cookie name", "a __Host- cookie requires Path=/");
            }
            if settings.domain.is_some() {
                return invalid("cookie name", "a __Host- cookie must not set Domain");
            }
        }
        if has_prefix(&name, "__Secure-") && !settings.secure {
            return invalid(
                "cookie name",
                "a __Secure- cookie requires Secure; remove insecure_allow_http()",
            );
        }
        if settings.same_site == SameSite::None && !settings.secure {
            return invalid(
                "SameSite",
                "SameSite=None requires Secure (browsers drop the cookie otherwise)",
            );
        }
        if settings.partitioned && !settings.secure {
            return invalid("Partitioned", "a Partitioned cookie requires Secure");
        }

        let mut attributes = String::new();
        let _ = write!(attributes, "; Path={}", settings.path);
        if let Some(domain) = &settings.domain {
            let _ = write!(attributes, "; Domain={domain}");
        }
        attributes.push_str("; HttpOnly");
        if settings.secure {
            attributes.push_str("; Secure");
        }
        let _ = write!(attributes, "; SameSite={}", settings.same_site.as_str());
        if settings.partitioned {
            attributes.push_str("; Partitioned");
        }
        Ok(SessionCookie {
            name,
            attributes,
            secure: settings.secure,
        })
    }

    /// The cookie's name (the first chunk's, when chunked).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Every attribute but `Max-Age`, as rendered: `; Path=/; HttpOnly…`.
    #[cfg(test)]
    pub(crate) fn attributes(&self) -> &str {
        &self.attributes
    }

    /// Appends the `Set-Cookie` headers that store `value`, split into as
    /// many chunks as it needs; returns how many.
    pub(crate) fn set(&self, value: &str, max_age: Option<u64>, headers: &mut HeaderMap) -> usize {
        if chunk::chunk_count(self.name.len(), value.len()) == 1 {
            headers.append(SET_COOKIE, self.render(&self.name, value, max_age));
            return 1;
        }
        let chunks = chunk::split(&self.name, value);
        for (name, value) in &chunks {
            headers.append(SET_COOKIE, self.render(name, value, max_age));
        }
        chunks.len()
    }

    /// Appends `Set-Cookie` headers expiring chunks `from..=through` (chunk 0
    /// is the cookie named exactly like the session).
    pub(crate) fn expire(&self, from: usize, through: usize, headers: &mut HeaderMap) {
        for i in from..=through {
            let header = if i == 0 {
                self.render(&self.name, "", Some(0))
            } else {
                self.render(&format!("{}.{i}", self.name), "", Some(0))
            };
            headers.append(SET_COOKIE, header);
        }
    }

    fn render(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        // Exact capacity: a full `Vec` converts into the header's `Bytes` without reallocating.
        let max_age_len = max_age.map_or(0, |s| {
            "; Max-Age=".len() + s.checked_ilog10().map_or(1, |d| d as usize + 1)
        });
        let mut header = String::with_capacity(
            name.len() + 1 + value.len() + max_age_len + self.attributes.len(),
        );
        header.push_str(name);
        header.push('=');
        header.push_str(value);
        if let Some(seconds) = max_age {
            let _ = write!(header, "; Max-Age={seconds}");
        }
        header.push_str(&self.attributes);
        debug_assert_eq!(header.len(), header.capacity(), "the capacity is exact");
        HeaderValue::try_from(header)
            .expect("names and attributes are validated tokens, values base64url")
    }
}

/// Whether `name` starts with `prefix`, ignoring ASCII case: browsers
/// enforce `__Host-` and `__Secure-` in any case (RFC 6265bis §4.1.3).
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte allowed in a Path or Domain attribute value.
fn is_attribute_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b';'
}
