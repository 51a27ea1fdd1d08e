// Keys and the key ring, loaded from SESSION_KEYS or SESSION_KEYS_FILE with
// the rules and messages of the Rust crate (src/keys/{key,keyring,source,
// plausibility,live}.rs): every refusal names the variable (or file) and the
// entry's position, never any part of the entry.
//
// A Key keeps only what the format derives from the secret at start-up:
// the HKDF pseudo-random key and the public 4-byte key id.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { decodeLenient, encodeStandard } from './b64.js';

export const MIN_KEY_LEN = 32;
export const MAX_KEY_LEN = 64;
export const KEYS_VAR = 'SESSION_KEYS';
export const KEYS_FILE_VAR = 'SESSION_KEYS_FILE';
/** How often a key file is read again for changes (seconds). */
export const KEY_RELOAD_INTERVAL = 2;

const EXTRACT_SALT = Buffer.from('client-session/v1');
const KEY_ID_INFO = Buffer.from('client-session/v1 key-id');

// ---------------------------------------------------------------------------
// Errors

/** What is wrong with one key entry (never its content). */
export const KeyProblem = Object.freeze({
  empty: () => ({ kind: 'empty', text: 'the entry is empty' }),
  notBase64: () => ({ kind: 'not_base64', text: 'the entry is not base64' }),
  tooShort: (len) => ({
    kind: 'too_short',
    len,
    text:
      `the key is ${len} bytes long; a key must be 32 to 64 bytes of random data ` +
      '(generate one with `cargo run --example keygen`)',
  }),
  tooLong: (len) => ({
    kind: 'too_long',
    len,
    text: `the key is ${len} bytes long; a key must be 32 to 64 bytes`,
  }),
  notRandom: () => ({
    kind: 'not_random',
    text:
      'the key does not look random (text, a passphrase, a repeated or sequential ' +
      'pattern, or an example key); a key must be 32 to 64 bytes from a CSPRNG ' +
      '(generate one with `cargo run --example keygen`)',
  }),
});

/** Rust's `{:?}` of a string: double quotes, escapes. */
function debugString(text) {
  let out = '"';
  for (const c of text) {
    const code = c.codePointAt(0);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\0') out += '\\0';
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += c;
  }
  return out + '"';
}

/**
 * Why the key ring (or another setting) could not be configured: read by an
 * operator at start-up. The message is the Rust crate's, word for word.
 */
export class ConfigError extends Error {
  constructor(kind, fields) {
    super(ConfigError.render(kind, fields));
    this.name = 'ConfigError';
    this.kind = kind;
    Object.assign(this, fields);
  }

  static render(kind, f) {
    switch (kind) {
      case 'keys_not_set':
        return (
          `no session keys: set ${f.keysVar} (comma-separated base64 keys, primary first) ` +
          `or ${f.fileVar} (a file with one key per line)`
        );
      case 'keys_set_twice':
        return `both ${f.keysVar} and ${f.fileVar} are set; set only one of them`;
      case 'no_keys':
        return `${f.source} holds no key`;
      case 'not_unicode':
        return `${f.var} is not valid Unicode`;
      case 'key_file_unreadable':
        return f.path != null
          ? `cannot read the key file ${debugString(f.path)} named by ${f.var}: ${f.reason}`
          : `cannot read the key file named by ${f.var}: ${f.reason}; the value is not shown, ` +
              'since it is not a path into an existing directory and may be a secret ' +
              `(${f.var} takes the path of a file with one key per line)`;
      case 'path_instead_of_key':
        return (
          `${f.source}: key #${f.position} looks like a file path, not a key (not shown); ` +
          `to read keys from a file, set ${f.fileVar} to its path`
        );
      case 'key_instead_of_path':
        return (
          `${f.var} must name a file, but it holds something that looks like a key ` +
          `(not shown); did you mean ${f.keysVar}?`
        );
      case 'invalid_key':
        return `${f.source}: key #${f.position}: ${f.problem.text}`;
      case 'duplicate_key':
        return `${f.source}: key #${f.second} is the same key as key #${f.first} (same key id)`;
      case 'invalid_setting':
        return `${f.setting}: ${f.problem}`;
      default:
        return kind;
    }
  }
}

// ---------------------------------------------------------------------------
// Key and Keyring

