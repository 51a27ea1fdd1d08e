// Express (or plain node:http) middleware with the semantics of the Rust
// crate's SessionLayer (src/{config,session,service,future,policy,
// cache_headers,revocation}.rs, src/flash, src/csrf). It uses only `req`
// and `res`: no dependency on Express itself.
//
//   import { sessions } from 'client-session/express';
//   app.use(sessions({ keyring: KeySource.default.watch() }));
//   app.get('/', (req, res) => { const user = req.session.get('user'); … });
//
// The cookie is opened lazily, on the first call that needs it; the
// `Set-Cookie` headers are decided when the response's headers leave
// (writeHead, or the first write/end), by the same plan as the Rust layer.

import { chunkCount, read as readCookie, split, totalPairBytes } from './chunk.js';
import { protect } from './cache-headers.js';
import * as csrf from './csrf.js';
import { SessionData, ValueError } from './data.js';
import {
  DEFAULTS,
  Lifetime,
  Reject,
  SealError,
  SessionCodec,
  generateSessionId,
  resolveLifetime,
} from './format.js';
import { ConfigError, KeySource, LiveKeyring } from './keys.js';
import { answers500WhenUnsealable, plan as planResponse } from './policy.js';
import { parseInstant } from './rfc3339.js';

export { Lifetime, SessionData, ValueError, ConfigError, KeySource, LiveKeyring };

/** The variable `notBeforeFromEnv` reads. */
export const NOT_BEFORE_VAR = 'SESSION_NOT_BEFORE';
const MAX_CHUNKS = 64;
const CSRF_KEY = '$csrf';
const FLASH_KEY = '$flash';
const isReserved = (key) => key === CSRF_KEY || key === FLASH_KEY;

/** Flash message levels. */
export const Level = Object.freeze({ INFO: 'info', SUCCESS: 'success', WARNING: 'warning', ERROR: 'error' });
const LEVELS = new Set(Object.values(Level));

const silent = () => {};
const DEFAULT_LOG = Object.freeze({
  debug: silent,
  info: silent,
  warn: (...a) => console.warn('client-session:', ...a),
  error: (...a) => console.error('client-session:', ...a),
});

// ---------------------------------------------------------------------------
// Configuration (src/config.rs, src/cookie.rs)

