// The CSRF token of the Rust crate (src/csrf/token.rs) and the rule that
// checks it (src/csrf/{mod,origin,form}.rs).
//
// The session keeps a 32-byte secret under "$csrf" (base64url, no
// padding); a page carries base64url(pad || secret XOR pad) with a fresh
// random 32-byte pad per call: 86 characters. A token rendered by either
// implementation verifies in the other, since both read the same secret
// from the same sealed session.

import { randomBytes, timingSafeEqual } from 'node:crypto';

import { decodeStrict, encode } from './b64.js';

export const SECRET_LEN = 32;
export const MASKED_LEN = 86;
/** Default header and form field. */
export const DEFAULT_HEADER = 'x-csrf-token';
export const DEFAULT_FIELD = 'csrf_token';
export const DEFAULT_MAX_FORM_BYTES = 2 * 1024 * 1024;

/** A new secret, as stored in the session (base64url of 32 random bytes). */
export function newSecret() {
  return encode(randomBytes(SECRET_LEN));
}

/** The stored secret's bytes; null when absent or broken (not 32 bytes of strict base64url). */
export function decodeSecret(stored) {
  if (typeof stored !== 'string') return null;
  const bytes = decodeStrict(stored);
  return bytes !== null && bytes.length === SECRET_LEN ? bytes : null;
}

/** `secret` masked with a fresh pad: the token for one page. */
export function mask(secret) {
  const pad = randomBytes(SECRET_LEN);
  const out = Buffer.alloc(2 * SECRET_LEN);
  pad.copy(out, 0);
  for (let i = 0; i < SECRET_LEN; i++) out[SECRET_LEN + i] = secret[i] ^ pad[i];
  return encode(out);
}

/** Whether `submitted` is `secret` masked by some pad (constant-time compare). */
export function matches(secret, submitted) {
  if (typeof submitted !== 'string' || submitted.length !== MASKED_LEN) return false;
  const decoded = decodeStrict(submitted);
  if (decoded === null || decoded.length !== 2 * SECRET_LEN) return false;
  const unmasked = Buffer.alloc(SECRET_LEN);
  for (let i = 0; i < SECRET_LEN; i++) unmasked[i] = decoded[SECRET_LEN + i] ^ decoded[i];
  return timingSafeEqual(unmasked, secret);
}

// ---------------------------------------------------------------------------
// The rule