function hmac(key, ...parts) {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** A secret key of 32 to 64 random bytes; exposes only its public id. */
export class Key {
  #prk;

  constructor(prk, id) {
    this.#prk = prk;
    /** The public 4-byte key id (Buffer). */
    this.id = id;
    Object.freeze(this);
  }

  /**
   * A key from raw secret bytes. Throws `{problem}` (a KeyProblem) when the
   * length is outside 32..64.
   */
  static fromBytes(secret) {
    const bytes = Buffer.from(secret);
    const problem =
      bytes.length === 0
        ? KeyProblem.empty()
        : bytes.length < MIN_KEY_LEN
          ? KeyProblem.tooShort(bytes.length)
          : bytes.length > MAX_KEY_LEN
            ? KeyProblem.tooLong(bytes.length)
            : null;
    if (problem) {
      const err = new Error(problem.text);
      err.problem = problem;
      throw err;
    }
    const prk = hmac(EXTRACT_SALT, bytes);
    bytes.fill(0);
    const id = hmac(prk, KEY_ID_INFO, Buffer.from([1])).subarray(0, 4);
    return new Key(prk, Buffer.from(id));
  }

  /** A new random 32-byte key. */
  static generate() {
    return Key.fromBytes(randomBytes(32));
  }

  /** The key id as 8 lowercase hex digits (the form for logs). */
  get idHex() {
    return this.id.toString('hex');
  }

  /** HKDF-Expand(PRK, label || kdfNonce, 32): the per-cookie AES key. */
  messageKey(label, kdfNonce) {
    return hmac(this.#prk, label, kdfNonce, Buffer.from([1]));
  }

  /** Constant-time equality of the secrets. */
  equals(other) {
    return other instanceof Key && timingSafeEqual(this.#prk, other.#prk);
  }

  toString() {
    return `Key { id: KeyId(${this.idHex}), .. }`;
  }

  toJSON() {
    return { id: this.idHex };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

/** A fresh random 32-byte key, standard base64: the form SESSION_KEYS takes. */
export function generateKeyBase64() {
  return encodeStandard(randomBytes(32));
}

/** An ordered, non-empty list of keys; the first (primary) seals, all open. */
export class Keyring {
  constructor(keys, source = 'the key ring') {
    const list = [...keys];
    if (list.length === 0) throw new ConfigError('no_keys', { source });
    for (let second = 0; second < list.length; second++) {
      const first = list.slice(0, second).findIndex((k) => k.id.equals(list[second].id));
      if (first >= 0) {
        throw new ConfigError('duplicate_key', { source, first: first + 1, second: second + 1 });
      }
    }
    this.keys = Object.freeze(list);
    Object.freeze(this);
  }

  static single(key) {
    return new Keyring([key]);
  }

  get primary() {
    return this.keys[0];
  }

  /** `[index, key]` of the key with this id, or null. */
  find(id) {
    const index = this.keys.findIndex((k) => k.id.equals(id));
    return index < 0 ? null : [index, this.keys[index]];
  }

  /** The ring in force (a Keyring is its own). */
  current() {
    return this;
  }

  toString() {
    return `Keyring { ids: [${this.keys.map((k) => `KeyId(${k.idHex})`).join(', ')}] }`;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

// ---------------------------------------------------------------------------
// Plausibility (src/keys/plausibility.rs)

const SECRET_DIRECTORIES = [
  'etc', 'run', 'var', 'secrets', 'secret', 'keys', 'config', 'srv', 'opt', 'home', 'mnt',
  'data', 'vault', 'private', 'certs',
];
const PASSPHRASE_WORDS = [
  'password', 'passphrase', 'changeme', 'production', 'development', 'sessionkey', 'secretkey',
];

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function isAMountPath(text) {
  if (!text.startsWith('/')) return false;
  const known = text
    .slice(1)
    .split('/')
    .filter((segment) => SECRET_DIRECTORIES.some((d) => asciiLower(segment) === d)).length;
  return known >= 2;
}

/** A leading `/`, `./`, `../` or `~/` and a second `/`, or a file-name extension. */
export function looksLikeAPath(text) {
  const start = ['/', './', '../', '~/'].find((s) => text.startsWith(s));
  if (start !== undefined && text.slice(start.length).includes('/')) return true;
  const dot = text.lastIndexOf('.');
  if (dot < 0) return false;
  const stem = text.slice(0, dot);
  const ext = Buffer.from(text.slice(dot + 1));
  return stem.length > 0 && ext.length >= 1 && ext.length <= 4 && /^[A-Za-z0-9]+$/.test(ext.toString());
}

/** 'path' | 'not_random' | null for an entry's text. */
function checkText(text) {
  const mixedCase = /[A-Z]/.test(text) && /[a-z]/.test(text);
  const symbols = text.replace(/=+$/, '');
  const bytes = Buffer.from(symbols);
  const seen = new Set();
  for (const b of bytes) if (b < 128) seen.add(b);
  const expected = 64 * (1 - Math.pow(63 / 64, bytes.length));
  if (isAMountPath(text)) return 'path';
  const lower = asciiLower(text);
  const passphrase = PASSPHRASE_WORDS.some((w) => lower.includes(w));
  if (mixedCase && seen.size >= expected / 2 && !passphrase) return null;
  return looksLikeAPath(text) ? 'path' : 'not_random';
}

function distinct(bytes) {
  return new Set(bytes).size;
}

function checkBytes(bytes) {
  const printable = [...bytes].every(
    (b) => (b >= 0x21 && b <= 0x7e) || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d,
  );
  const half = Math.ceil(bytes.length / 2);
  const differences = [];
  for (let i = 1; i < bytes.length; i++) differences.push((bytes[i] - bytes[i - 1]) & 0xff);
  if (printable || distinct(bytes) < half || distinct(differences) < Math.ceil(differences.length / 2)) {
    return 'not_random';
  }
  return null;
}

// ---------------------------------------------------------------------------
// Loading (src/keys/source.rs)

// Rust's str::trim: Unicode White_Space.
const trim = (s) => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');

/** Rust's io::ErrorKind text for a failed read. */
function ioReason(err) {
  switch (err && err.code) {
    case 'ENOENT':
      return 'entity not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'not a directory';
    case 'ELOOP':
      return 'filesystem loop or indirect link loop';
    case 'ENAMETOOLONG':
      return 'invalid filename';
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE':
      return 'invalid input parameter';
    case 'INVALID_DATA':
      return 'invalid data';
    default:
      return 'uncategorized error';
  }
}

/** Whether a value that failed to open as a file can only be a path (so may be shown). */
function canOnlyBeAPath(value) {
  const plain =
    value.length > 0 &&
    Buffer.byteLength(value) <= 4096 &&
    !/[\p{White_Space}\p{Cc},;"'#=]/u.test(value);
  if (!plain || !value.startsWith('/')) return false;
  const parent = path.posix.dirname(value);
  if (parent === '/' || parent === value) return false;
  try {
    return statSync(parent).isDirectory();
  } catch {
    return false;
  }
}

function looksLikeAKey(value) {
  const bytes = decodeLenient(trim(value));
  return bytes !== null && bytes.length >= MIN_KEY_LEN && bytes.length <= MAX_KEY_LEN;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readText(file) {
  const bytes = readFileSync(file);
  try {
    return UTF8.decode(bytes);
  } catch {
    const err = new Error('stream did not contain valid UTF-8');
    err.code = 'INVALID_DATA';
    throw err;
  } finally {
    bytes.fill(0);
  }
}

/** Where the key ring comes from: the names of the two variables. */
export class KeySource {
  constructor(keysVar = KEYS_VAR, fileVar = KEYS_FILE_VAR) {
    this.keysVar = keysVar;
    this.fileVar = fileVar;
  }

  /**
   * The ring from `env` (default: process.env). Throws a ConfigError naming
   * the variable or file, the entry and the problem.
   */
  load(env = process.env) {
    const keys = env[this.keysVar];
    const file = env[this.fileVar];
    if (keys !== undefined && file !== undefined) {
      throw new ConfigError('keys_set_twice', { keysVar: this.keysVar, fileVar: this.fileVar });
    }
    if (keys === undefined && file === undefined) {
      throw new ConfigError('keys_not_set', { keysVar: this.keysVar, fileVar: this.fileVar });
    }
    if (keys !== undefined) {
      const entries = keys.split(',').map((e, i) => [i + 1, trim(e)]);
      return this.parseEntries(this.keysVar, entries, true);
    }
    let text;
    try {
      text = readText(file);
    } catch (err) {
      if (looksLikeAKey(file)) {
        throw new ConfigError('key_instead_of_path', { var: this.fileVar, keysVar: this.keysVar });
      }
      throw new ConfigError('key_file_unreadable', {
        var: this.fileVar,
        path: canOnlyBeAPath(file) ? file : null,
        reason: ioReason(err),
      });
    }
    return this.parseFile(file, text);
  }

  /** The ring in the text of the key file at `file`. */
  parseFile(file, text) {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const entries = lines
      .map((line, i) => [i + 1, trim(line.endsWith('\r') ? line.slice(0, -1) : line)])
      .filter(([, line]) => line.length > 0 && !line.startsWith('#'));
    return this.parseEntries(`${this.fileVar} (${file})`, entries, false);
  }

  parseEntries(source, entries, emptyIsError) {
    const keys = [];
    for (const [position, entry] of entries) {
      const invalid = (problem) => new ConfigError('invalid_key', { source, position, problem });
      const implausible = (why) =>
        why === 'path'
          ? new ConfigError('path_instead_of_key', { source, position, fileVar: this.fileVar })
          : invalid(KeyProblem.notRandom());
      if (entry.length === 0) {
        if (emptyIsError) throw invalid(KeyProblem.empty());
        continue;
      }
      const bytes = decodeLenient(entry);
      if (bytes === null) {
        throw looksLikeAPath(entry) ? implausible('path') : invalid(KeyProblem.notBase64());
      }
      let key;
      try {
        key = Key.fromBytes(Buffer.from(bytes));
      } catch (err) {
        bytes.fill(0);
        throw invalid(err.problem);
      }
      const why = checkText(entry) ?? checkBytes(bytes);
      bytes.fill(0);
      if (why) throw implausible(why);
      keys.push(key);
    }
    return new Keyring(keys, source);
  }

  /**
   * The ring from `env`; when it comes from a key file, a LiveKeyring that
   * reads the file again every `every` seconds and swaps in a changed ring
   * that passes every start-up rule (a broken file keeps the ring in force
   * and is logged once per content).
   */
  watch({ env = process.env, every = KEY_RELOAD_INTERVAL, log = console } = {}) {
    const ring = this.load(env);
    const file = env[this.fileVar];
    if (env[this.keysVar] !== undefined || file === undefined) return new LiveKeyring(ring);
    return new LiveKeyring(ring, { source: this, file, every, log });
  }
}

/** The ring in force, which a key file can replace while the process runs. */
export class LiveKeyring {
  #ring;
  #timer = null;
  #seen = null;

  constructor(ring, watch = null) {
    this.#ring = ring;
    if (watch) {
      this.#seen = digestOf(watch.file);
      this.#timer = setInterval(() => this.#poll(watch), watch.every * 1000);
      this.#timer.unref();
    }
  }

  /** The ring in force now: a request keeps the one it started with. */
  current() {
    return this.#ring;
  }

  get keys() {
    return this.#ring.keys;
  }

  get primary() {
    return this.#ring.primary;
  }

  find(id) {
    return this.#ring.find(id);
  }

  /** Stops following the file. */
  close() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #poll({ source, file, log }) {
    const digest = digestOf(file);
    if (digest === this.#seen) return;
    this.#seen = digest;
    let ring;
    try {
      let text;
      try {
        text = readText(file);
      } catch (err) {
        throw new ConfigError('key_file_unreadable', {
          var: source.fileVar,
          path: file,
          reason: err.code === 'INVALID_DATA' ? 'not UTF-8 text' : ioReason(err),
        });
      }
      ring = source.parseFile(file, text);
    } catch (err) {
      log.error(
        `${source.fileVar}: the changed key file is refused; the key ring in force is kept ` +
          `(the file is read every poll: a fixed file is picked up): ${err.message}`,
      );
      return;
    }
    this.#ring = ring;
    log.info(
      `key ring reloaded from the key file (${source.fileVar}); new requests use it: ` +
        `key_ids=${ring.keys.map((k) => k.idHex).join(',')}`,
    );
  }
}

function digestOf(file) {
  try {
    const bytes = readFileSync(file);
    const digest = createHash('sha256').update(bytes).digest('hex');
    bytes.fill(0);
    return digest;
  } catch {
    return 'missing';
  }
}

const DEFAULT_SOURCE = new KeySource();

/** The key ring from SESSION_KEYS or SESSION_KEYS_FILE (see KeySource). */
export function loadKeyring(env = process.env) {
  return DEFAULT_SOURCE.load(env);
}