const invalid = (setting, problem) => new ConfigError('invalid_setting', { setting, problem });
const isTokenChar = (c) => /^[A-Za-z0-9!#$%&'*+\-.^_`|~]$/.test(c);
const isAttributeText = (s) => /^[\x21-\x3a\x3c-\x7e]*$/.test(s);
const hasPrefix = (name, prefix) => name.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();

function cookieOf(o) {
  const secure = o.secure ?? true;
  const cookiePath = o.path ?? '/';
  const domain = o.domain ?? null;
  const sameSite = o.sameSite ?? 'Lax';
  const partitioned = Boolean(o.partitioned);
  const name =
    o.cookieName ?? (!secure ? 'session' : cookiePath !== '/' || domain !== null ? '__Secure-session' : DEFAULTS.cookieName);
  if (name.length === 0 || ![...name].every(isTokenChar)) {
    throw invalid('cookie name', "must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)");
  }
  if (name.length > 256) throw invalid('cookie name', 'must be at most 256 bytes');
  if (!cookiePath.startsWith('/') || !isAttributeText(cookiePath)) {
    throw invalid('Path', "must start with '/' and contain no ';', spaces or control characters");
  }
  if (domain !== null && (domain.length === 0 || !isAttributeText(domain))) {
    throw invalid('Domain', "must be a non-empty host name without ';', spaces or control characters");
  }
  if (hasPrefix(name, '__Host-')) {
    if (!secure) throw invalid('cookie name', 'a __Host- cookie requires Secure; remove insecure_allow_http()');
    if (cookiePath !== '/') throw invalid('cookie name', 'a __Host- cookie requires Path=/');
    if (domain !== null) throw invalid('cookie name', 'a __Host- cookie must not set Domain');
  }
  if (hasPrefix(name, '__Secure-') && !secure) {
    throw invalid('cookie name', 'a __Secure- cookie requires Secure; remove insecure_allow_http()');
  }
  if (!['Strict', 'Lax', 'None'].includes(sameSite)) throw invalid('SameSite', 'must be Strict, Lax or None');
  if (sameSite === 'None' && !secure) {
    throw invalid('SameSite', 'SameSite=None requires Secure (browsers drop the cookie otherwise)');
  }
  if (partitioned && !secure) throw invalid('Partitioned', 'a Partitioned cookie requires Secure');
  let attributes = `; Path=${cookiePath}`;
  if (domain !== null) attributes += `; Domain=${domain}`;
  attributes += '; HttpOnly';
  if (secure) attributes += '; Secure';
  attributes += `; SameSite=${sameSite}`;
  if (partitioned) attributes += '; Partitioned';
  return Object.freeze({ name, attributes });
}

/**
 * A validated configuration. Options (seconds where a duration):
 *   keyring (required: a Keyring or LiveKeyring), cookieName, context,
 *   path ('/'), domain, sameSite ('Lax'), secure (true), partitioned,
 *   idleTimeout (86400), absoluteLifetime (604800; null for none),
 *   maxIdleTimeout, maxAbsoluteLifetime, renewWhenRemaining (0.5),
 *   ephemeral (false), clockLeeway (60), bodyLimit (65536),
 *   compression ('off' by default, or a threshold such as 1024), maxCookieBytes (7168), cacheHeaders (true),
 *   notBefore (Unix seconds), revalidate ({every, check, grace}),
 *   clock (() => Unix seconds), log ({debug, info, warn, error}).
 */
export function sessionConfig(options) {
  if (options && options.__clientSessionConfig) return options;
  const o = { ...options };
  if (!o.keyring) throw invalid('keyring', 'is required (Keyring, LiveKeyring, or KeySource.watch())');
  const cookie = cookieOf(o);
  const idle = o.idleTimeout ?? DEFAULTS.idleTimeout;
  const absolute = o.absoluteLifetime === undefined ? DEFAULTS.absoluteLifetime : o.absoluteLifetime;
  const renewFraction = o.renewWhenRemaining ?? DEFAULTS.renewWhenRemaining;
  const maxCookieBytes = o.maxCookieBytes ?? DEFAULTS.maxCookieBytes;
  const bodyLimit = o.bodyLimit ?? DEFAULTS.bodyLimit;
  const leeway = o.clockLeeway ?? DEFAULTS.clockLeeway;
  const clock = o.clock ?? (() => Math.floor(Date.now() / 1000));
  if (!(Math.floor(idle) >= 1)) throw invalid('idle timeout', 'must be at least one second');
  if (absolute != null && !(Math.floor(absolute) >= 1)) {
    throw invalid('absolute lifetime', 'must be at least one second, or None');
  }
  if (!(renewFraction >= 0 && renewFraction <= 1)) throw invalid('renewal fraction', 'must be between 0.0 and 1.0');
  const maxChunks = chunkCount(Buffer.byteLength(cookie.name), maxCookieBytes);
  if (maxCookieBytes < 256 || maxChunks > MAX_CHUNKS) {
    throw invalid('max cookie bytes', `must be between 256 and ${MAX_CHUNKS * (4096 - cookie.name.length - 4)} (64 cookies)`);
  }
  if (!(bodyLimit >= 1)) throw invalid('body limit', 'must be at least one byte');
  if (o.maxIdleTimeout != null && o.maxIdleTimeout < idle) {
    throw invalid('max idle timeout', 'must be at least the idle timeout (it caps what a session may choose)');
  }
  if (o.maxAbsoluteLifetime != null && absolute != null && o.maxAbsoluteLifetime < absolute) {
    throw invalid('max absolute lifetime', 'must be at least the absolute lifetime (it caps what a session may choose)');
  }
  if (o.notBefore != null && o.notBefore > clock() + leeway) {
    throw invalid(
      o.notBeforeSetting ?? 'not before',
      'is in the future (beyond the clock leeway): every session, even a new login, would be refused until then',
    );
  }
  let revalidate = null;
  if (o.revalidate) {
    const every = Math.floor(o.revalidate.every);
    if (!(every >= 1)) throw invalid('revalidation interval', 'must be at least one second');
    if (typeof o.revalidate.check !== 'function') throw invalid('revalidation', 'needs a check function');
    revalidate = Object.freeze({ every, grace: Math.floor(o.revalidate.grace ?? every), check: o.revalidate.check });
  }
  const keyring = o.keyring;
  const codec = new SessionCodec(keyring, o.context ?? cookie.name, {
    bodyLimit,
    leeway,
    idle: Math.floor(idle),
    absolute: absolute == null ? null : Math.floor(absolute),
    maxIdle: o.maxIdleTimeout == null ? null : Math.floor(o.maxIdleTimeout),
    maxAbsolute: o.maxAbsoluteLifetime == null ? null : Math.floor(o.maxAbsoluteLifetime),
    notBefore: o.notBefore ?? null,
    compression: o.compression,
  });
  const readChunks = Math.min(Math.max(chunkCount(Buffer.byteLength(cookie.name), codec.maxValueLen), maxChunks), MAX_CHUNKS);
  return Object.freeze({
    __clientSessionConfig: true,
    keyring,
    codec,
    cookie,
    renewFraction,
    ephemeral: Boolean(o.ephemeral),
    maxCookieBytes,
    maxChunks,
    readChunks,
    clock,
    cacheHeaders: o.cacheHeaders ?? true,
    revalidate,
    log: { ...DEFAULT_LOG, ...(o.log ?? {}) },
  });
}

/**
 * `notBefore` from SESSION_NOT_BEFORE (Unix seconds or RFC 3339 with a
 * zone), when set and not empty: returns options to spread into
 * `sessionConfig`. Throws a ConfigError that does not repeat the value.
 */
export function notBeforeFromEnv(env = process.env) {
  const value = env[NOT_BEFORE_VAR];
  if (value === undefined || value.trim() === '') return {};
  const seconds = parseInstant(value);
  if (seconds === null) {
    throw invalid(
      NOT_BEFORE_VAR,
      'is neither Unix seconds nor an RFC 3339 date-time with a zone (e.g. 2026-11-30T08:00:00Z)',
    );
  }
  return { notBefore: seconds, notBeforeSetting: NOT_BEFORE_VAR };
}

// ---------------------------------------------------------------------------
// The session of one request (src/session.rs)

const num = (big) => (big == null ? null : Number(big));

/** Whether `at` may be sealed for a session living createdAt..expiresAt. */
const clampWithin = (at, createdAt, expiresAt) => {
  const t = Math.min(Math.max(at, createdAt), Math.max(expiresAt - 1, 0));
  return t === 0 ? null : t;
};

function validFlashes(value) {
  if (!Array.isArray(value)) return [];
  const ok = value.every(
    (f) => f && typeof f === 'object' && !Array.isArray(f) && LEVELS.has(f.level) && typeof f.message === 'string',
  );
  return ok ? value.map((f) => ({ level: f.level, message: f.message })) : [];
}

/**
 * The handle a request sees as `req.session`. Every method opens the
 * cookie first if that has not happened yet (a handler that never calls
 * one costs no decryption, and its response never sets a cookie).
 */
export class Session {
  #s;

  constructor(config, cookieHeader) {
    const incoming = readCookie(cookieHeader, config.cookie.name, config.readChunks);
    let pending = null;
    if (incoming.value !== null) {
      if (incoming.value.ok && Buffer.byteLength(incoming.value.value) > config.codec.maxValueLen) {
        pending = { reason: Reject.TOO_LARGE };
      } else {
        pending = incoming.value.ok ? { value: incoming.value.value } : { reason: incoming.value.reason };
      }
    }
    this.#s = {
      config,
      ring: config.keyring.current(),
      now: config.clock(),
      pending,
      data: new SessionData(),
      identity: { id: null, lifetime: Lifetime.configured(), authenticatedAt: null, checkedAt: null },
      brought: { cookie: incoming.value !== null || incoming.highestChunk > 0, opened: null },
      highestChunk: incoming.highestChunk,
      did: { touched: false, changed: false, destroyed: false, checked: false },
      responded: false,
      flashes: { previous: [], now: [] },
      reason: null,
    };
  }

  // -- state

  /** Opens the pending cookie, once. */
  #load() {
    const s = this.#s;
    if (s.pending === null) return;
    const pending = s.pending;
    s.pending = null;
    const opened = pending.reason
      ? { ok: false, reason: pending.reason }
      : s.config.codec.open(pending.value, s.now, s.ring);
    if (opened.ok) {
      const m = opened.meta;
      s.brought.opened = {
        createdAt: num(m.createdAt),
        expiresAt: num(m.expiresAt),
        keyIndex: opened.keyIndex,
        version: opened.version,
      };
      s.identity = {
        id: m.id,
        lifetime: m.lifetime,
        authenticatedAt: num(m.authenticatedAt),
        checkedAt: num(m.checkedAt),
      };
      s.data = opened.data;
      if (s.data.has(FLASH_KEY)) {
        let stored;
        try {
          stored = s.data.get(FLASH_KEY);
        } catch {
          stored = null;
        }
        s.flashes.previous = validFlashes(stored);
        s.data.remove(FLASH_KEY);
        s.did.changed = true;
      }
      return;
    }
    s.reason = opened.reason;
    if (opened.reason === Reject.REVOKED) {
      s.config.log.debug('session created before the not-before instant; the request has no session and the cookie is expired');
      this.#end();
      s.did.touched = true;
    } else if (opened.reason === Reject.DUPLICATE) {
      s.config.log.warn(
        `two session cookies of one name in one request (possible cookie tossing from a sibling domain); ` +
          `neither is used, the request has no session (cookie ${s.config.cookie.name})`,
      );
    } else {
      s.config.log.debug(`session cookie rejected (${opened.reason}); request has no session`);
    }
  }

  #loaded() {
    this.#s.did.touched = true;
    this.#load();
    return this.#s;
  }

  #loadedForChange(call) {
    const s = this.#loaded();
    if (s.responded) {
      s.config.log.warn(
        `session changed after its response was sent (${call}); the change is lost ` +
          '(a session lives for one request)',
      );
    }
    return s;
  }

  /** Ends the session the request brought (and any it started); keeps the flashes set now. */
  #end() {
    const s = this.#s;
    const outgoing = s.data.getRaw(FLASH_KEY);
    s.data.clear();
    if (outgoing !== undefined) s.data.insertRaw(FLASH_KEY, outgoing);
    s.flashes.previous = [];
    s.identity = { id: null, lifetime: Lifetime.configured(), authenticatedAt: null, checkedAt: null };
    s.did.changed = true;
    s.did.destroyed = true;
  }

  #reservedValue(key) {
    const s = this.#loaded();
    try {
      return s.data.get(key);
    } catch {
      return undefined;
    }
  }

  #updateReserved(call, key, fallback, change) {
    const s = this.#loadedForChange(call);
    let value;
    try {
      value = s.data.get(key);
    } catch {
      value = undefined;
    }
    if (key === FLASH_KEY) value = validFlashes(value);
    else if (typeof value !== typeof fallback) value = fallback;
    value = change(value);
    if (s.data.insert(key, value)) s.did.changed = true;
  }

  // -- values

  /** The value at `key` (parsed JSON), or undefined. The crate's own keys read as undefined. */
  get(key) {
    if (isReserved(key)) return undefined;
    const s = this.#loaded();
    try {
      return s.data.get(key);
    } catch {
      s.config.log.warn(`session value ${JSON.stringify(key)} cannot be parsed`);
      return undefined;
    }
  }

  /** Stores `value` (JSON) at `key`; an equal value is no change. Throws ValueError. */
  insert(key, value) {
    if (isReserved(key)) throw new ValueError('reserved', key);
    const s = this.#loadedForChange('insert');
    if (s.data.insert(key, value)) s.did.changed = true;
  }

  /** Removes the value at `key`; whether there was one. */
  remove(key) {
    if (isReserved(key)) return false;
    const s = this.#loadedForChange('remove');
    const removed = s.data.remove(key);
    if (removed) s.did.changed = true;
    return removed;
  }

  /** Removes and returns the value at `key`. */
  take(key) {
    if (isReserved(key)) return undefined;
    const s = this.#loadedForChange('take');
    let value;
    try {
      value = s.data.get(key);
    } catch {
      value = undefined;
    }
    if (s.data.remove(key)) s.did.changed = true;
    return value;
  }

  /** Removes every value; keeps the id, creation time, CSRF token and the flashes set for next time. */
  clear() {
    const s = this.#loadedForChange('clear');
    if (s.data.keys().some((k) => !isReserved(k))) {
      const kept = [CSRF_KEY, FLASH_KEY].map((k) => [k, s.data.getRaw(k)]).filter(([, v]) => v !== undefined);
      s.data.clear();
      for (const [k, v] of kept) s.data.insertRaw(k, v);
      s.did.changed = true;
    }
  }

  /** Ends the session: its cookie (every chunk) is expired, whatever the status. */
  destroy() {
    this.#loadedForChange('destroy');
    this.#end();
  }

  /** A new session with nothing of the old one (call at login). */
  regenerate() {
    this.destroy();
  }

  /** regenerate(), carrying over the values at `keys` (never the CSRF token). */
  regenerateKeeping(keys) {
    const s = this.#loadedForChange('regenerate_keeping');
    const kept = keys.filter((k) => !isReserved(k)).map((k) => [k, s.data.getRaw(k)]).filter(([, v]) => v !== undefined);
    this.#end();
    for (const [k, v] of kept) s.data.insertRaw(k, v);
  }

  /** The keys of the application's values, sorted. */
  keys() {
    return this.#loaded().data.keys().filter((k) => !isReserved(k));
  }

  /** Whether the session holds no value of the application's. */
  isEmpty() {
    return this.#loaded().data.keys().every(isReserved);
  }

  // -- identity and lifetime

  /** The session's id (32 hex digits), or null until there is a session. */
  id() {
    const s = this.#loaded();
    if (s.identity.id === null && !s.data.isEmpty()) s.identity.id = generateSessionId();
    return s.identity.id;
  }

  /** This session's own lifetime (Lifetime.rememberFor(…), Lifetime.browserSession(…), Lifetime.of(…)). */
  setLifetime(lifetime) {
    const s = this.#loadedForChange('set_lifetime');
    const wanted = Lifetime.of(lifetime);
    const granted = resolveLifetime(s.config.codec.limits, wanted);
    const cut = (asked, got) => asked != null && got != null && got < asked;
    if (cut(wanted.idle, granted.idle) || cut(wanted.absolute, granted.absolute)) {
      s.config.log.warn(
        `session lifetime above the configured maximum; cut to it (asked idle ${wanted.idle}, granted ${granted.idle}; ` +
          `asked absolute ${wanted.absolute}, granted ${granted.absolute})`,
      );
    }
    if (!Lifetime.equal(s.identity.lifetime, wanted)) {
      s.identity.lifetime = wanted;
      s.did.changed = true;
    }
  }

  /** The lifetime this session chose (all null: the configured one). */
  lifetime() {
    return this.#loaded().identity.lifetime;
  }

  /** Records that the user authenticated now (at login, after regenerate()). */
  markAuthenticated() {
    const s = this.#loadedForChange('mark_authenticated');
    s.identity.authenticatedAt = s.now;
    s.did.changed = true;
  }

  /** Unix seconds of the last login in this session, or null. */
  authenticatedAt() {
    return this.#loaded().identity.authenticatedAt;
  }

  /** Whether the user logged in within the last `seconds`. */
  authenticatedWithin(seconds) {
    const s = this.#loaded();
    return s.identity.authenticatedAt !== null && Math.max(s.now - s.identity.authenticatedAt, 0) <= seconds;
  }

  #opened() {
    const s = this.#loaded();
    return s.did.destroyed ? null : s.brought.opened;
  }

  /** Whether the request's cookie opened (and the session was not destroyed since). */
  hadValidCookie() {
    return this.#opened() !== null;
  }

  /** Unix seconds of the session's creation; null for one this request starts. */
  createdAt() {
    return this.#opened()?.createdAt ?? null;
  }

  /** Unix seconds when the cookie, as the request carried it, expires; null for a new session. */
  expiresAt() {
    return this.#opened()?.expiresAt ?? null;
  }

  /** Why the request's cookie did not open (for logs), or null. */
  rejectReason() {
    return this.#loaded().reason;
  }

  // -- CSRF and flash

  /** A masked CSRF token for a form (creates the session's secret on first use). */
  csrfToken() {
    const stored = csrf.decodeSecret(this.#reservedValue(CSRF_KEY));
    if (stored) return csrf.mask(stored);
    const secret = csrf.newSecret();
    this.#updateReserved('csrf_token', CSRF_KEY, '', () => secret);
    return csrf.mask(csrf.decodeSecret(secret));
  }

  /** Whether `submitted` is a token of this session. */
  verifyCsrfToken(submitted) {
    const secret = csrf.decodeSecret(this.#reservedValue(CSRF_KEY));
    return secret !== null && csrf.matches(secret, submitted);
  }

  /** Whether the session holds a CSRF secret. */
  hasCsrfSecret() {
    return typeof this.#reservedValue(CSRF_KEY) === 'string';
  }

  /** A message for the next request that uses the session. */
  flash(level, message) {
    if (!LEVELS.has(level)) throw new TypeError(`flash level must be one of ${[...LEVELS].join(', ')}`);
    this.#updateReserved('flash', FLASH_KEY, [], (stored) => [...stored, { level, message: String(message) }]);
  }

  /** A message for this response only. */
  flashNow(level, message) {
    if (!LEVELS.has(level)) throw new TypeError(`flash level must be one of ${[...LEVELS].join(', ')}`);
    this.#loaded().flashes.now.push({ level, message: String(message) });
  }

  /** The messages to show now: the previous request's, then flashNow's. */
  flashes() {
    const f = this.#loaded().flashes;
    return [...f.previous, ...f.now].map((x) => ({ ...x }));
  }

  // -- size

  #cookieSize() {
    const s = this.#loaded();
    return cookieSize(s.config, s.config.codec.sealedLen(s.data));
  }

  /** Total name=value bytes of the cookies if sealed now (throws SealError over the body limit). */
  encodedLen() {
    return this.#cookieSize().bytes;
  }

  /** Whether the session, sealed now, would be written. */
  fits() {
    try {
      return this.#cookieSize().fits;
    } catch {
      return false;
    }
  }

  // -- the middleware's side

  /** Runs the revocation check when one is configured and due (before the handler). */
  async _revalidate() {
    const s = this.#s;
    const rv = s.config.revalidate;
    if (!rv) return;
    this.#load();
    const opened = s.brought.opened;
    if (!opened || s.identity.id === null) return;
    const checkedAt = s.identity.checkedAt;
    if (checkedAt !== null && s.now < checkedAt + rv.every) return;
    const snapshot = Object.freeze({
      id: s.identity.id,
      createdAt: opened.createdAt,
      authenticatedAt: s.identity.authenticatedAt,
      data: s.data.clone(),
      get(key) {
        try {
          return this.data.get(key);
        } catch {
          return undefined;
        }
      },
    });
    let outcome;
    try {
      const verdict = await rv.check(snapshot);
      outcome = verdict === 'revoked' || verdict === false ? 'revoked' : 'valid';
    } catch (err) {
      outcome = { error: err };
    }
    s.did.touched = true;
    if (outcome === 'valid') {
      s.identity.checkedAt = s.now;
      s.did.checked = true;
    } else if (outcome === 'revoked') {
      s.config.log.info(`session revoked by the revocation check; the request is anonymous and the cookie is expired (session ${s.identity.id})`);
      this.#end();
    } else {
      const forgivenUntil = checkedAt === null ? null : checkedAt + rv.every + rv.grace;
      if (forgivenUntil !== null && s.now < forgivenUntil) {
        s.config.log.warn(`revocation check failed; the session is served within the grace and checked again on the next request: ${outcome.error}`);
      } else {
        s.config.log.error(`revocation check failed past the grace; the request is anonymous (the cookie is kept): ${outcome.error}`);
        s.brought.opened = null;
        s.data = new SessionData();
        s.identity = { id: null, lifetime: Lifetime.configured(), authenticatedAt: null, checkedAt: null };
      }
    }
  }

  /** Decides what the response carries (once, when its headers leave). */
  _finish(status) {
    const s = this.#s;
    s.responded = true;
    const config = s.config;
    const lifetime = s.identity.lifetime;
    const resolved = resolveLifetime(config.codec.limits, lifetime);
    const lifetimes = {
      idle: resolved.idle ?? Number.MAX_SAFE_INTEGER,
      absolute: resolved.absolute,
      renewFraction: config.renewFraction,
      ephemeral: !(lifetime.persistent ?? !config.ephemeral),
    };
    const did = { ...s.did, empty: s.data.isEmpty() };
    const plan = planResponse(s.brought, did, status, lifetimes, s.now);
    let sealed = null;
    if (plan.kind === 'seal') {
      try {
        if (s.identity.id === null) s.identity.id = generateSessionId();
        const isNew = s.brought.opened === null || s.did.destroyed;
        const checkedAt = isNew ? plan.createdAt : s.identity.checkedAt;
        const within = (at) => (at == null ? null : clampWithin(at, plan.createdAt, plan.expiresAt));
        const meta = {
          id: s.identity.id,
          createdAt: plan.createdAt,
          expiresAt: plan.expiresAt,
          lifetime,
          authenticatedAt: within(s.identity.authenticatedAt),
          checkedAt: within(checkedAt),
        };
        const value = config.codec.seal(s.data, meta, s.ring);
        sealed = { value, size: cookieSize(config, value.length) };
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        sealed = { error: err };
      }
    }
    return {
      plan,
      sealed,
      touched: did.touched,
      revealed: did.touched && s.brought.opened !== null && !did.destroyed,
      highestChunk: s.highestChunk,
      id: s.identity.id,
      bodyLen: sealed && (sealed.error || !sealed.size.fits) ? Buffer.byteLength(s.data.toJson()) : 0,
    };
  }
}

