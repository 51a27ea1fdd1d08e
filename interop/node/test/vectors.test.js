// Every seal vector byte for byte and every open vector (opens to exactly
// the stated fields, or is refused with the stated reason) of
// tests/vectors/, read from the repository at test time; and the cookies
// sealed by each release of the Rust crate.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Lifetime, SessionCodec, chunk } from '../index.js';
import { sealV1ForVectors, sealV2ForVectors } from '../src/format.js';
import { parseJsonExact } from '../testing/json-exact.js';
import { cookieHeader, keyOf, loadVectors, ringOf } from '../testing/vectors.js';

/** The reader's chunk cap the Rust tests use for the vectors. */
const CAP = 4;

function openCookies(codec, cookies, name, now) {
  const incoming = chunk.read(cookieHeader(cookies), name, CAP);
  assert.ok(incoming.value !== null, 'every vector carries the cookie');
  if (!incoming.value.ok) return incoming.value;
  return codec.open(incoming.value.value, now);
}

/** The body of an opened session as the vector file's parser reads JSON. */
const bodyOf = (data) => parseJsonExact(data.toJson());

const v1 = loadVectors('vectors-v1.json');
const v2 = loadVectors('vectors-v2.json');

describe('vectors-v1.json', () => {
  test('is the v1 file', () => {
    assert.equal(v1.format, 'client-session/v1');
    assert.equal(v1.seal.length, 4);
    assert.equal(v1.open.length, 42);
  });

  for (const s of v1.seal) {
    test(`seal: ${s.name}`, () => {
      const value = sealV1ForVectors(keyOf(s.key), s.context, Buffer.from(s.nonce, 'hex'), s.created_at, s.expires_at, Buffer.from(s.body, 'utf8'));
      assert.equal(value, s.value);
    });
  }

  // The v1 file's free-text reasons, as the coarse reasons (tests/vectors.rs).
  const coarse = (reason) => {
    if (reason === 'missing or broken chunks' || reason === 'too short' || reason.startsWith('base64')) return 'malformed';
    const map = {
      version: 'unsupported_version',
      'unknown key id': 'unknown_key',
      'authentication failed': 'unauthenticated',
      expired: 'expired',
      'created in the future': 'expired',
      'past absolute lifetime': 'expired',
      'inflated body too large or truncated': 'too_large',
      'unknown flags': 'invalid_body',
      'bad deflate': 'invalid_body',
      'body is not a JSON object': 'invalid_body',
      'body is not JSON': 'invalid_body',
    };
    assert.ok(reason in map, `vector reason ${reason} has no mapping`);
    return map[reason];
  };

  for (const v of v1.open) {
    test(`open: ${v.name}`, () => {
      const codec = new SessionCodec(ringOf(v.keys), v.context, { absolute: v.absolute_lifetime ?? null });
      const got = openCookies(codec, v.cookies, v.cookie_name, v.now);
      if (v.expect === 'open') {
        assert.ok(got.ok, `rejected: ${got.reason}`);
        assert.equal(got.meta.createdAt, BigInt(v.created_at));
        assert.equal(got.meta.expiresAt, BigInt(v.expires_at));
        assert.equal(got.keyIndex, v.key_index);
        assert.equal(got.version, 1);
        assert.deepStrictEqual(bodyOf(got.data), v.body);
      } else if (v.name === 'version 2') {
        // Written when only v1 existed: a 74-byte v1 value relabelled 0x02.
        // Version 2 is read now, and 74 bytes are too short for it (step 2).
        assert.equal(v.reason, 'version');
        assert.equal(got.reason, 'malformed');
      } else {
        assert.equal(got.ok, false, 'opened, but the vector says rejected');
        assert.equal(got.reason, coarse(v.reason));
      }
    });
  }
});

