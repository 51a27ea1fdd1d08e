// The Express middleware over real HTTP (an app on 127.0.0.1:0, fetch):
// when a response sets a cookie, what it carries, and the session API.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import express from 'express';

import { Key, Keyring, SessionCodec } from '../index.js';
import { Level, Lifetime, csrfForm, csrfProtection, sendRejection, sessions } from '../src/express.js';
import { sealV1ForVectors, v1SessionId } from '../src/format.js';
import { Client, parseSetCookie, serve } from '../testing/http.js';

const NAME = '__Host-session';
const K1 = Key.fromBytes(randomBytes(32));
const K2 = Key.fromBytes(randomBytes(32));
const quiet = { warn() {}, error() {} };

/** A clock the test moves. */
function manualClock(start = 1_800_000_000) {
  let now = start;
  const clock = () => now;
  clock.advance = (s) => {
    now += s;
  };
  clock.set = (s) => {
    now = s;
  };
  return clock;
}

/** The routes the tests use, behind the middleware with `options`. */
function app(options) {
  const a = express();
  a.use(sessions({ log: quiet, ...options }));
  a.get('/untouched', (req, res) => res.send('hi'));
  a.get('/get/:key', (req, res) => res.json({ value: req.session.get(req.params.key) ?? null }));
  a.get('/set/:key/:value', (req, res) => {
    req.session.insert(req.params.key, req.params.value);
    res.send('ok');
  });
  a.get('/big/:n', (req, res) => {
    req.session.insert('blob', randomBytes(Number(req.params.n)).toString('base64'));
    res.send('ok');
  });
  a.get('/remove/:key', (req, res) => res.json(req.session.remove(req.params.key)));
  a.get('/clear', (req, res) => {
    req.session.clear();
    res.send('cleared');
  });
  a.get('/destroy', (req, res) => {
    req.session.destroy();
    res.send('bye');
  });
  a.get('/fail-after-change', (req, res) => {
    req.session.insert('lost', true);
    res.status(500).send('boom');
  });
  a.get('/fail-after-destroy', (req, res) => {
    req.session.destroy();
    res.status(503).send('down');
  });
  a.get('/id', (req, res) => res.json({ id: req.session.id(), keys: req.session.keys(), created: req.session.createdAt() }));
  a.get('/login/:user', (req, res) => {
    req.session.regenerate();
    req.session.markAuthenticated();
    req.session.setLifetime(req.query.remember ? Lifetime.rememberFor(30 * 86400) : Lifetime.browserSession(1800));
    req.session.insert('user', req.params.user);
    res.json({ id: req.session.id() });
  });
  a.get('/me', (req, res) =>
    res.json({
      user: req.session.get('user') ?? null,
      id: req.session.id(),
      authenticatedAt: req.session.authenticatedAt(),
      lifetime: req.session.lifetime(),
    }),
  );
  a.get('/reserved', (req, res) => {
    let threw = null;
    try {
      req.session.insert('$csrf', 'x');
    } catch (err) {
      threw = err.message;
    }
    const token = req.session.csrfToken();
    res.json({
      threw,
      keys: req.session.keys(),
      empty: req.session.isEmpty(),
      csrf: req.session.get('$csrf') ?? null,
      removed: req.session.remove('$csrf'),
      verifies: req.session.verifyCsrfToken(token),
    });
  });
  a.get('/flash/:message', (req, res) => {
    req.session.flash(Level.SUCCESS, req.params.message);
    res.redirect(303, '/flashes');
  });
  a.get('/flashes', (req, res) => {
    req.session.flashNow(Level.INFO, 'now');
    res.json(req.session.flashes());
  });
  a.get('/logout-with-flash', (req, res) => {
    req.session.destroy();
    req.session.flash(Level.INFO, 'Logged out.');
    res.redirect(303, '/');
  });
  a.get('/token', (req, res) => res.json({ token: req.session.csrfToken() }));
  a.post('/form', async (req, res) => {
    const r = await csrfForm(req, { fields: ['item'] });
    if (!r.ok) return sendRejection(req, res, r, quiet);
    res.json(r.form);
  });
  a.post('/protected', csrfProtection({ log: quiet }), (req, res) => res.json({ ok: true, body: req.body ?? null }));
  a.get('/public-cache', (req, res) => {
    res.set('Cache-Control', 'public, max-age=60, s-maxage=600');
    res.set('CDN-Cache-Control', 'max-age=600');
    res.json({ user: req.session.get('user') ?? null });
  });
  a.get('/write-head', (req, res) => {
    req.session.insert('via', 'writeHead');
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end('created');
  });
  return a;
}

