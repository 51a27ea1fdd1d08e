// Key ring loading: the cases of src/keys/{source,plausibility,keyring,key}.rs,
// with the same messages, naming the variable and position, never the entry.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError, Key, KeySource, Keyring, generateKeyBase64, loadKeyring } from '../index.js';

// Random test keys (32 bytes, standard alphabet; 64 bytes, URL-safe unpadded) — the Rust tests' own.
const K1 = 'vaiatencLx/cq206+ILCzvHMX9i4JyUJ1hPtca+tdTM=';
const K2_URL_NO_PAD = 'hI7J7XqBCwQdN9SPdYJTEnbvF62dxNG-0FYOah6JJJ1nifZezMWlcMGw7uPY3CavYrHI-aHgYkBzXasUP-vDdQ';

const idOf = (text) => Key.fromBytes(Buffer.from(text, 'base64')).idHex;
const load = (env) => loadKeyring(env);
const err = (env) => {
  try {
    load(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e;
  }
  assert.fail('loaded');
};

test('a list with whitespace and both alphabets loads in order', () => {
  const ring = load({ SESSION_KEYS: ` ${K1} ,\t${K2_URL_NO_PAD} ` });
  assert.equal(ring.keys.length, 2);
  assert.equal(ring.primary.idHex, idOf(K1));
  assert.equal(ring.keys[1].idHex, Key.fromBytes(Buffer.from(K2_URL_NO_PAD, 'base64url')).idHex);
});

test('key ids are the HKDF ids of the format (the vectors\' key)', () => {
  // tests/vectors: the key 00..1f seals with key id f4 86 03 fa.
  const key = Key.fromBytes(Buffer.from([...Array(32).keys()]));
  assert.equal(key.idHex, 'f48603fa');
  assert.ok(!String(key).includes('0001'));
  assert.equal(JSON.stringify(key), '{"id":"f48603fa"}');
});

test('errors name the variable and position but never the entry', () => {
  const cases = [
    ['%%zz%%', 'SESSION_KEYS: key #2: the entry is not base64'],
    ['c2hvcnQ=', 'SESSION_KEYS: key #2: the key is 5 bytes long'],
    ['', 'SESSION_KEYS: key #2: the entry is empty'],
  ];
  for (const [second, expected] of cases) {
    const shown = err({ SESSION_KEYS: `${K1},${second}` }).message;
    assert.ok(shown.startsWith(expected), `${second}: ${shown}`);
    assert.ok(second === '' || !shown.includes(second), `leaked: ${shown}`);
    assert.ok(!shown.includes(K1));
  }
});

test('too long and duplicate keys are refused', () => {
  assert.equal(
    err({ SESSION_KEYS: `${K2_URL_NO_PAD}AAAA` }).message,
    'SESSION_KEYS: key #1: the key is 67 bytes long; a key must be 32 to 64 bytes',
  );
  assert.equal(err({ SESSION_KEYS: `${K1},${K1}` }).message, 'SESSION_KEYS: key #2 is the same key as key #1 (same key id)');
});

test('both or neither variable is an error', () => {
  assert.equal(err({}).kind, 'keys_not_set');
  assert.equal(
    err({}).message,
    'no session keys: set SESSION_KEYS (comma-separated base64 keys, primary first) or SESSION_KEYS_FILE (a file with one key per line)',
  );
  const both = err({ SESSION_KEYS: K1, SESSION_KEYS_FILE: '/x' });
  assert.equal(both.message, 'both SESSION_KEYS and SESSION_KEYS_FILE are set; set only one of them');
});

test('a key file skips comments and blank lines and reports line numbers', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cs-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'good');
  writeFileSync(good, `# rotated 2026-11\n\n${K2_URL_NO_PAD}\r\n  ${K1}  \n`);
  const ring = load({ SESSION_KEYS_FILE: good });
  assert.equal(ring.keys.length, 2);
  assert.equal(ring.keys[1].idHex, idOf(K1));

  const bad = path.join(dir, 'bad');
  writeFileSync(bad, `${K1}\n# comment\nAAAA\n`);
  const shown = err({ SESSION_KEYS_FILE: bad }).message;
  assert.ok(shown.startsWith(`SESSION_KEYS_FILE (${bad})`), shown);
  assert.ok(shown.includes('key #3: the key is 3 bytes long'), shown);

  const missing = path.join(dir, 'missing');
  const e = err({ SESSION_KEYS_FILE: missing });
  assert.equal(e.kind, 'key_file_unreadable');
  assert.equal(e.message, `cannot read the key file "${missing}" named by SESSION_KEYS_FILE: entity not found`);

  const empty = path.join(dir, 'empty');
  writeFileSync(empty, '# nothing yet\n');
  assert.equal(err({ SESSION_KEYS_FILE: empty }).message, `SESSION_KEYS_FILE (${empty}) holds no key`);

  const notUtf8 = path.join(dir, 'binary');
  writeFileSync(notUtf8, Buffer.from([0xff, 0xfe, 0x00]));
  assert.match(err({ SESSION_KEYS_FILE: notUtf8 }).message, /: invalid data$/);

  const directory = path.join(dir, 'sub');
  mkdirSync(directory);
  assert.match(err({ SESSION_KEYS_FILE: directory }).message, /: is a directory$/);
});

