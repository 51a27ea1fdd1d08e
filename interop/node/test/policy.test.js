// The response plan: the table of src/policy.rs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Why, answers500WhenUnsealable, plan } from '../src/policy.js';

const NOW = 1_700_000_000;
const IDLE = 1000;
const LIFETIMES = { idle: IDLE, absolute: 10_000, renewFraction: 0.5, ephemeral: false };
const opened = (remaining, extra = {}) => ({ createdAt: NOW - 100, expiresAt: NOW + remaining, keyIndex: 0, version: 2, ...extra });
const FRESH = 900;
const READ = { touched: true, changed: false, destroyed: false, empty: false, checked: false };
const CHANGED = { ...READ, changed: true };
const seal = (why, createdAt, maxAge) => ({ kind: 'seal', why, createdAt, expiresAt: NOW + IDLE, maxAge });
const withCookie = { cookie: true, opened: opened(FRESH) };
const noCookie = { cookie: false, opened: null };
const brokenCookie = { cookie: true, opened: null };

test('plan table', () => {
  const rows = [
    ['untouched: nothing, whatever the cookie', withCookie, { touched: false }, 200, LIFETIMES, { kind: 'nothing' }],
    ['read, fresh: nothing', withCookie, READ, 200, LIFETIMES, { kind: 'nothing' }],
    ['modified: sealed, created_at kept', withCookie, CHANGED, 200, LIFETIMES, seal(Why.CHANGED, NOW - 100, IDLE)],
    ['new session without a cookie: sealed, created now', noCookie, CHANGED, 200, LIFETIMES, seal(Why.CHANGED, NOW, IDLE)],
    ['emptied: the cookie expired', withCookie, { ...CHANGED, empty: true }, 200, LIFETIMES, { kind: 'expire' }],
    ['emptied without a cookie: nothing to expire', noCookie, { ...CHANGED, empty: true }, 200, LIFETIMES, { kind: 'nothing' }],
    ['read an empty session: nothing', brokenCookie, { ...READ, empty: true }, 200, LIFETIMES, { kind: 'nothing' }],
    ['destroyed: the cookie expired', withCookie, { ...CHANGED, destroyed: true, empty: true }, 200, LIFETIMES, { kind: 'expire' }],
    ['destroyed, then a value inserted: a new session', withCookie, { ...CHANGED, destroyed: true }, 200, LIFETIMES, seal(Why.CHANGED, NOW, IDLE)],
    ['opened with an old key: re-sealed', { cookie: true, opened: opened(FRESH, { keyIndex: 1 }) }, READ, 200, LIFETIMES, seal(Why.OLD_KEY, NOW - 100, IDLE)],
    ['sealed in format v1: re-sealed as v2', { cookie: true, opened: opened(FRESH, { version: 1 }) }, READ, 200, LIFETIMES, seal(Why.OLD_FORMAT, NOW - 100, IDLE)],
    ['revocation check passed: re-sealed to record it', withCookie, { ...READ, checked: true }, 200, LIFETIMES, seal(Why.CHECKED, NOW - 100, IDLE)],
    ['check passed, then destroyed', withCookie, { ...CHANGED, checked: true, destroyed: true, empty: true }, 200, LIFETIMES, { kind: 'expire' }],
    ['check passed on a 5xx: nothing', withCookie, { ...READ, checked: true }, 500, LIFETIMES, { kind: 'nothing' }],
    ['renewal due: one second under half the window', { cookie: true, opened: opened(IDLE / 2 - 1) }, READ, 200, LIFETIMES, seal(Why.RENEWAL, NOW - 100, IDLE)],
    ['renewal not due: exactly half the window', { cookie: true, opened: opened(IDLE / 2) }, READ, 200, LIFETIMES, { kind: 'nothing' }],
    ['5xx after a change: nothing saved', withCookie, CHANGED, 500, LIFETIMES, { kind: 'nothing' }],
    ['5xx with renewal due: not renewed', { cookie: true, opened: opened(1) }, READ, 502, LIFETIMES, { kind: 'nothing' }],
    ['5xx after destroy: still expired', withCookie, { ...CHANGED, destroyed: true }, 503, LIFETIMES, { kind: 'expire' }],
    ['4xx after a change: saved', withCookie, CHANGED, 422, LIFETIMES, seal(Why.CHANGED, NOW - 100, IDLE)],
    ['ephemeral: no Max-Age', withCookie, CHANGED, 200, { ...LIFETIMES, ephemeral: true }, seal(Why.CHANGED, NOW - 100, null)],
    ['Max-Age stops at the absolute lifetime', withCookie, CHANGED, 200, { ...LIFETIMES, absolute: 500 }, seal(Why.CHANGED, NOW - 100, 400)],
  ];
  for (const [name, brought, did, status, lifetimes, expect] of rows) {
    assert.deepStrictEqual(plan(brought, { empty: false, ...did }, status, lifetimes, NOW), expect, name);
  }
});

test('a seal that no longer fits is skipped unless the handler changed it', () => {
  assert.equal(answers500WhenUnsealable(Why.CHANGED), true);
  for (const why of [Why.RENEWAL, Why.OLD_KEY, Why.OLD_FORMAT, Why.CHECKED]) assert.equal(answers500WhenUnsealable(why), false);
});