describe('vectors-v2.json', () => {
  test('is the v2 file', () => {
    assert.equal(v2.format, 'client-session/v2');
    assert.equal(v2.seal.length, 12);
    assert.equal(v2.open.length, 89);
  });

  for (const s of v2.seal) {
    test(`seal: ${s.name}`, () => {
      const meta = {
        id: s.session_id,
        createdAt: s.created_at,
        expiresAt: s.expires_at,
        lifetime: { idle: s.idle_timeout || null, absolute: s.absolute_lifetime || null, persistent: s.persistent },
        authenticatedAt: s.authenticated_at || null,
        checkedAt: s.checked_at || null,
      };
      const value = sealV2ForVectors(keyOf(s.key), s.context, Buffer.from(s.nonce, 'hex'), meta, Buffer.from(s.body, 'utf8'));
      assert.equal(value, s.value);
    });
  }

  for (const v of v2.open) {
    test(`open: ${v.name}`, () => {
      const c = v.config ?? {};
      const codec = new SessionCodec(ringOf(v.keys), v.context, {
        idle: c.idle_timeout ?? null,
        absolute: c.absolute_lifetime ?? null,
        maxIdle: c.max_idle_timeout ?? null,
        maxAbsolute: c.max_absolute_lifetime ?? null,
        notBefore: c.not_before ?? null,
        bodyLimit: c.body_limit ?? undefined,
      });
      const got = openCookies(codec, v.cookies, v.cookie_name, v.now);
      if (v.expect === 'open') {
        assert.ok(got.ok, `rejected: ${got.reason}`);
        const m = got.meta;
        assert.deepStrictEqual(
          {
            version: got.version,
            key_index: got.keyIndex,
            created_at: m.createdAt,
            expires_at: m.expiresAt,
            session_id: m.id,
            idle_timeout: m.lifetime.idle ?? 0,
            absolute_lifetime: m.lifetime.absolute ?? 0,
            persistent: m.lifetime.persistent,
            authenticated_at: m.authenticatedAt ?? 0n,
            checked_at: m.checkedAt ?? 0n,
          },
          {
            version: v.version,
            key_index: v.key_index,
            created_at: BigInt(v.created_at),
            expires_at: BigInt(v.expires_at),
            session_id: v.session_id,
            idle_timeout: v.idle_timeout,
            absolute_lifetime: v.absolute_lifetime,
            persistent: v.persistent,
            authenticated_at: BigInt(v.authenticated_at),
            checked_at: BigInt(v.checked_at),
          },
        );
        assert.deepStrictEqual(bodyOf(got.data), v.body);
      } else {
        assert.equal(got.ok, false, 'opened, but the vector says rejected');
        assert.equal(got.reason, v.reason);
      }
    });
  }
});

describe('sealed-by-releases.json', () => {
  const entries = loadVectors('sealed-by-releases.json');
  for (const e of entries) {
    test(`${e.release} / ${e.name} still opens`, () => {
      const incoming = chunk.read(e.cookie_header, 'session', CAP);
      assert.ok(incoming.value && incoming.value.ok);
      const codec = new SessionCodec(ringOf([e.key]), e.context);
      const got = codec.open(incoming.value.value, e.created_at + 1);
      assert.ok(got.ok, `rejected: ${got.reason}`);
      assert.deepStrictEqual(bodyOf(got.data), e.body);
      assert.equal(got.meta.expiresAt, BigInt(e.expires_at));
      if (e.meta) {
        assert.equal(got.version, 2);
        assert.equal(got.meta.id, e.meta.id);
        assert.equal(got.meta.lifetime.idle, e.meta.idle ?? null);
        assert.equal(got.meta.lifetime.absolute, e.meta.absolute ?? null);
        assert.equal(got.meta.lifetime.persistent, e.meta.persistent ?? null);
        assert.equal(got.meta.authenticatedAt, e.meta.authenticated_at == null ? null : BigInt(e.meta.authenticated_at));
        assert.equal(got.meta.checkedAt, e.meta.checked_at == null ? null : BigInt(e.meta.checked_at));
      }
    });
  }
});

test('Lifetime helpers seal as the format says', () => {
  assert.deepStrictEqual({ ...Lifetime.rememberFor(30 * 86400) }, { idle: 2592000, absolute: 2592000, persistent: true });
  assert.deepStrictEqual({ ...Lifetime.browserSession(0.2) }, { idle: 1, absolute: null, persistent: false });
  assert.equal(Lifetime.of({ idle: 2 ** 40 }).idle, 0xffffffff);
});
