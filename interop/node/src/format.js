// Wire formats v1 and v2 (src/format/mod.rs is the normative text): sealing
// a session into a cookie value (v2) and opening one (v1 and v2), with the
// nine opening steps in the Rust order and the same coarse reject reasons.
//
// Times are Unix seconds as BigInt here (the format's u64, with the spec's
// saturating additions); lifetimes are numbers (u32).

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

import { decodeStrict, encode } from './b64.js';
import { SessionData } from './data.js';

/** The version this implementation seals, and the ones it opens. */
export const VERSION = 2;
export const OPENS = Object.freeze([1, 2]);

/** Defaults of the Rust crate (src/defaults.rs). */
export const DEFAULTS = Object.freeze({
  cookieName: '__Host-session',
  idleTimeout: 24 * 60 * 60,
  absoluteLifetime: 7 * 24 * 60 * 60,
  renewWhenRemaining: 0.5,
  maxCookieBytes: 7 * 1024,
  bodyLimit: 64 * 1024,
  clockLeeway: 60,
  // Off by default, as in Rust (the length side channel, SECURITY.md L2);
  // the threshold to pass when switching it on.
  compression: 'off',
  compressionThreshold: 1024,
});

/** The coarse reasons a value is refused (RejectReason::as_str). */
export const Reject = Object.freeze({
  MALFORMED: 'malformed',
  UNSUPPORTED_VERSION: 'unsupported_version',
  UNKNOWN_KEY: 'unknown_key',
  UNAUTHENTICATED: 'unauthenticated',
  EXPIRED: 'expired',
  TOO_LARGE: 'too_large',
  INVALID_BODY: 'invalid_body',
  DUPLICATE: 'duplicate',
  REVOKED: 'revoked',
});

// Layout (src/format/{envelope,v1,v2}.rs).
const HEADER_LEN = 29;
const NONCE_LEN = 24;
const TAG_LEN = 16;
const V1 = { byte: 0x01, label: Buffer.from('client-session/v1 message-key'), prefixLen: 17 };
const V2 = { byte: 0x02, label: Buffer.from('client-session/v2 message-key'), prefixLen: 57 };
const V1_MIN_SEALED = HEADER_LEN + V1.prefixLen + TAG_LEN; // 62
const V2_MIN_SEALED = HEADER_LEN + V2.prefixLen + TAG_LEN; // 102
const FLAG_DEFLATE = 0x01;
const FLAG_PERSISTENT = 0x02;
const FLAG_BROWSER_SESSION = 0x04;
const KNOWN_FLAGS = FLAG_DEFLATE | FLAG_PERSISTENT | FLAG_BROWSER_SESSION;
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffff;
const DEFLATE_LEVEL = 1;

/** Saturating u64 addition. */
const add = (a, b) => {
  const sum = BigInt(a) + BigInt(b);
  return sum > U64_MAX ? U64_MAX : sum;
};

/** Unpadded base64 length of `n` bytes. */
export const encodedLen = (n) => Math.ceil((n * 4) / 3);

export class SealError extends Error {
  constructor(kind, fields = {}) {
    const message =
      kind === 'body_too_large'
        ? `session body is ${fields.len} bytes, over the ${fields.limit}-byte body limit`
        : kind === 'inconsistent_times'
          ? 'authenticated_at and checked_at must be within created_at..expires_at'
          : "the operating system's random number generator failed";
    super(message);
    this.name = 'SealError';
    this.kind = kind;
    Object.assign(this, fields);
  }
}

// ---------------------------------------------------------------------------
// Session ids and lifetimes

/** A new random 16-byte session id (never all zero), as 32 hex digits. */
export function generateSessionId() {
  const bytes = randomBytes(16);
  if (bytes.every((b) => b === 0)) bytes[15] = 1;
  return bytes.toString('hex');
}