function cookieSize(config, valueLen) {
  const nameLen = Buffer.byteLength(config.cookie.name);
  const chunks = chunkCount(nameLen, valueLen);
  const bytes = totalPairBytes(nameLen, valueLen);
  return { chunks, bytes, fits: chunks <= config.maxChunks && bytes <= config.maxCookieBytes };
}

// ---------------------------------------------------------------------------
// Applying the plan (src/future.rs)

function render(cookie, name, value, maxAge) {
  return `${name}=${value}${maxAge == null ? '' : `; Max-Age=${maxAge}`}${cookie.attributes}`;
}

function expireCookies(cookie, from, through) {
  const out = [];
  for (let i = from; i <= through; i++) out.push(render(cookie, i === 0 ? cookie.name : `${cookie.name}.${i}`, '', 0));
  return out;
}

/** 'nothing' | 'set_cookie' | 'refused', with the Set-Cookie values to add. */
export function applyPlan(config, finished) {
  const { plan, sealed } = finished;
  const log = config.log;
  if (plan.kind === 'nothing') return { written: 'nothing', cookies: [] };
  if (plan.kind === 'expire') return { written: 'set_cookie', cookies: expireCookies(config.cookie, 0, finished.highestChunk) };
  const hard = answers500WhenUnsealable(plan.why);
  if (sealed.error) {
    if (hard) {
      log.error(`session not saved; answering 500: ${sealed.error.message} (session ${finished.id})`);
      return { written: 'refused', cookies: [] };
    }
    log.warn(`session not renewed or re-sealed (${plan.why}); the browser keeps its cookie until it expires: ${sealed.error.message}`);
    return { written: 'nothing', cookies: [] };
  }
  if (!sealed.size.fits) {
    const detail =
      `cookie_bytes=${sealed.size.bytes} max_cookie_bytes=${config.maxCookieBytes} chunks=${sealed.size.chunks} ` +
      `max_chunks=${config.maxChunks} body_bytes=${finished.bodyLen}`;
    if (hard) {
      log.error(`session not saved: too large for its cookies; answering 500 (${detail})`);
      return { written: 'refused', cookies: [] };
    }
    log.warn(`session not renewed or re-sealed (${plan.why}): too large for its cookies; the browser keeps its cookie (${detail})`);
    return { written: 'nothing', cookies: [] };
  }
  const pieces = split(config.cookie.name, sealed.value);
  const cookies = pieces.map(([n, v]) => render(config.cookie, n, v, plan.maxAge));
  if (pieces.length <= finished.highestChunk) cookies.push(...expireCookies(config.cookie, pieces.length, finished.highestChunk));
  return { written: 'set_cookie', cookies };
}

