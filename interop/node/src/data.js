// The session body: a JSON object whose values stay raw JSON text until
// read (src/data.rs). Opening checks that the body is exactly one RFC 8259
// object; each value is kept as written — a number beyond f64 (`1e400`) or
// a lone surrogate escape in a string (`"\ud800"`) survives a re-seal
// untouched — and parsed only when a handler asks for it. Of duplicate keys
// the last wins; keys are written back sorted by code point (UTF-8 byte
// order, as Rust sorts `str`).

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Scans the JSON text `s` from `i`: the index after one value, or -1. Iterative: no depth limit. */
function scanValue(s, i) {
  const stack = []; // '{' or '['
  for (;;) {
    i = skipWs(s, i);
    // A value.
    const c = s.charCodeAt(i);
    if (c === 0x7b /* { */) {
      i = skipWs(s, i + 1);
      if (s.charCodeAt(i) === 0x7d) {
        i += 1;
      } else {
        stack.push('{');
        i = scanString(s, i);
        if (i < 0) return -1;
        i = skipWs(s, i);
        if (s.charCodeAt(i) !== 0x3a) return -1;
        i += 1;
        continue;
      }
    } else if (c === 0x5b /* [ */) {
      i = skipWs(s, i + 1);
      if (s.charCodeAt(i) === 0x5d) {
        i += 1;
      } else {
        stack.push('[');
        continue;
      }
    } else if (c === 0x22) {
      i = scanString(s, i);
    } else if (c === 0x74) {
      i = s.startsWith('true', i) ? i + 4 : -1;
    } else if (c === 0x66) {
      i = s.startsWith('false', i) ? i + 5 : -1;
    } else if (c === 0x6e) {
      i = s.startsWith('null', i) ? i + 4 : -1;
    } else {
      i = scanNumber(s, i);
    }
    if (i < 0) return -1;
    // After a value: close containers or go on to the next member.
    for (;;) {
      if (stack.length === 0) return i;
      i = skipWs(s, i);
      const d = s.charCodeAt(i);
      const top = stack[stack.length - 1];
      if (d === 0x2c /* , */) {
        i += 1;
        if (top === '{') {
          i = skipWs(s, i);
          i = scanString(s, i);
          if (i < 0) return -1;
          i = skipWs(s, i);
          if (s.charCodeAt(i) !== 0x3a) return -1;
          i += 1;
        }
        break;
      }
      if ((top === '{' && d === 0x7d) || (top === '[' && d === 0x5d)) {
        stack.pop();
        i += 1;
        continue;
      }
      return -1;
    }
  }
}

function skipWs(s, i) {
  while (i < s.length && WS.has(s.charCodeAt(i))) i += 1;
  return i;
}

const HEX = /^[0-9a-fA-F]{4}$/;

