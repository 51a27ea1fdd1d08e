// Base64 the way the Rust crate reads and writes it.
//
// * Cookie values and CSRF tokens: base64url without padding, strict — only
//   the URL-safe alphabet, no `=`, no length of 4k+1 characters, unused
//   trailing bits zero (RFC 4648 §5, canonical).
// * Key entries (SESSION_KEYS, key files): either alphabet, padding optional
//   but, when present, at the end and no more than the encoding needs; the
//   unused trailing bits must still be zero (the `base64` crate's
//   GeneralPurpose engine with DecodePaddingMode::Indifferent).

const URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function sextet(c) {
  if (c === '-') return 62;
  if (c === '_') return 63;
  return ALPHABET.indexOf(c);
}

/** Whether the last symbol of `data` (no padding) leaves unused bits at zero. */
function canonicalTail(data) {
  const rem = data.length % 4;
  if (rem === 0) return true;
  if (rem === 1) return false;
  const last = sextet(data[data.length - 1]);
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** Strict base64url without padding; `null` when not canonical. */
export function decodeStrict(text) {
  if (typeof text !== 'string' || !URL.test(text) || !canonicalTail(text)) return null;
  return Buffer.from(text, 'base64url');
}

/** Base64url without padding. */
export function encode(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

/** Standard base64 with padding (the form keygen prints). */
export function encodeStandard(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/**
 * A key entry: either alphabet (`-`/`_` read as `+`/`/`), padding optional.
 * `null` when it is not base64 under those rules.
 */
export function decodeLenient(text) {
  let std = '';
  for (const c of text) std += c === '-' ? '+' : c === '_' ? '/' : c;
  let pad = 0;
  while (pad < std.length && std[std.length - 1 - pad] === '=') pad += 1;
  const data = std.slice(0, std.length - pad);
  if (!/^[A-Za-z0-9+/]*$/.test(data)) return null;
  const rem = data.length % 4;
  if (rem === 1) return null;
  // Padding only completes the last quad, after at least two symbols of it.
  if (pad > 0 && (rem === 0 || rem + pad > 4)) return null;
  if (!canonicalTail(data)) return null;
  return Buffer.from(data, 'base64');
}
