// The format's rules that the vectors do not pin on their own: DEFLATE
// bounds (src/format/deflate.rs tests), the JSON rules of opening step 9
// (src/data.rs spec_json_test), compression on seal, seal errors, and the
// body's raw values surviving a re-seal.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { Key, Keyring, SessionCodec, SessionData } from '../index.js';
import { deflate, inflate } from '../src/format.js';

const ring = Keyring.single(Key.generate());
const NOW = 1_700_000_000;

test('inflate: exactly the limit inflates, one byte more is too large', () => {
  const packed = deflate(Buffer.alloc(1000, 'a'));
  assert.equal(inflate(packed, 1000).body.length, 1000);
  assert.equal(inflate(packed, 999).reason, 'too_large');
});

test('inflate: a bomb stops at the limit', () => {
  const packed = deflate(Buffer.alloc(8 << 20));
  assert.ok(packed.length < 64 * 1024);
  assert.equal(inflate(packed, 64 * 1024).reason, 'too_large');
});

test('inflate: limits below the smallest zlib chunk work', () => {
  const packed = deflate(Buffer.from('hello hello hello hello'));
  assert.equal(inflate(packed, 23).body.toString(), 'hello hello hello hello');
  assert.equal(inflate(packed, 22).reason, 'too_large');
  assert.equal(inflate(packed, 0).reason, 'too_large');
});

test('inflate: truncated, garbage, trailing bytes and empty are invalid', () => {
  const packed = deflate(Buffer.from('hello hello hello hello'));
  assert.equal(inflate(packed.subarray(0, packed.length - 1), 1024).reason, 'invalid_body');
  assert.equal(inflate(Buffer.from([0xff, 0xff, 0xff]), 1024).reason, 'invalid_body');
  assert.equal(inflate(Buffer.concat([packed, Buffer.from([0])]), 1024).reason, 'invalid_body');
  assert.equal(inflate(Buffer.alloc(0), 1024).reason, 'invalid_body');
});

test('inflate: the limit is met before a later error in the stream', () => {
  // 2000 bytes of output, then a stream cut short: past a limit of 1000 the
  // inflater stops at the limit and never meets the truncation.
  const packed = zlib.deflateRawSync(Buffer.alloc(2000, 'x'), { level: 0 });
  const cut = packed.subarray(0, packed.length - 10);
  assert.equal(inflate(cut, 1000).reason, 'too_large');
  assert.equal(inflate(cut, 4000).reason, 'invalid_body');
});

test('the JSON rules of the spec (opening step 9)', () => {
  const deep = `{"a":${'['.repeat(200)}1${']'.repeat(200)}}`;
  const rows = [
    ['surrounding whitespace', ' \n{"a":1}\t ', true],
    ['number beyond f64 kept as text', '{"a":1e400}', true],
    ['deep nesting (200)', deep, true],
    ['very deep nesting (30000)', `{"a":${'['.repeat(30000)}${']'.repeat(30000)}}`, true],
    ['lone surrogate escape', '{"a":"\\ud800"}', true],
    ['NaN', '{"a":NaN}', false],
    ['byte order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), false],
    ['trailing comma', '{"a":1,}', false],
    ['single quotes', "{'a':1}", false],
    ['raw control character in a string', '{"a":"\u0001"}', false],
    ['empty', '', false],
    ['top-level string', '"{}"', false],
    ['two objects', '{}{}', false],
    ['leading zero', '{"a":01}', false],
    ['lone surrogate escape in a key (serde_json reads keys as strings)', '{"\\ud800":1}', false],
    ['invalid escape', '{"a":"\\x"}', false],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), false],
  ];
  for (const [name, body, accepted] of rows) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    assert.equal(SessionData.fromJson(bytes) !== null, accepted, name);
  }
});

test('values are kept as written; the last duplicate wins; keys sorted', () => {
  const data = SessionData.fromJson(Buffer.from('{"z":1,"a\\u0062":2,"z":3,"m":{"x":[1,2]},"big":1e400,"s":"\\ud800"}'));
  assert.deepStrictEqual(data.keys(), ['ab', 'big', 'm', 's', 'z']);
  assert.equal(data.get('z'), 3);
  assert.equal(data.getRaw('m'), '{"x":[1,2]}');
  assert.equal(data.toJson(), '{"ab":2,"big":1e400,"m":{"x":[1,2]},"s":"\\ud800","z":3}');
  // Equal JSON written differently is no change.
  assert.equal(data.insert('m', { x: [1, 2] }), false);
  assert.equal(data.insert('m', { x: [1] }), true);
  // Code point order, as Rust sorts str (not UTF-16 order).
  const sorted = SessionData.fromObject({ '\u{1F600}': 1, '\uFF01': 2, a: 3 });
  assert.deepStrictEqual(sorted.keys(), ['a', '\uFF01', '\u{1F600}']);
});

test('seal then open, compressed from 1 KiB when it helps, and only then', () => {
  const codec = new SessionCodec(ring, 'session', { idle: 3600, compression: 1024 });
  const meta = { id: 'ab'.repeat(16), createdAt: NOW, expiresAt: NOW + 3600 };
  const big = SessionData.fromObject({ cart: Array(100).fill('the same item again') });
  const value = codec.seal(big, meta);
  const opened = codec.open(value, NOW + 1);
  assert.ok(opened.ok);
  assert.deepStrictEqual(opened.data.get('cart'), Array(100).fill('the same item again'));
  const raw = Buffer.from(value, 'base64url');
  assert.equal(raw[0], 2);
  assert.ok(value.length < big.toJson().length, 'compressed');
  assert.equal(codec.sealedLen(big), value.length);
  const off = new SessionCodec(ring, 'session', { idle: 3600, compression: 'off' });
  assert.ok(off.seal(big, meta).length > big.toJson().length);
  // Off by default, as in Rust.
  const byDefault = new SessionCodec(ring, 'session', { idle: 3600 });
  assert.equal(byDefault.seal(big, meta).length, off.seal(big, meta).length);
});

test('seal errors: body over the limit, times outside the session', () => {
  const codec = new SessionCodec(ring, 'session', { bodyLimit: 10 });
  const meta = { id: 'ab'.repeat(16), createdAt: NOW, expiresAt: NOW + 3600 };
  assert.throws(() => codec.seal(SessionData.fromObject({ a: 'x'.repeat(20) }), meta), /over the 10-byte body limit/);
  const small = SessionData.fromObject({});
  assert.throws(() => codec.seal(small, { ...meta, authenticatedAt: NOW - 1 }), { kind: 'inconsistent_times' });
  assert.throws(() => codec.seal(small, { ...meta, checkedAt: NOW + 3600 }), { kind: 'inconsistent_times' });
  assert.ok(codec.open(codec.seal(small, { ...meta, authenticatedAt: NOW, checkedAt: NOW + 3599 }), NOW).ok);
});

test('another context (cookie name) does not open; a value is ASCII-compared', () => {
  const a = new SessionCodec(ring, 'session');
  const b = new SessionCodec(ring, 'other');
  const value = a.seal(SessionData.fromObject({ u: 1 }), { id: '01'.repeat(16), createdAt: NOW, expiresAt: NOW + 10 });
  assert.equal(b.open(value, NOW).reason, 'unauthenticated');
  assert.equal(a.open(`"${value}"`, NOW).reason, 'malformed', 'a quoted value is not unquoted');
  assert.equal(a.open('', NOW).reason, 'malformed');
});