/** A string at `i` (which must be `"`): the index after it, or -1. */
function scanString(s, i) {
  if (s.charCodeAt(i) !== 0x22) return -1;
  i += 1;
  for (;;) {
    if (i >= s.length) return -1;
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = s[i + 1];
      if (e === 'u') {
        if (!HEX.test(s.slice(i + 2, i + 6))) return -1;
        i += 6;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
        i += 2;
      } else {
        return -1;
      }
      continue;
    }
    i += 1;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function scanNumber(s, i) {
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(s);
  return m && m[0].length > 0 && m[0] !== '-' ? i + m[0].length : -1;
}

/** Compare two strings by code point (= UTF-8 byte order). */
export function compareKeys(a, b) {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Thrown when a value cannot be stored (it has no JSON form). */
export class ValueError extends Error {
  constructor(kind, key) {
    super(
      kind === 'reserved'
        ? `session key ${JSON.stringify(key)} is reserved for the crate (CSRF token, flash messages)`
        : `session value ${JSON.stringify(key)}: the value cannot be serialized to JSON`,
    );
    this.name = 'ValueError';
    this.kind = kind;
    this.key = key;
  }
}

/** A JSON object, values as raw text. */
export class SessionData {
  /** @type {Map<string, string>} key -> raw JSON text */
  #entries = new Map();

  /**
   * Parses a body (Buffer or string): `null` unless it is UTF-8 (no BOM)
   * holding exactly one JSON object, whitespace around it allowed.
   */
  static fromJson(body) {
    let s;
    if (typeof body === 'string') {
      s = body;
    } else {
      try {
        s = UTF8.decode(body);
      } catch {
        return null;
      }
    }
    let i = skipWs(s, 0);
    if (s.charCodeAt(i) !== 0x7b) return null;
    const data = new SessionData();
    i = skipWs(s, i + 1);
    if (s.charCodeAt(i) === 0x7d) {
      i += 1;
    } else {
      for (;;) {
        const keyStart = i;
        i = scanString(s, i);
        if (i < 0) return null;
        const key = JSON.parse(s.slice(keyStart, i));
        // A key is read as a string: a lone surrogate escape is refused there
        // (serde_json validates keys, not raw values).
        if (!key.isWellFormed()) return null;
        i = skipWs(s, i);
        if (s.charCodeAt(i) !== 0x3a) return null;
        i = skipWs(s, i + 1);
        const valueStart = i;
        i = scanValue(s, i);
        if (i < 0) return null;
        data.#entries.delete(key); // the last of duplicates wins
        data.#entries.set(key, s.slice(valueStart, i));
        i = skipWs(s, i);
        const c = s.charCodeAt(i);
        if (c === 0x2c) {
          i = skipWs(s, i + 1);
          continue;
        }
        if (c === 0x7d) {
          i += 1;
          break;
        }
        return null;
      }
    }
    return skipWs(s, i) === s.length ? data : null;
  }

  /** The value at `key`, parsed; `undefined` when there is none. */
  get(key) {
    const raw = this.#entries.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  /** The raw JSON text at `key`. */
  getRaw(key) {
    return this.#entries.get(key);
  }

  has(key) {
    return this.#entries.has(key);
  }

  /**
   * Stores `value` (anything JSON.stringify accepts) at `key`. Returns
   * whether the session changed: an equal value is no change.
   */
  insert(key, value) {
    let raw;
    try {
      raw = JSON.stringify(value);
    } catch {
      raw = undefined;
    }
    if (raw === undefined) throw new ValueError('serialize', key);
    return this.insertRaw(key, raw);
  }

  /** Stores raw JSON text (already valid) at `key`; whether it changed. */
  insertRaw(key, raw) {
    const old = this.#entries.get(key);
    if (old !== undefined && sameJson(old, raw)) return false;
    this.#entries.set(key, raw);
    return true;
  }

  remove(key) {
    return this.#entries.delete(key);
  }

  clear() {
    const had = this.#entries.size > 0;
    this.#entries.clear();
    return had;
  }

  /** The keys, sorted. */
  keys() {
    return [...this.#entries.keys()].sort(compareKeys);
  }

  get size() {
    return this.#entries.size;
  }

  isEmpty() {
    return this.#entries.size === 0;
  }

  /** The object as compact JSON, keys sorted, values as they are stored. */
  toJson() {
    return `{${this.keys()
      .map((k) => `${JSON.stringify(k)}:${this.#entries.get(k)}`)
      .join(',')}}`;
  }

  /** Every value parsed, as a plain object. */
  toObject() {
    const out = {};
    for (const k of this.keys()) {
      Object.defineProperty(out, k, {
        value: JSON.parse(this.#entries.get(k)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  clone() {
    const copy = new SessionData();
    for (const [k, v] of this.#entries) copy.#entries.set(k, v);
    return copy;
  }

  static fromObject(object) {
    const data = new SessionData();
    for (const [k, v] of Object.entries(object)) data.insert(k, v);
    return data;
  }
}

/** Two JSON texts denote the same value (objects compared without order). */
function sameJson(a, b) {
  if (a === b) return true;
  try {
    return deepEqual(JSON.parse(a), JSON.parse(b));
  } catch {
    return false;
  }
}

function deepEqual(x, y) {
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x)) return x.length === y.length && x.every((v, i) => deepEqual(v, y[i]));
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]));
}
