//! Every default of the crate, in one place. Each is the secure choice;
//! the builder method that changes it says what it weakens.

use std::time::Duration;

/// The cookie name (see [`SessionConfigBuilder::cookie_name`](crate::SessionConfigBuilder::cookie_name)):
/// `__Host-session`, so that a sibling subdomain cannot toss a cookie that
/// shadows it. Browsers accept it on `https://` and on `http://localhost`.
/// When the other settings do not allow `__Host-`, the default is the most
/// protected name they allow: `__Secure-session` with a `Path` other than
/// `/` or a `Domain`, plain `session` with
/// [`insecure_allow_http`](crate::SessionConfigBuilder::insecure_allow_http).
pub const COOKIE_NAME: &str = "__Host-session";

/// Idle timeout: a session not sealed again within 24 hours expires.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Absolute lifetime: 7 days after creation, however often renewed.
pub const ABSOLUTE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Renewal point: a session that was read is sealed again once less than
/// half its idle window remains.
pub const RENEW_WHEN_REMAINING: f64 = 0.5;

/// Largest total of `name=value` bytes over all of a session's cookies:
/// 7 KiB, so that the whole `Cookie` header, with 1 KiB left for the
/// application's other cookies, stays under the 8 KiB header line that nginx
/// (`large_client_header_buffers 4 8k`) and many other proxies accept by
/// default. It also sets how many cookies a session may be split into (two).
///
/// Responses are the other direction: nginx holds an upstream's response
/// headers in `proxy_buffer_size` (4 KiB by default), so a proxy in front of
/// an application whose sessions grow past ~3.9 KB needs that raised
/// (DEPLOYING.md).
pub const MAX_COOKIE_BYTES: usize = 7 * 1024;

/// Largest session body, uncompressed JSON: 64 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Tolerance for the clocks of different servers: 60 s.
pub const CLOCK_LEEWAY: Duration = Duration::from_secs(60);

/// Size from which a body is offered to DEFLATE when an application switches
/// compression on (`Compression::Above(COMPRESSION_THRESHOLD)`; it is off by
/// default, see [`Compression`](crate::Compression)): 1 KiB of JSON. Below
/// it the bytes saved on every request do not pay for DEFLATE's fixed
/// set-up cost (BENCHMARKS.md, "Compression threshold").
pub const COMPRESSION_THRESHOLD: usize = 1024;

/// The variable holding a comma-separated key list.
pub const KEYS_VAR: &str = "SESSION_KEYS";

/// The variable naming a key file.
pub const KEYS_FILE_VAR: &str = "SESSION_KEYS_FILE";

/// How often a key file named by `SESSION_KEYS_FILE` is read again for
/// changes ([`KeySource::watch`](crate::KeySource::watch)).
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(2);