function sessionCookies(r) {
  return r.setCookies.map(parseSetCookie).filter((c) => c.name === NAME || c.name.startsWith(`${NAME}.`));
}

describe('middleware', () => {
  const clock = manualClock();
  let server;
  let base;
  const codec = new SessionCodec(new Keyring([K1]), NAME, { idle: 86400, absolute: 7 * 86400 });
  before(async () => {
    server = await serve(app({ keyring: new Keyring([K1]), clock, maxIdleTimeout: 30 * 86400, maxAbsoluteLifetime: 30 * 86400 }));
    base = server.url;
  });
  after(() => server.close());

  test('a route that never touches the session sets nothing and adds no cache headers', async () => {
    const c = new Client(base);
    await c.get('/set/user/alice');
    const r = await c.get('/untouched');
    assert.deepStrictEqual(r.setCookies, []);
    assert.equal(r.headers.get('vary'), null);
    assert.equal(r.headers.get('cache-control'), null);
  });

  test('a change sets the cookie with the Rust attributes, private and Vary: Cookie', async () => {
    const c = new Client(base);
    const r = await c.get('/set/user/alice');
    assert.equal(r.setCookies.length, 1);
    assert.match(r.setCookies[0], /^__Host-session=[A-Za-z0-9_-]+; Max-Age=86400; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.equal(r.headers.get('cache-control'), 'private');
    assert.equal(r.headers.get('vary'), 'Cookie');
    const opened = codec.open(c.jar.get(NAME), clock());
    assert.ok(opened.ok);
    assert.equal(opened.version, 2);
    assert.equal(opened.data.get('user'), 'alice');
    assert.equal(opened.meta.checkedAt, BigInt(clock()), 'a new session counts as checked at creation');
  });

  test('reading a fresh session sets nothing but is private; renewal past half the idle window', async () => {
    const c = new Client(base);
    await c.get('/set/user/bob');
    const created = codec.open(c.jar.get(NAME), clock()).meta.createdAt;
    let r = await c.get('/get/user');
    assert.deepStrictEqual(r.json(), { value: 'bob' });
    assert.deepStrictEqual(r.setCookies, []);
    assert.equal(r.headers.get('cache-control'), 'private');
    clock.advance(43200); // exactly half left: not yet
    r = await c.get('/get/user');
    assert.deepStrictEqual(r.setCookies, []);
    clock.advance(1);
    r = await c.get('/get/user');
    assert.equal(r.setCookies.length, 1, 'renewed');
    const renewed = codec.open(c.jar.get(NAME), clock());
    assert.equal(renewed.meta.createdAt, created, 'creation time kept');
    assert.equal(renewed.meta.expiresAt, BigInt(clock() + 86400));
  });

  test('an equal value is no change', async () => {
    const c = new Client(base);
    await c.get('/set/user/carol');
    const r = await c.get('/set/user/carol');
    assert.deepStrictEqual(r.setCookies, []);
  });

  test('emptying or destroying expires the cookie; without a cookie there is nothing to expire', async () => {
    const c = new Client(base);
    await c.get('/set/user/dave');
    let r = await c.get('/remove/user');
    assert.deepStrictEqual(r.setCookies, [`${NAME}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`]);
    await c.get('/set/user/dave');
    r = await c.get('/destroy');
    assert.equal(sessionCookies(r)[0].attrs['max-age'], '0');
    assert.equal(c.jar.size, 0);
    r = await c.get('/destroy');
    assert.deepStrictEqual(r.setCookies, []);
  });

  test('a 5xx saves nothing, but a destroy still expires the cookie', async () => {
    const c = new Client(base);
    await c.get('/set/user/erin');
    let r = await c.get('/fail-after-change');
    assert.equal(r.status, 500);
    assert.deepStrictEqual(r.setCookies, []);
    r = await c.get('/fail-after-destroy');
    assert.equal(r.status, 503);
    assert.equal(sessionCookies(r)[0].attrs['max-age'], '0');
  });

  test('a large session is chunked, read back, and its stale chunk expired when it shrinks', async () => {
    const c = new Client(base);
    let r = await c.get('/big/3500');
    const set = sessionCookies(r);
    assert.deepStrictEqual(set.map((x) => x.name), [NAME, `${NAME}.1`]);
    assert.match(set[0].value, /^2\./);
    for (const x of set) assert.ok(x.name.length + 1 + x.value.length <= 4096);
    r = await c.get('/get/blob');
    assert.equal(typeof r.json().value, 'string');
    r = await c.get('/remove/blob');
    r = await c.get('/set/user/small');
    r = await c.get('/big/10');
    const names = r.setCookies.map(parseSetCookie);
    assert.ok(names.length <= 1 || names[1].attrs['max-age'] === '0');
  });

  test('a stale chunk is expired when a smaller session is written', async () => {
    const c = new Client(base);
    await c.get('/big/3500');
    assert.ok(c.jar.has(`${NAME}.1`));
    const r = await c.get('/set/blob/tiny');
    assert.deepStrictEqual(
      r.setCookies.map(parseSetCookie).map((x) => [x.name, x.attrs['max-age']]),
      [[NAME, '86400'], [`${NAME}.1`, '0']],
    );
  });

  test('a change over the cookie cap answers an empty 500 and sets nothing', async () => {
    const c = new Client(base);
    await c.get('/set/user/frank');
    const r = await c.get('/big/6000');
    assert.equal(r.status, 500);
    assert.equal(r.text, '');
    assert.deepStrictEqual(r.setCookies, []);
    assert.equal((await c.get('/get/user')).json().value, 'frank', 'the old cookie still works');
  });

  test('writeHead with a status and headers goes through the same hook', async () => {
    const c = new Client(base);
    const r = await c.get('/write-head');
    assert.equal(r.status, 201);
    assert.equal(r.text, 'created');
    assert.equal(sessionCookies(r).length, 1);
    assert.equal(r.headers.get('cache-control'), 'private');
  });

  test('identity: the id is stable, regenerate gives a new one, login time and own lifetime are sealed', async () => {
    const c = new Client(base);
    await c.get('/set/cart/x');
    const first = (await c.get('/id')).json().id;
    assert.match(first, /^[0-9a-f]{32}$/);
    assert.equal((await c.get('/id')).json().id, first);
    let r = await c.get('/login/alice?remember=1');
    assert.notEqual(r.json().id, first);
    const remembered = sessionCookies(r)[0];
    assert.equal(remembered.attrs['max-age'], String(30 * 86400), 'persistent: Max-Age of the own lifetime');
    const opened = new SessionCodec(new Keyring([K1]), NAME, { idle: 86400, maxIdle: 30 * 86400, absolute: 7 * 86400, maxAbsolute: 30 * 86400 }).open(
      c.jar.get(NAME),
      clock(),
    );
    assert.ok(opened.ok);
    assert.deepStrictEqual({ ...opened.meta.lifetime }, { idle: 30 * 86400, absolute: 30 * 86400, persistent: true });
    assert.equal(opened.meta.authenticatedAt, BigInt(clock()));
    assert.equal(opened.data.get('cart'), undefined, 'nothing survives regenerate');
    r = await c.get('/me');
    assert.deepStrictEqual(r.json().lifetime, { idle: 2592000, absolute: 2592000, persistent: true });
    assert.equal(r.json().authenticatedAt, clock());
    r = await c.get('/login/bob');
    assert.equal(sessionCookies(r)[0].attrs['max-age'], undefined, 'browser session: no Max-Age');
  });

  test('reserved keys are kept and hidden', async () => {
    const c = new Client(base);
    const r = await c.get('/reserved');
    assert.deepStrictEqual(r.json(), {
      threw: 'session key "$csrf" is reserved for the crate (CSRF token, flash messages)',
      keys: [],
      empty: true,
      csrf: null,
      removed: false,
      verifies: true,
    });
    assert.equal(sessionCookies(r).length, 1, 'a session holding only a CSRF secret is still sealed');
    assert.match(codec.open(c.jar.get(NAME), clock()).data.getRaw('$csrf'), /^"[A-Za-z0-9_-]{43}"$/);
  });

  test('flash: shown by the next request that uses the session, then gone; survives destroy', async () => {
    const c = new Client(base);
    await c.get('/set/user/gina');
    let r = await c.get('/flash/Item%20added.');
    assert.equal(r.status, 303);
    r = await c.get('/flashes');
    assert.deepStrictEqual(r.json(), [
      { level: 'success', message: 'Item added.' },
      { level: 'info', message: 'now' },
    ]);
    assert.equal(sessionCookies(r).length, 1, 're-sealed without the message');
    assert.equal(codec.open(c.jar.get(NAME), clock()).data.has('$flash'), false);
    r = await c.get('/flashes');
    assert.deepStrictEqual(r.json(), [{ level: 'info', message: 'now' }]);
    r = await c.get('/logout-with-flash');
    r = await c.get('/flashes');
    assert.deepStrictEqual(r.json()[0], { level: 'info', message: 'Logged out.' });
    assert.equal(sessionCookies(r)[0].attrs['max-age'], '0', 'a cookie holding only the message is expired once read');
  });

  test('CSRF: the form extractor and the protecting middleware', async () => {
    const c = new Client(base);
    const { token } = (await c.get('/token')).json();
    let r = await c.post('/form', { item: 'apple', csrf_token: token });
    assert.deepStrictEqual(r.json(), { item: 'apple', csrf_token: token });
    r = await c.post('/form', { item: 'apple' });
    assert.equal(r.status, 403);
    assert.equal(r.text, 'request refused: no CSRF token in the header or the form');
    r = await c.post('/form', { item: 'apple', csrf_token: `${token.slice(0, -1)}A` === token ? token.replace(/^./, 'B') : `${token.slice(0, -1)}A` });
    assert.equal(r.text, "request refused: the CSRF token is not this session's");
    r = await c.post('/form', { item: 'apple', csrf_token: token }, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.text, 'request refused: the browser says the request comes from another site or origin (Sec-Fetch-Site)');
    r = await c.post('/form', { item: 'a', csrf_token: token }, { headers: { origin: 'http://evil.example' } });
    assert.equal(r.status, 403);
    r = await c.post('/form', { item: 'a' }, { headers: { 'x-csrf-token': token } });
    assert.equal(r.status, 200, 'the header carries the token too');
    r = await c.request('POST', '/form', { form: { item: 'a', item2: 'b' }, headers: { 'x-csrf-token': token } });
    r = await c.request('POST', '/form', { headers: { 'x-csrf-token': token, 'content-type': 'application/json' } });
    assert.equal(r.status, 415);
    r = await fetch(`${base}/form`, {
      method: 'POST',
      headers: { cookie: c.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: `item=a&item=b&csrf_token=${token}`,
    });
    assert.equal(r.status, 422);
    const anonymous = new Client(base);
    r = await anonymous.post('/form', { item: 'x', csrf_token: token });
    assert.equal(r.text, 'request refused: the request has no session with a CSRF token (expired, logged out, or no cookie sent)');
    r = await c.post('/protected', { item: 'pear', csrf_token: token });
    assert.deepStrictEqual(r.json(), { ok: true, body: { item: 'pear', csrf_token: token } });
    r = await c.post('/protected', { item: 'pear' });
    assert.equal(r.status, 403);
  });

  test("a handler's public caching is made private on a personal response", async () => {
    const c = new Client(base);
    await c.get('/set/user/hal');
    const r = await c.get('/public-cache');
    assert.equal(r.headers.get('cache-control'), 'private, max-age=60');
    assert.equal(r.headers.get('cdn-cache-control'), null);
    const anon = await new Client(base).get('/public-cache');
    assert.equal(anon.headers.get('cache-control'), 'public, max-age=60, s-maxage=600', 'an anonymous read is not personal');
    assert.equal(anon.headers.get('vary'), 'Cookie');
  });

  test('two cookies of the session name: neither is used', async () => {
    const c = new Client(base);
    await c.get('/set/user/ivan');
    const value = c.jar.get(NAME);
    const r = await c.get('/get/user', { cookie: `${NAME}=${value}; ${NAME}=${value}` });
    assert.deepStrictEqual(r.json(), { value: null });
  });

  test('a v1 cookie opens and is re-sealed as v2 with its derived id and creation time', async () => {
    const nonce = randomBytes(24);
    const created = clock() - 100;
    const v1 = sealV1ForVectors(K1, NAME, nonce, created, clock() + 3600, Buffer.from('{"user":"legacy"}'));
    const c = new Client(base);
    c.jar.set(NAME, v1);
    const r = await c.get('/id');
    assert.deepStrictEqual(r.json(), { id: v1SessionId(nonce), keys: ['user'], created });
    assert.equal(sessionCookies(r).length, 1, 're-sealed');
    const opened = codec.open(c.jar.get(NAME), clock());
    assert.equal(opened.version, 2);
    assert.equal(opened.meta.id, v1SessionId(nonce));
    assert.equal(opened.meta.createdAt, BigInt(created));
  });
});

describe('key rotation', () => {
  test('a session sealed with an old key opens and is re-sealed with the primary', async () => {
    const clock = manualClock();
    const old = await serve(app({ keyring: new Keyring([K1]), clock }));
    const rotated = await serve(app({ keyring: new Keyring([K2, K1]), clock }));
    try {
      const c = new Client(old.url);
      await c.get('/set/user/jo');
      c.base = rotated.url;
      const r = await c.get('/get/user');
      assert.deepStrictEqual(r.json(), { value: 'jo' });
      assert.equal(sessionCookies(r).length, 1, 're-sealed');
      assert.deepStrictEqual(Buffer.from(c.jar.get(NAME), 'base64url').subarray(1, 5), K2.id);
      const again = await c.get('/get/user');
      assert.deepStrictEqual(again.setCookies, [], 'then nothing');
    } finally {
      await old.close();
      await rotated.close();
    }
  });
});

describe('revocation check and not-before', () => {
  test('checked once per interval; a revoked session is anonymous and its cookie expired', async () => {
    const clock = manualClock();
    const revoked = new Set();
    let calls = 0;
    const server = await serve(
      app({
        keyring: new Keyring([K1]),
        clock,
        revalidate: {
          every: 10,
          check: async (snapshot) => {
            calls += 1;
            return revoked.has(snapshot.get('user')) ? 'revoked' : 'valid';
          },
        },
      }),
    );
    try {
      const c = new Client(server.url);
      await c.get('/set/user/kim');
      assert.equal(calls, 0, 'a new session counts as checked');
      await c.get('/get/user');
      assert.equal(calls, 0);
      clock.advance(10);
      let r = await c.get('/untouched');
      assert.equal(calls, 1);
      assert.equal(sessionCookies(r).length, 1, 'the pass is recorded in the cookie');
      await c.get('/get/user');
      assert.equal(calls, 1);
      revoked.add('kim');
      clock.advance(10);
      r = await c.get('/get/user');
      assert.deepStrictEqual(r.json(), { value: null });
      assert.equal(sessionCookies(r)[0].attrs['max-age'], '0');
    } finally {
      await server.close();
    }
  });

  test('a failing check is forgiven within the grace, then the request is anonymous', async () => {
    const clock = manualClock();
    let failing = false;
    const server = await serve(
      app({
        keyring: new Keyring([K1]),
        clock,
        revalidate: {
          every: 10,
          grace: 5,
          check: async () => {
            if (failing) throw new Error('database down');
            return 'valid';
          },
        },
      }),
    );
    try {
      const c = new Client(server.url);
      await c.get('/set/user/lee');
      failing = true;
      clock.advance(12);
      assert.deepStrictEqual((await c.get('/get/user')).json(), { value: 'lee' }, 'within the grace');
      clock.advance(5);
      const r = await c.get('/get/user');
      assert.deepStrictEqual(r.json(), { value: null }, 'past the grace');
      assert.deepStrictEqual(r.setCookies, [], 'the cookie is kept');
      failing = false;
      assert.deepStrictEqual((await c.get('/get/user')).json(), { value: 'lee' });
    } finally {
      await server.close();
    }
  });

  test('sessions created before not-before are refused and their cookie expired', async () => {
    const clock = manualClock();
    const first = await serve(app({ keyring: new Keyring([K1]), clock }));
    const c = new Client(first.url);
    await c.get('/set/user/max');
    await first.close();
    clock.advance(100);
    const later = await serve(app({ keyring: new Keyring([K1]), clock, notBefore: clock() - 50 }));
    try {
      c.base = later.url;
      const r = await c.get('/get/user');
      assert.deepStrictEqual(r.json(), { value: null });
      assert.equal(sessionCookies(r)[0].attrs['max-age'], '0');
    } finally {
      await later.close();
    }
  });
});

describe('configuration', () => {
  const ring = new Keyring([K1]);
  test('invalid settings are refused with the Rust messages', async () => {
    const { sessionConfig } = await import('../src/express.js');
    const rows = [
      [{ cookieName: '__Host-x', path: '/app' }, 'cookie name: a __Host- cookie requires Path=/'],
      [{ secure: false, cookieName: '__Secure-x' }, 'cookie name: a __Secure- cookie requires Secure; remove insecure_allow_http()'],
      [{ sameSite: 'None', secure: false }, 'SameSite: SameSite=None requires Secure (browsers drop the cookie otherwise)'],
      [{ idleTimeout: 0 }, 'idle timeout: must be at least one second'],
      [{ renewWhenRemaining: 2 }, 'renewal fraction: must be between 0.0 and 1.0'],
      [{ maxCookieBytes: 100 }, 'max cookie bytes: must be between 256 and 260992 (64 cookies)'],
      [{ maxIdleTimeout: 10 }, 'max idle timeout: must be at least the idle timeout (it caps what a session may choose)'],
      [{ notBefore: 4_000_000_000 }, 'not before: is in the future (beyond the clock leeway): every session, even a new login, would be refused until then'],
    ];
    for (const [options, message] of rows) {
      assert.throws(() => sessionConfig({ keyring: ring, ...options }), { message }, message);
    }
    assert.equal(sessionConfig({ keyring: ring, secure: false }).cookie.name, 'session');
    assert.equal(sessionConfig({ keyring: ring, path: '/app' }).cookie.name, '__Secure-session');
    assert.equal(sessionConfig({ keyring: ring }).readChunks, 22);
  });
});
