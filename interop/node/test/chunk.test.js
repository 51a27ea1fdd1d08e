// Chunking: the cases of src/chunk.rs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chunk } from '../index.js';

const { MAX_COOKIE_PAIR_LEN, chunkCount, read, split, totalPairBytes } = chunk;

const headerOf = (cookies) => cookies.map(([n, v]) => `${n}=${v}`).join('; ');
const ok = (value) => ({ ok: true, value });
const bad = { ok: false, reason: 'malformed' };
const dup = { ok: false, reason: 'duplicate' };

test('reading table', () => {
  const cases = [
    ['absent', 'other=1; x=2', null, 0],
    ['single', 'a=1; session=abc; b=2', ok('abc'), 0],
    ['spaces trimmed', '  session = abc ;x=1', ok('abc'), 0],
    ['chunked', 'session=3.ab; session.2=ef; session.1=cd', ok('abcdef'), 2],
    ['missing part', 'session=3.ab; session.2=ef', bad, 2],
    ['count of one', 'session=1.ab', bad, 0],
    ['leading zero', 'session=02.ab; session.1=cd', bad, 1],
    ['over the cap', 'session=5.ab; session.1=cd', bad, 1],
    ['absurd count', 'session=1000000000.ab', bad, 0],
    ['non-canonical chunk name', 'session=2.ab; session.01=cd', bad, 0],
    ['empty part', 'session=2.ab; session.1=', bad, 1],
    ['stale chunks only', 'session.1=x; session.3=y; session.9=z', null, 3],
    ['two values: neither', 'session=first; session=second', dup, 0],
    ['two values of a chunk: neither', 'session=2.ab; session.1=cd; session.1=xx', dup, 1],
    ['a stale chunk at the count is ignored', 'session=2.ab; session.1=cd; session.2=x', ok('abcd'), 2],
    ['a duplicate stale chunk at the count is ignored', 'session=2.ab; session.1=cd; session.2=x; session.2=y', ok('abcd'), 2],
    ['a duplicate stale chunk beyond the count is ignored', 'session=2.ab; session.1=cd; session.3=x; session.3=y', ok('abcd'), 3],
  ];
  for (const [name, header, value, highest] of cases) {
    const got = read(header, 'session', 4);
    assert.deepStrictEqual(got.value, value, name);
    assert.equal(got.highestChunk, highest, `${name}: highest chunk`);
  }
});

test('non-UTF-8 values are malformed, not a crash', () => {
  const got = read(Buffer.from([...Buffer.from('session='), 0xff, 0xfe, ...Buffer.from('; session.1=x')]), 'session', 4);
  assert.deepStrictEqual(got.value, bad);
  // Node hands header bytes over as latin1 text: the same bytes.
  assert.deepStrictEqual(read('session=\xff\xfe', 'session', 4).value, bad);
});

test('several Cookie headers are read as one', () => {
  assert.deepStrictEqual(read(['session=2.ab', 'x=1; session.1=cd'], 'session', 4).value, ok('abcd'));
});

test('split fits every pair and joins back', () => {
  for (const len of [10, 4088, 4089, 4090, 8000, 8180, 8200, 20000]) {
    const value = Array.from({ length: len }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const cookies = split('session', value);
    assert.equal(cookies.length, chunkCount(7, len), `len ${len}`);
    for (const [n, v] of cookies) assert.ok(n.length + 1 + v.length <= MAX_COOKIE_PAIR_LEN);
    assert.equal(cookies.reduce((s, [n, v]) => s + n.length + 1 + v.length, 0), totalPairBytes(7, len));
    assert.deepStrictEqual(read(headerOf(cookies), 'session', 10).value, ok(value), `len ${len}`);
  }
});

test('non-ASCII values split on character boundaries and join back', () => {
  const value = 'a' + 'é'.repeat(2999);
  const cookies = split('s', value);
  assert.ok(cookies.every(([n, v]) => Buffer.byteLength(n) + 1 + Buffer.byteLength(v) <= MAX_COOKIE_PAIR_LEN));
  assert.deepStrictEqual(read(Buffer.from(headerOf(cookies)), 's', 10).value, ok(value));
});

test('a value that just fits is one cookie', () => {
  assert.equal(split('session', 'a'.repeat(MAX_COOKIE_PAIR_LEN - 'session='.length)).length, 1);
  assert.equal(split('session', 'a'.repeat(MAX_COOKIE_PAIR_LEN - 'session='.length + 1)).length, 2);
});

test('the read cap of the default configuration is 22 chunks', () => {
  // ceil((102 + 65536) * 4 / 3) characters under __Host-session.
  assert.equal(chunkCount('__Host-session'.length, Math.ceil(((102 + 65536) * 4) / 3)), 22);
  assert.equal(chunkCount('__Host-session'.length, 7 * 1024), 2);
});