/** The id of a v1 cookie: SHA-256("client-session/v1 session-id" || N)[0..16]. */
export function v1SessionId(nonce) {
  return createHash('sha256')
    .update('client-session/v1 session-id')
    .update(nonce)
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

/** Whole seconds, at least 1, at most u32::MAX. */
function seconds(value) {
  const s = Math.floor(Number(value));
  if (!Number.isFinite(s)) return U32_MAX;
  return Math.max(1, Math.min(U32_MAX, s));
}

/**
 * One session's own lifetime: `idle` and `absolute` in seconds (null: the
 * configured default), `persistent` true (Max-Age) / false (browser
 * session) / null (the configured default).
 */
export const Lifetime = Object.freeze({
  configured: () => Object.freeze({ idle: null, absolute: null, persistent: null }),
  rememberFor: (secs) => Object.freeze({ idle: seconds(secs), absolute: seconds(secs), persistent: true }),
  browserSession: (idle) => Object.freeze({ idle: seconds(idle), absolute: null, persistent: false }),
  of: ({ idle = null, absolute = null, persistent = null } = {}) =>
    Object.freeze({
      idle: idle == null ? null : seconds(idle),
      absolute: absolute == null ? null : seconds(absolute),
      persistent: persistent == null ? null : Boolean(persistent),
    }),
  equal: (a, b) => a.idle === b.idle && a.absolute === b.absolute && a.persistent === b.persistent,
});

/**
 * What `lifetime` means under `limits` ({idle, absolute, maxIdle,
 * maxAbsolute}, seconds or null): {idle, absolute} in seconds, null = no limit.
 */
export function resolveLifetime(limits, lifetime) {
  const own = (asked, dflt, cap) => {
    if (asked == null) return dflt ?? null;
    const bound = cap ?? dflt;
    return bound == null ? asked : Math.min(asked, bound);
  };
  return {
    idle: own(lifetime.idle, limits.idle, limits.maxIdle),
    absolute: own(lifetime.absolute, limits.absolute, limits.maxAbsolute),
  };
}

// ---------------------------------------------------------------------------
// The envelope

function aad(header, context) {
  return Buffer.concat([header, context]);
}

function sealEnvelope(version, key, context, nonce, plaintext) {
  const header = Buffer.alloc(HEADER_LEN);
  header[0] = version.byte;
  key.id.copy(header, 1);
  Buffer.from(nonce).copy(header, 5);
  const mk = key.messageKey(version.label, header.subarray(5, 17));
  const cipher = createCipheriv('aes-256-gcm', mk, header.subarray(17, 29), { authTagLength: TAG_LEN });
  cipher.setAAD(aad(header, context));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  mk.fill(0);
  return encode(Buffer.concat([header, ct, cipher.getAuthTag()]));
}

/** Opening steps 3 and 4: `{keyIndex, plaintext}` or a reason. */
function openEnvelope(version, ring, context, sealed) {
  const found = ring.find(sealed.subarray(1, 5));
  if (!found) return { reason: Reject.UNKNOWN_KEY };
  const [keyIndex, key] = found;
  const header = sealed.subarray(0, HEADER_LEN);
  const mk = key.messageKey(version.label, header.subarray(5, 17));
  try {
    const decipher = createDecipheriv('aes-256-gcm', mk, header.subarray(17, 29), {
      authTagLength: TAG_LEN,
    });
    decipher.setAAD(aad(header, context));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
    const plaintext = Buffer.concat([
      decipher.update(sealed.subarray(HEADER_LEN, sealed.length - TAG_LEN)),
      decipher.final(),
    ]);
    return { keyIndex, plaintext };
  } catch {
    return { reason: Reject.UNAUTHENTICATED };
  } finally {
    mk.fill(0);
  }
}

// ---------------------------------------------------------------------------
// DEFLATE

/**
 * Inflates a raw DEFLATE stream to at most `limit` bytes: 'too_large' as
 * soon as the output would pass the limit, 'invalid_body' for a bad block,
 * a stream cut short or bytes after its final block — whichever the
 * inflater meets first (one output buffer of limit + 1 bytes, so the
 * inflater stops at the limit before it can meet a later error).
 */
export function inflate(stored, limit) {
  let result;
  try {
    result = zlib.inflateRawSync(stored, {
      maxOutputLength: Math.max(limit, 1),
      chunkSize: Math.max(limit + 1, zlib.constants.Z_MIN_CHUNK),
      info: true,
    });
  } catch (err) {
    return { reason: err && err.code === 'ERR_BUFFER_TOO_LARGE' ? Reject.TOO_LARGE : Reject.INVALID_BODY };
  }
  if (result.buffer.length > limit) return { reason: Reject.TOO_LARGE };
  if (result.engine.bytesWritten !== stored.length) return { reason: Reject.INVALID_BODY };
  return { body: result.buffer };
}

/** Raw DEFLATE at level 1. */
export function deflate(body) {
  return zlib.deflateRawSync(body, { level: DEFLATE_LEVEL });
}

// ---------------------------------------------------------------------------
// The codec

/**
 * Seals and opens session values: the wire format without HTTP.
 *
 * Options (seconds; null = not set): bodyLimit (65536), leeway (60),
 * idle (I, default idle timeout; null trusts the sealed expiry), absolute
 * (A), maxIdle (cap on a session's own idle timeout; null: I is the cap),
 * maxAbsolute, notBefore (Unix seconds), compression ({threshold} or
 * 'off'; default from 1024 bytes, kept only when smaller).
 */
export class SessionCodec {
  constructor(keyring, context, options = {}) {
    this.keyring = keyring;
    this.context = Buffer.from(context, 'utf8');
    this.bodyLimit = options.bodyLimit ?? DEFAULTS.bodyLimit;
    this.leeway = BigInt(options.leeway ?? DEFAULTS.clockLeeway);
    this.limits = Object.freeze({
      idle: options.idle ?? null,
      absolute: options.absolute ?? null,
      maxIdle: options.maxIdle ?? null,
      maxAbsolute: options.maxAbsolute ?? null,
    });
    this.notBefore = options.notBefore == null ? null : BigInt(options.notBefore);
    const compression = options.compression ?? DEFAULTS.compression;
    this.compressFrom = compression === 'off' || compression === false ? null : Number(compression);
  }

  /** The longest value that could hold a body within the limit (opening step 1). */
  get maxValueLen() {
    return encodedLen(V2_MIN_SEALED + this.bodyLimit);
  }

  /**
   * Opens `value` (a cookie value, string) at `now` (Unix seconds).
   * `{ok: true, data, meta, keyIndex, version}` or `{ok: false, reason}`.
   * `ring` (default: the codec's ring in force) is the ring of the request.
   */
  open(value, now, ring = this.keyring.current()) {
    const fail = (reason) => ({ ok: false, reason });
    now = BigInt(now);
    // 1. size, then strict base64url of at least 62 bytes
    if (typeof value !== 'string') return fail(Reject.MALFORMED);
    if (Buffer.byteLength(value, 'utf8') > this.maxValueLen) return fail(Reject.TOO_LARGE);
    const sealed = decodeStrict(value);
    if (sealed === null || sealed.length < V1_MIN_SEALED) return fail(Reject.MALFORMED);
    // 2. version
    if (sealed[0] === V2.byte) {
      if (sealed.length < V2_MIN_SEALED) return fail(Reject.MALFORMED);
      return this.#openV2(ring, sealed, now);
    }
    if (sealed[0] === V1.byte) return this.#openV1(ring, sealed, now);
    return fail(Reject.UNSUPPORTED_VERSION);
  }

  #openV2(ring, sealed, now) {
    const opened = openEnvelope(V2, ring, this.context, sealed);
    if (opened.reason) return { ok: false, reason: opened.reason };
    const p = opened.plaintext;
    const flags = p[0];
    // 5. consistent fields
    let persistent;
    switch (flags & (FLAG_PERSISTENT | FLAG_BROWSER_SESSION)) {
      case 0:
        persistent = null;
        break;
      case FLAG_PERSISTENT:
        persistent = true;
        break;
      case FLAG_BROWSER_SESSION:
        persistent = false;
        break;
      default:
        return { ok: false, reason: Reject.INVALID_BODY };
    }
    if (flags & ~KNOWN_FLAGS) return { ok: false, reason: Reject.INVALID_BODY };
    const sessionId = p.subarray(17, 33);
    if (sessionId.every((b) => b === 0)) return { ok: false, reason: Reject.INVALID_BODY };
    const createdAt = p.readBigUInt64BE(1);
    const expiresAt = p.readBigUInt64BE(9);
    const idle = p.readUInt32BE(33);
    const absolute = p.readUInt32BE(37);
    const authenticatedAt = p.readBigUInt64BE(41);
    const checkedAt = p.readBigUInt64BE(49);
    const meta = {
      version: 2,
      id: sessionId.toString('hex'),
      createdAt,
      expiresAt,
      lifetime: Object.freeze({ idle: idle || null, absolute: absolute || null, persistent }),
      authenticatedAt: authenticatedAt === 0n ? null : authenticatedAt,
      checkedAt: checkedAt === 0n ? null : checkedAt,
    };
    if (!inLife(meta, meta.authenticatedAt) || !inLife(meta, meta.checkedAt)) {
      return { ok: false, reason: Reject.INVALID_BODY };
    }
    return this.#finish(meta, opened.keyIndex, p, V2.prefixLen, (flags & FLAG_DEFLATE) !== 0, now);
  }

  #openV1(ring, sealed, now) {
    const id = v1SessionId(sealed.subarray(5, 29));
    const opened = openEnvelope(V1, ring, this.context, sealed);
    if (opened.reason) return { ok: false, reason: opened.reason };
    const p = opened.plaintext;
    if (p[0] & ~FLAG_DEFLATE) return { ok: false, reason: Reject.INVALID_BODY };
    const meta = {
      version: 1,
      id,
      createdAt: p.readBigUInt64BE(1),
      expiresAt: p.readBigUInt64BE(9),
      lifetime: Lifetime.configured(),
      authenticatedAt: null,
      checkedAt: null,
    };
    return this.#finish(meta, opened.keyIndex, p, V1.prefixLen, (p[0] & FLAG_DEFLATE) !== 0, now);
  }

  /** Steps 6 to 9. */
  #finish(meta, keyIndex, plaintext, prefixLen, deflated, now) {
    const expired = this.checkTimes(meta, now);
    if (expired) return { ok: false, reason: expired };
    if (this.notBefore !== null && meta.createdAt < this.notBefore) {
      return { ok: false, reason: Reject.REVOKED };
    }
    const stored = plaintext.subarray(prefixLen);
    let body;
    if (deflated) {
      const inflated = inflate(stored, this.bodyLimit);
      if (inflated.reason) return { ok: false, reason: inflated.reason };
      body = inflated.body;
    } else if (stored.length > this.bodyLimit) {
      return { ok: false, reason: Reject.TOO_LARGE };
    } else {
      body = stored;
    }
    const data = SessionData.fromJson(body);
    if (data === null) return { ok: false, reason: Reject.INVALID_BODY };
    return { ok: true, data, meta: Object.freeze(meta), keyIndex, version: meta.version };
  }

  /** Opening step 6: null, or 'expired'. */
  checkTimes(meta, now) {
    now = BigInt(now);
    const { idle, absolute } = resolveLifetime(this.limits, meta.lifetime);
    const expired =
      now >= meta.expiresAt ||
      meta.createdAt > add(now, this.leeway) ||
      (idle != null && meta.expiresAt > add(add(now, idle), this.leeway)) ||
      (absolute != null && now >= add(meta.createdAt, absolute));
    return expired ? Reject.EXPIRED : null;
  }

  /** The JSON body as stored: `{deflated, stored}`; throws SealError over the limit. */
  encodeBody(data) {
    const json = Buffer.from(data.toJson(), 'utf8');
    if (json.length > this.bodyLimit) {
      throw new SealError('body_too_large', { len: json.length, limit: this.bodyLimit });
    }
    if (this.compressFrom !== null && json.length >= this.compressFrom) {
      const packed = deflate(json);
      if (packed.length < json.length) return { deflated: true, stored: packed };
    }
    return { deflated: false, stored: json };
  }

  /** The length of the value `seal` would return for `data`. */
  sealedLen(data) {
    return encodedLen(HEADER_LEN + V2.prefixLen + this.encodeBody(data).stored.length + TAG_LEN);
  }

  /**
   * Seals `data` (a SessionData) with `meta` ({id (hex), createdAt,
   * expiresAt, lifetime, authenticatedAt, checkedAt}; times number or
   * BigInt, null for never) under the primary key of `ring`, as v2, with a
   * fresh 24-byte nonce from the OS. Throws SealError.
   */
  seal(data, meta, ring = this.keyring.current()) {
    const checked = normaliseMeta(meta);
    const body = this.encodeBody(data);
    return sealV2WithNonce(ring.primary, this.context, randomBytes(NONCE_LEN), checked, body);
  }
}