function appendSetCookie(res, values) {
  if (values.length === 0) return;
  const existing = res.getHeader('set-cookie');
  const list = existing == null ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('Set-Cookie', [...list, ...values]);
}

/**
 * Runs `listener(res)` once, just before the response's headers leave:
 * at writeHead, or at the first write/end (whichever comes first). While
 * `res.locals`-free, it works for plain node:http too. If the listener
 * returns 'drop-body', what the handler writes afterwards is discarded.
 */
export function beforeHeaders(res, listener) {
  const { writeHead, write, end } = res;
  let fired = false;
  let dropBody = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    dropBody = listener(res) === 'drop-body';
  };
  res.writeHead = function (statusCode, reason, headers) {
    if (fired || this.headersSent) return writeHead.apply(this, arguments);
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    if (typeof statusCode === 'number') this.statusCode = statusCode;
    if (headers) {
      const entries = Array.isArray(headers)
        ? Array.isArray(headers[0])
          ? headers
          : headers.reduce((acc, v, i) => (i % 2 ? acc : [...acc, [v, headers[i + 1]]]), [])
        : Object.entries(headers);
      for (const [k, v] of entries) this.setHeader(k, v);
    }
    fire();
    return dropBody ? writeHead.call(this, this.statusCode) : writeHead.call(this, this.statusCode, reason);
  };
  res.write = function (chunk, encoding, cb) {
    if (!this.headersSent) fire();
    if (dropBody) {
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    }
    return write.apply(this, arguments);
  };
  res.end = function (chunk, encoding, cb) {
    if (!this.headersSent) fire();
    if (dropBody) {
      const done = typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : cb;
      return end.call(this, typeof done === 'function' ? done : undefined);
    }
    return end.apply(this, arguments);
  };
}

