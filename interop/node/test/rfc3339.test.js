// SESSION_NOT_BEFORE's forms: the table of src/rfc3339.rs, and the
// configuration error that does not repeat the value.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { notBeforeFromEnv } from '../src/express.js';
import { parseInstant } from '../src/rfc3339.js';

test('accepted forms', () => {
  const rows = [
    ['1764489600', 1764489600],
    ['1970-01-01T00:00:00Z', 0],
    ['2025-11-30T08:00:00Z', 1764489600],
    ['2025-11-30t08:00:00z', 1764489600],
    ['2025-11-30T08:00:00.999Z', 1764489600],
    ['2025-11-30T09:30:00+01:30', 1764489600],
    ['2025-11-30T03:00:00-05:00', 1764489600],
    ['2025-11-30 08:00:00Z', 1764489600],
    ['2024-02-29T00:00:00Z', 1709164800],
    ['2000-02-29T00:00:00Z', 951782400],
    [' 1764489600 ', 1764489600],
    ['2016-12-31T23:59:60Z', 1483228800],
    ['2025-12-31T00:00:00Z', 1767139200],
    ['2025-02-28T00:00:00Z', 1740700800],
    ['2025-11-30T08:00:00+23:59', 1764403260],
    ['1970-01-01T01:00:00+01:00', 0],
    ['2400-02-29T00:00:00Z', 13574563200],
  ];
  for (const [text, expect] of rows) assert.equal(parseInstant(text), expect, text);
});

test('refused forms', () => {
  for (const text of [
    '', '2025-11-30T08:00:00', '2025-11-30', '2025-13-01T00:00:00Z', '2025-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z', '2025-11-30T24:00:00Z', '2025-11-30T08:00:00+1:00', '2025-11-30T08:00:00+24:00',
    '2025-11-30T08:00:00.Z', '1969-12-31T23:59:59Z', '-5', 'yesterday', '2025-+1-30T08:00:00Z',
    '99999999999999999999999', '2025/11/30T08:00:00Z', '2025-11-30x08:00:00Z', '2025-11-30T08:00Z',
    '2025-11-30T08:00:00+0100', '2025-11-30T08:00:61Z', '2025-11-31T08:00:00Z', '20a5-11-30T08:00:00Z',
  ]) {
    assert.equal(parseInstant(text), null, text);
  }
});

test('SESSION_NOT_BEFORE: unset or empty is none; a bad value is refused without repeating it', () => {
  assert.deepStrictEqual(notBeforeFromEnv({}), {});
  assert.deepStrictEqual(notBeforeFromEnv({ SESSION_NOT_BEFORE: '  ' }), {});
  assert.deepStrictEqual(notBeforeFromEnv({ SESSION_NOT_BEFORE: '2025-11-30T08:00:00Z' }).notBefore, 1764489600);
  const secret = 'QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=';
  assert.throws(() => notBeforeFromEnv({ SESSION_NOT_BEFORE: secret }), (err) => {
    assert.ok(err.message.startsWith('SESSION_NOT_BEFORE: is neither Unix seconds nor an RFC 3339'));
    assert.ok(!err.message.includes(secret));
    return true;
  });
});