/** Step 5's rule for a time field: absent, or created_at <= t < expires_at. */
function inLife(meta, at) {
  return at == null || (at !== 0n && meta.createdAt <= at && at < meta.expiresAt);
}

function normaliseMeta(meta) {
  const big = (v) => (v == null ? null : BigInt(v));
  const m = {
    id: meta.id,
    createdAt: BigInt(meta.createdAt),
    expiresAt: BigInt(meta.expiresAt),
    lifetime: meta.lifetime ?? Lifetime.configured(),
    authenticatedAt: big(meta.authenticatedAt),
    checkedAt: big(meta.checkedAt),
  };
  if (!inLife(m, m.authenticatedAt) || !inLife(m, m.checkedAt)) {
    throw new SealError('inconsistent_times');
  }
  if (!/^[0-9a-f]{32}$/i.test(m.id) || /^0+$/.test(m.id)) {
    throw new TypeError('a session id is 32 hex digits, not all zero');
  }
  return m;
}

function sealV2WithNonce(key, context, nonce, meta, body) {
  const prefix = Buffer.alloc(V2.prefixLen);
  const persistence =
    meta.lifetime.persistent === true ? FLAG_PERSISTENT : meta.lifetime.persistent === false ? FLAG_BROWSER_SESSION : 0;
  prefix[0] = (body.deflated ? FLAG_DEFLATE : 0) | persistence;
  prefix.writeBigUInt64BE(meta.createdAt, 1);
  prefix.writeBigUInt64BE(meta.expiresAt, 9);
  Buffer.from(meta.id, 'hex').copy(prefix, 17);
  prefix.writeUInt32BE(meta.lifetime.idle ?? 0, 33);
  prefix.writeUInt32BE(meta.lifetime.absolute ?? 0, 37);
  prefix.writeBigUInt64BE(meta.authenticatedAt ?? 0n, 41);
  prefix.writeBigUInt64BE(meta.checkedAt ?? 0n, 49);
  return sealEnvelope(V2, key, context, nonce, Buffer.concat([prefix, body.stored]));
}

/**
 * For test vectors only: seals the exact `body` bytes UNCOMPRESSED as v2
 * with a given 24-byte nonce (never reuse a nonce in production).
 */
export function sealV2ForVectors(key, context, nonce, meta, body) {
  return sealV2WithNonce(key, Buffer.from(context, 'utf8'), nonce, normaliseMeta(meta), {
    deflated: false,
    stored: Buffer.from(body),
  });
}

/** For test vectors only: seals `body` uncompressed in format v1 (read-only format). */
export function sealV1ForVectors(key, context, nonce, createdAt, expiresAt, body) {
  const prefix = Buffer.alloc(V1.prefixLen);
  prefix.writeBigUInt64BE(BigInt(createdAt), 1);
  prefix.writeBigUInt64BE(BigInt(expiresAt), 9);
  return sealEnvelope(V1, key, Buffer.from(context, 'utf8'), nonce, Buffer.concat([prefix, Buffer.from(body)]));
}