/**
 * The session middleware: `req.session` on every request, `Set-Cookie`
 * when the Rust layer would set one. `options` as `sessionConfig`.
 */
export function sessions(options) {
  const config = sessionConfig(options);
  return function clientSession(req, res, next) {
    const session = new Session(config, req.headers.cookie);
    Object.defineProperty(req, 'session', { get: () => session, configurable: true, enumerable: true });
    beforeHeaders(res, () => {
      const finished = session._finish(res.statusCode);
      const applied = applyPlan(config, finished);
      let drop;
      if (applied.written === 'refused') {
        // The handler's response promised a saved session: answer an empty 500.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.statusCode = 500;
        res.setHeader('Content-Length', '0');
        drop = 'drop-body';
      } else {
        appendSetCookie(res, applied.cookies);
      }
      if (config.cacheHeaders) {
        const removed = protect(res, {
          private: applied.written === 'set_cookie' || finished.revealed,
          variesOnCookie: finished.touched,
        });
        if (removed) {
          config.log.warn(
            `Cache-Control of a response that carries or shows a session made private; a shared cache would serve it to other users (removed: ${removed})`,
          );
        }
      }
      return drop;
    });
    if (!config.revalidate) return next();
    session._revalidate().then(() => next(), next);
  };
}

// ---------------------------------------------------------------------------
// CSRF (src/csrf): the check as middleware, and per handler