/** Why a request was refused (Refusal::as_str, and its Display text). */
export const Refusal = Object.freeze({
  cross_site: "the browser says the request comes from another site or origin (Sec-Fetch-Site)",
  foreign_origin: "the Origin header names another origin than the request's host",
  missing_token: 'no CSRF token in the header or the form',
  wrong_token: "the CSRF token is not this session's",
  no_session_token:
    'the request has no session with a CSRF token (expired, logged out, or no cookie sent)',
  form_too_large: 'the form is too large to look for the CSRF token; send it in the header',
  unreadable_body: 'the request body could not be read',
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Whether `method` must pass the check. */
export function guards(method) {
  return !SAFE_METHODS.has(String(method).toUpperCase());
}

function header(headers, name) {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether `origin` names the request's Host or (first) X-Forwarded-Host. */
function isOwn(origin, headers) {
  const sep = origin.indexOf('://');
  if (sep < 0) return false;
  const scheme = origin.slice(0, sep).toLowerCase();
  const authority = origin.slice(sep + 3);
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : null;
  if (defaultPort === null) return false;
  const same = (host) => {
    let h = host.trim();
    if (h.endsWith(defaultPort)) h = h.slice(0, -defaultPort.length);
    return h.length > 0 && h.toLowerCase() === authority.toLowerCase();
  };
  const candidates = [];
  const host = header(headers, 'host');
  if (host !== undefined) candidates.push(host);
  const forwarded = header(headers, 'x-forwarded-host');
  if (forwarded !== undefined) candidates.push(forwarded.split(',')[0]);
  return candidates.some(same);
}

/**
 * What the headers (Node's lower-cased object) say about where a request
 * comes from: 'same_origin', 'unknown' (the token decides), or a refusal
 * ('cross_site', 'foreign_origin').
 */
export function judge(headers, trusted = []) {
  const origin = header(headers, 'origin');
  const isTrusted = (o) => trusted.some((t) => t.toLowerCase() === o.toLowerCase());
  const site = header(headers, 'sec-fetch-site');
  if (site !== undefined) {
    if (site === 'same-origin') return 'same_origin';
    if (site === 'none') return 'unknown';
    if (origin !== undefined && isTrusted(origin)) return 'unknown';
    return 'cross_site';
  }
  if (origin === undefined) return 'unknown';
  if (isOwn(origin, headers)) return 'same_origin';
  if (isTrusted(origin)) return 'unknown';
  return 'foreign_origin';
}

/**
 * Steps 1 and 2: `{pass: true}` when the request needs no token,
 * `{pass: false}` when the token decides, `{refusal}` when refused.
 */
export function checkOrigin(method, headers, config = {}) {
  if (!guards(method)) return { pass: true };
  const trusted = (config.trustOrigins ?? []).map((o) => o.replace(/\/+$/, '').toLowerCase());
  const provenance = judge(headers, trusted);
  if (provenance === 'cross_site' || provenance === 'foreign_origin') return { refusal: provenance };
  if (provenance === 'same_origin') return { pass: Boolean(config.allowSameOriginWithoutToken) };
  return { pass: false };
}

// ---------------------------------------------------------------------------
// The token in a form body

/** 'urlencoded', {multipart: boundary}, or null from a Content-Type. */
export function formKind(contentType) {
  if (typeof contentType !== 'string') return null;
  const params = contentType.split(';');
  const essence = params.shift().trim().toLowerCase();
  if (essence === 'application/x-www-form-urlencoded') return 'urlencoded';
  if (essence !== 'multipart/form-data') return null;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() === 'boundary') {
      const boundary = p.slice(eq + 1).trim().replace(/^"+|"+$/g, '');
      return boundary.length > 0 && boundary.length <= 70 ? { multipart: boundary } : null;
    }
  }
  return null;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function formDecode(bytes) {
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x2b) out.push(0x20);
    else if (b === 0x25) {
      const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(b);
  }
  try {
    return UTF8.decode(Buffer.from(out));
  } catch {
    return null;
  }
}

/** The value of the first field named `field` in a form body (Buffer), or null. */
export function findField(kind, body, field) {
  if (kind === 'urlencoded') {
    let start = 0;
    while (start <= body.length) {
      let amp = body.indexOf(0x26, start);
      if (amp < 0) amp = body.length;
      const pair = body.subarray(start, amp);
      start = amp + 1;
      const eq = pair.indexOf(0x3d);
      const name = formDecode(eq < 0 ? pair : pair.subarray(0, eq));
      if (name === null) continue;
      if (name === field) return formDecode(eq < 0 ? Buffer.alloc(0) : pair.subarray(eq + 1));
    }
    return null;
  }
  if (kind && kind.multipart) return multipart(body, kind.multipart, field);
  return null;
}

function multipart(body, boundary, field) {
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const wanted = `name="${field}"`;
  let rest = body;
  for (;;) {
    const at = rest.indexOf(delimiter);
    if (at < 0) return null;
    rest = rest.subarray(at + delimiter.length);
    if (rest[0] === 0x2d && rest[1] === 0x2d) return null;
    const headersEnd = rest.indexOf('\r\n\r\n');
    if (headersEnd < 0) return null;
    const headers = rest.subarray(0, headersEnd).toString('latin1');
    const content = rest.subarray(headersEnd + 4);
    const end = content.indexOf(next);
    if (end < 0) return null;
    const named = headers.split('\n').some((line) => {
      const lower = line.toLowerCase();
      return lower.trimStart().startsWith('content-disposition:') && line.split(';').some((p) => p.trim() === wanted);
    });
    if (named) {
      try {
        return UTF8.decode(content.subarray(0, end));
      } catch {
        return null;
      }
    }
    rest = content.subarray(end);
  }
}
