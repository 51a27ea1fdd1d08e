// Splitting a sealed value across several cookies and joining it back
// (src/chunk.rs): `<name>=<n>.<part 0>; <name>.1=<part 1>; …` for n >= 2,
// n canonical decimal. Two cookies of the session's name, or two of one
// chunk, make the session unreadable ('duplicate'); a missing part, a count
// that is not canonical, under 2 or over the reader's cap, an empty or
// over-long part, or a part that is not UTF-8 is 'malformed'.

import { Reject } from './format.js';

/** Largest `name=value` a browser stores for one cookie, in bytes. */
export const MAX_COOKIE_PAIR_LEN = 4096;

const ASCII_WS = new Set([0x20, 0x09, 0x0a, 0x0c, 0x0d]);
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function trimAscii(bytes) {
  let start = 0;
  let end = bytes.length;
  while (start < end && ASCII_WS.has(bytes[start])) start += 1;
  while (end > start && ASCII_WS.has(bytes[end - 1])) end -= 1;
  return bytes.subarray(start, end);
}

/** A Cookie header as bytes: Node gives header values as latin1 strings. */
function bytesOf(header) {
  return Buffer.isBuffer(header) || header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(String(header), 'latin1');
}

/** The `[name, value]` byte pairs of the Cookie headers, trimmed; pairs without `=` skipped. */
function* pairs(headers) {
  for (const header of headers) {
    const bytes = bytesOf(header);
    let start = 0;
    while (start <= bytes.length) {
      let semi = bytes.indexOf(0x3b, start);
      if (semi < 0) semi = bytes.length;
      const pair = bytes.subarray(start, semi);
      const eq = pair.indexOf(0x3d);
      if (eq >= 0) yield [trimAscii(pair.subarray(0, eq)), trimAscii(pair.subarray(eq + 1))];
      start = semi + 1;
    }
  }
}

/** Decimal without sign or leading zeros, at most 4 digits; null otherwise. */
function parseCanonical(bytes) {
  if (bytes.length === 0 || bytes.length > 4) return null;
  for (const b of bytes) if (b < 0x30 || b > 0x39) return null;
  if (bytes[0] === 0x30 && bytes.length > 1) return null;
  return Number(bytes.toString('latin1'));
}

/** i when `cookieName` is `<name>.<i>` with canonical i >= 1. */
function chunkIndex(cookieName, name) {
  if (cookieName.length <= name.length + 1) return null;
  if (!cookieName.subarray(0, name.length).equals(name) || cookieName[name.length] !== 0x2e) return null;
  const i = parseCanonical(cookieName.subarray(name.length + 1));
  return i !== null && i >= 1 ? i : null;
}

function utf8(bytes) {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Reads the session cookie `name` from a request's Cookie header(s) (a
 * string as Node gives it, a Buffer, or an array of them), joining chunks,
 * with at most `maxChunks` parts. Returns `{value, highestChunk}`: value is
 * null when the request carried no cookie of that name, else `{ok: true,
 * value}` or `{ok: false, reason}`; highestChunk is the highest `N` of a
 * `<name>.N` cookie present with 1 <= N <= maxChunks (or 0).
 */
export function read(cookieHeaders, name, maxChunks) {
  const headers = cookieHeaders == null ? [] : Array.isArray(cookieHeaders) ? cookieHeaders : [cookieHeaders];
  const nameBytes = Buffer.from(name, 'utf8');
  let first = null;
  let duplicate = false;
  let highestChunk = 0;
  for (const [cookieName, value] of pairs(headers)) {
    if (cookieName.equals(nameBytes)) {
      duplicate ||= first !== null;
      first = value;
    } else {
      const i = chunkIndex(cookieName, nameBytes);
      if (i !== null && i <= maxChunks) highestChunk = Math.max(highestChunk, i);
    }
  }
  if (first === null) return { value: null, highestChunk };
  if (duplicate) return { value: { ok: false, reason: Reject.DUPLICATE }, highestChunk };
  return { value: join(headers, nameBytes, first, maxChunks), highestChunk };
}

function join(headers, name, first, maxChunks) {
  const malformed = { ok: false, reason: Reject.MALFORMED };
  const dot = first.indexOf(0x2e);
  if (dot < 0) {
    const value = utf8(first);
    return value === null ? malformed : { ok: true, value };
  }
  const count = parseCanonical(first.subarray(0, dot));
  if (count === null || count < 2 || count > maxChunks) return malformed;
  const parts = new Array(count).fill(null);
  parts[0] = first.subarray(dot + 1);
  for (const [n, v] of pairs(headers)) {
    const i = chunkIndex(n, name);
    if (i !== null && i < count) {
      if (parts[i] !== null) return { ok: false, reason: Reject.DUPLICATE };
      parts[i] = v;
    }
  }
  let joined = '';
  for (const part of parts) {
    if (part === null || part.length === 0 || part.length > MAX_COOKIE_PAIR_LEN) return malformed;
    const text = utf8(part);
    if (text === null) return malformed;
    joined += text;
  }
  return { ok: true, value: joined };
}

const decimalDigits = (n) => String(n).length;

/** How many chunks a value of `valueLen` bytes needs under a name of `nameLen` bytes. */
export function chunkCount(nameLen, valueLen) {
  if (nameLen + 1 + valueLen <= MAX_COOKIE_PAIR_LEN) return 1;
  let count = 2;
  for (;;) {
    const capacity = Math.max(MAX_COOKIE_PAIR_LEN - (nameLen + 2 + decimalDigits(count)), 1);
    const needed = Math.ceil(valueLen / capacity);
    if (needed <= count) return count;
    count = needed;
  }
}

/** Total bytes of all `name=value` pairs `split` makes. */
export function totalPairBytes(nameLen, valueLen) {
  const count = chunkCount(nameLen, valueLen);
  if (count === 1) return nameLen + 1 + valueLen;
  let indices = decimalDigits(count);
  for (let i = 1; i < count; i++) indices += decimalDigits(i);
  return valueLen + count * (nameLen + 2) + indices;
}

/** Cuts `value` into parts of at most `capacity` UTF-8 bytes, on character boundaries. */
function cut(value, capacity) {
  const bytes = Buffer.from(value, 'utf8');
  const parts = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + capacity, bytes.length);
    // Not inside a multi-byte character: a continuation byte starts none.
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end -= 1;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return parts;
}

/**
 * Splits `value` into the `[name, value]` cookies to send for `name`; every
 * `name=value` pair fits in 4096 bytes.
 */
export function split(name, value) {
  const nameLen = Buffer.byteLength(name, 'utf8');
  const valueLen = Buffer.byteLength(value, 'utf8');
  if (nameLen + 1 + valueLen <= MAX_COOKIE_PAIR_LEN) return [[name, value]];
  let count = chunkCount(nameLen, valueLen);
  let parts;
  for (;;) {
    const capacity = Math.max(MAX_COOKIE_PAIR_LEN - (nameLen + 2 + decimalDigits(count)), 4);
    parts = cut(value, capacity);
    if (parts.length <= count) break;
    count = parts.length;
  }
  return parts.map((part, i) => (i === 0 ? [name, `${parts.length}.${part}`] : [`${name}.${i}`, part]));
}