function readBody(req, max) {
  if (req.rawBody !== undefined) {
    return Promise.resolve(req.rawBody.length > max ? { tooLarge: true } : { bytes: req.rawBody });
  }
  if (req._body || req.readableEnded) {
    // A body parser read it first: its fields, as a urlencoded form.
    const pairs = Object.entries(req.body ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
    );
    return Promise.resolve({ bytes: Buffer.from(new URLSearchParams(pairs).toString()) });
  }
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (c) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) resolve({ tooLarge: true });
      else {
        req.rawBody = Buffer.concat(chunks);
        resolve({ bytes: req.rawBody });
      }
    });
    req.on('error', () => resolve({ unreadable: true }));
  });
}

function csrfOptions(o = {}) {
  return {
    headerName: (o.headerName ?? csrf.DEFAULT_HEADER).toLowerCase(),
    formField: o.formField ?? csrf.DEFAULT_FIELD,
    trustOrigins: o.trustOrigins ?? [],
    allowSameOriginWithoutToken: Boolean(o.allowSameOriginWithoutToken),
    maxFormBytes: o.maxFormBytes ?? csrf.DEFAULT_MAX_FORM_BYTES,
  };
}

function checkToken(session, token) {
  if (token == null) return 'missing_token';
  if (session.verifyCsrfToken(token)) return null;
  return session.hasCsrfSecret() ? 'wrong_token' : 'no_session_token';
}