test('a key put in the file variable is not repeated', () => {
  for (const key of [K1, K2_URL_NO_PAD, 'CzBVep/6Nq0r7ZpHYYiLQ9hXy0qCnV9cF0vAb6+Ws2M=']) {
    const e = err({ SESSION_KEYS_FILE: key });
    assert.equal(e.kind, 'key_instead_of_path');
    assert.ok(!e.message.includes(key));
    assert.ok(e.message.includes('did you mean SESSION_KEYS?'), e.message);
  }
  const missing = path.join(os.tmpdir(), 'no-such-session-keys');
  assert.ok(err({ SESSION_KEYS_FILE: missing }).message.includes(missing));
});

test('a secret in the file variable is never shown, whatever its shape', () => {
  const shapes = [
    ['a key list', `${K1},${K2_URL_NO_PAD}`],
    ['a quoted key', `"${K1}"`],
    ['a key and a comment', `${K1} # primary`],
    ['a secret over 64 bytes', `${K2_URL_NO_PAD}${K2_URL_NO_PAD}`],
    ['a passphrase', 'correct horse battery staple'],
    ['an absolute-looking secret', `/${K1}`],
    ['a path into no existing directory', '/run/no-such-dir/keys'],
    ['a relative value whose parent exists', 'src/horse-battery-staple'],
  ];
  for (const [name, value] of shapes) {
    const e = err({ SESSION_KEYS_FILE: value });
    assert.ok(
      e.message.startsWith('cannot read the key file named by SESSION_KEYS_FILE') || e.kind === 'key_instead_of_path',
      `${name}: ${e.message}`,
    );
    assert.ok(!e.message.includes(value), `${name}: ${e.message}`);
    for (const part of [K1, K2_URL_NO_PAD, K1.slice(0, 20), K2_URL_NO_PAD.slice(0, 20), 'horse']) {
      assert.ok(!e.message.includes(part), `${name}: ${part} shown: ${e.message}`);
    }
  }
});

test('paths, passphrases and patterns are refused as keys', () => {
  const sentence = Buffer.from('my very long and very secret password').toString('base64');
  const rows = [
    [
      'a path',
      '/etc/secrets/client-session/production/keys',
      'SESSION_KEYS: key #2 looks like a file path, not a key (not shown); to read keys from a file, set SESSION_KEYS_FILE to its path',
    ],
    ['a path that is not base64', '/etc/client-session/keys.txt', 'SESSION_KEYS: key #2 looks like a file path, not a key'],
    ['a passphrase', 'changeme-changeme-changeme-changeme-changeme', 'SESSION_KEYS: key #2: the key does not look random'],
    ['base64 of a sentence', sentence, 'SESSION_KEYS: key #2: the key does not look random'],
    ['the bytes 0..32', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'SESSION_KEYS: key #2: the key does not look random'],
    ['one byte repeated', Buffer.alloc(32, 0xa5).toString('base64'), 'SESSION_KEYS: key #2: the key does not look random'],
    ['a relative path', './secrets/session/keys', 'SESSION_KEYS: key #2 looks like a file path'],
    ['a mixed-case mount path', '/run/secrets/MyApp/SessionKeys/ProductionKey', 'SESSION_KEYS: key #2 looks like a file path'],
    ['a capitalised passphrase', 'CorrectHorseBatteryStapleMyVeryLongPassword2024', 'SESSION_KEYS: key #2: the key does not look random'],
  ];
  for (const [name, entry, expected] of rows) {
    const shown = err({ SESSION_KEYS: `${K1},${entry}` }).message;
    assert.ok(shown.startsWith(expected), `${name}: ${shown}`);
    assert.ok(!shown.includes(entry), `${name}: entry shown: ${shown}`);
  }
});