/** Why a request was refused, as a response: {status, message, refusal?}. */
function rejection(kind, refusal) {
  switch (kind) {
    case 'refused':
      return {
        status: refusal === 'unreadable_body' ? 400 : 403,
        message: `request refused: ${csrf.Refusal[refusal]}`,
        refusal,
        fromAnotherOrigin: refusal === 'cross_site' || refusal === 'foreign_origin',
      };
    case 'not_a_form':
      return { status: 415, message: 'expected an application/x-www-form-urlencoded body', fromAnotherOrigin: false };
    case 'invalid_form':
      return { status: 422, message: "the form's fields are not the expected ones", fromAnotherOrigin: false };
    default:
      return { status: 500, message: 'no SessionLayer wraps this route', fromAnotherOrigin: false };
  }
}

/** Sends a CSRF rejection (text/plain), logging a refusal. */
export function sendRejection(req, res, r, log = DEFAULT_LOG) {
  if (r.refusal) {
    log.warn(`request refused by the CSRF check (${r.status}): ${csrf.Refusal[r.refusal]} (${req.method} ${(req.originalUrl ?? req.url).split('?')[0]}, reason ${r.refusal})`);
  }
  res.statusCode = r.status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(r.message);
}

function parseUrlEncoded(bytes, fields) {
  const form = {};
  const seen = new Set();
  for (const [k, v] of new URLSearchParams(bytes.toString('utf8'))) {
    if (fields.includes(k)) {
      if (seen.has(k)) return null;
      seen.add(k);
      form[k] = v;
    } else if (!Object.hasOwn(form, k)) {
      Object.defineProperty(form, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return form;
}

/**
 * The Rust CsrfForm extractor for one handler: reads the urlencoded form
 * and runs the CSRF check, in the crate's order (origin, token, then the
 * form's type and fields). `{ok: true, form}` or `{ok: false, status,
 * message, refusal, fromAnotherOrigin}` — the handler decides what comes
 * first (401 to an anonymous request before looking at the token, say).
 * `fields`: the form's known fields (a repeated one is 422, as serde does).
 */
export async function csrfForm(req, options = {}) {
  const o = csrfOptions(options);
  const fields = options.fields ?? [];
  const fail = (kind, refusal) => ({ ok: false, ...rejection(kind, refusal) });
  const session = req.session;
  if (!(session instanceof Session)) return fail('missing_layer');
  const origin = csrf.checkOrigin(req.method, req.headers, o);
  if (origin.refusal) return fail('refused', origin.refusal);
  const headerToken = req.headers[o.headerName];
  const kind = csrf.formKind(req.headers['content-type']);
  const body = await readBody(req, o.maxFormBytes);
  if (body.tooLarge) return fail('refused', 'form_too_large');
  if (body.unreadable) return fail('refused', 'unreadable_body');
  if (!origin.pass) {
    const token = headerToken ?? (kind ? csrf.findField(kind, body.bytes, o.formField) : null);
    const refusal = checkToken(session, token);
    if (refusal) return fail('refused', refusal);
  }
  if (kind !== 'urlencoded') return fail('not_a_form');
  const form = parseUrlEncoded(body.bytes, fields);
  return form === null ? fail('invalid_form') : { ok: true, form };
}

/**
 * The Rust CsrfLayer: refuses unsafe requests failing the check with 403
 * before the next handler. Reads a form body itself (kept as req.rawBody;
 * a urlencoded one is also parsed into req.body).
 */
export function csrfProtection(options = {}) {
  const o = csrfOptions(options);
  const log = { ...DEFAULT_LOG, ...(options.log ?? {}) };
  return function clientSessionCsrf(req, res, next) {
    const session = req.session;
    if (!(session instanceof Session)) return sendRejection(req, res, rejection('missing_layer'), log);
    const origin = csrf.checkOrigin(req.method, req.headers, o);
    if (origin.refusal) return sendRejection(req, res, rejection('refused', origin.refusal), log);
    if (origin.pass) return next();
    const headerToken = req.headers[o.headerName];
    if (headerToken !== undefined) {
      const refusal = checkToken(session, headerToken);
      return refusal ? sendRejection(req, res, rejection('refused', refusal), log) : next();
    }
    const kind = csrf.formKind(req.headers['content-type']);
    if (!kind) return sendRejection(req, res, rejection('refused', 'missing_token'), log);
    readBody(req, o.maxFormBytes).then((body) => {
      if (body.tooLarge) return sendRejection(req, res, rejection('refused', 'form_too_large'), log);
      if (body.unreadable) return sendRejection(req, res, rejection('refused', 'unreadable_body'), log);
      const refusal = checkToken(session, csrf.findField(kind, body.bytes, o.formField));
      if (refusal) return sendRejection(req, res, rejection('refused', refusal), log);
      if (kind === 'urlencoded' && req.body === undefined) {
        req.body = parseUrlEncoded(body.bytes, []);
        req._body = true; // body-parser: already read
      }
      return next();
    }, next);
  };
}