test('padding rules of key entries (either alphabet, padding optional, canonical bits)', () => {
  const bytes = randomBytes(32);
  const std = bytes.toString('base64'); // 44 chars, one '='
  assert.equal(load({ SESSION_KEYS: std.replace(/=$/, '') }).keys.length, 1, 'unpadded');
  assert.equal(err({ SESSION_KEYS: `${std}=` }).problem.kind, 'not_base64', 'too much padding');
  // 32 bytes end in a symbol with 2 unused bits: set one and it is refused.
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = A.indexOf(std.at(-2));
  const bent = `${std.slice(0, -2)}${A[last | 1]}=`;
  assert.equal(err({ SESSION_KEYS: bent }).problem.kind, 'not_base64', 'non-canonical trailing bits');
  assert.equal(err({ SESSION_KEYS: `${std.slice(0, -1)}==` }).problem.kind, 'not_base64', '4k+2 symbols and two pads is one too many');
});

test('random keys of every length are accepted', () => {
  for (const len of [32, 48, 64]) {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(len);
      assert.equal(load({ SESSION_KEYS: b.toString('base64') }).keys.length, 1);
      assert.equal(load({ SESSION_KEYS: b.toString('base64url') }).keys.length, 1);
    }
  }
  assert.equal(Buffer.from(generateKeyBase64(), 'base64').length, 32);
});

test('custom variable names are used in lookups and messages', () => {
  const source = new KeySource('MYAPP_SESSION_KEYS', 'MYAPP_SESSION_KEYS_FILE');
  assert.throws(() => source.load({ SESSION_KEYS: K1 }), /MYAPP_SESSION_KEYS/);
  assert.equal(source.load({ MYAPP_SESSION_KEYS: K1 }).keys.length, 1);
});

test('a ring refuses the same key twice, with positions, and emptiness', () => {
  const a = Key.fromBytes(Buffer.alloc(32, 1));
  const b = Key.fromBytes(Buffer.alloc(32, 2));
  assert.throws(() => new Keyring([a, b, Key.fromBytes(Buffer.alloc(32, 1))]), {
    message: 'the key ring: key #3 is the same key as key #1 (same key id)',
  });
  assert.throws(() => new Keyring([]), { kind: 'no_keys' });
  assert.ok(a.equals(Key.fromBytes(Buffer.alloc(32, 1))) && !a.equals(b));
  assert.throws(() => Key.fromBytes(Buffer.alloc(31)), { message: /31 bytes long/ });
  assert.throws(() => Key.fromBytes(Buffer.alloc(65)), { message: /65 bytes long/ });
});

test('a followed key file swaps in a valid new ring and keeps the ring on a broken one', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cs-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys');
  writeFileSync(file, `${K1}\n`);
  const logged = [];
  const log = { info: (m) => logged.push(['info', m]), error: (m) => logged.push(['error', m]) };
  const live = new KeySource().watch({ env: { SESSION_KEYS_FILE: file }, every: 0.05, log });
  t.after(() => live.close());
  assert.equal(live.current().primary.idHex, idOf(K1));
  const k2 = randomBytes(32).toString('base64');
  writeFileSync(file, `${k2}\n${K1}\n`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(live.current().keys.length, 2);
  assert.equal(live.current().primary.idHex, idOf(k2));
  writeFileSync(file, 'AAAA\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(live.current().keys.length, 2, 'a broken file keeps the ring in force');
  assert.ok(logged.some(([level, m]) => level === 'error' && m.includes('key #1: the key is 3 bytes long')));
  assert.ok(logged.every(([, m]) => !m.includes(k2) && !m.includes(K1)));
});
