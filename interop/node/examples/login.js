// The login demo of the Rust crate (examples/login/main.rs), in Express:
// the same routes, pages, JSON, cookies, CSRF tokens and flash messages,
// sharing sessions with the Rust demo when both use one key ring, and the
// same SQLite file of users and epochs (read here with sql.js: see users.js).
//
//   node examples/login.js            then open http://localhost:3000
//
// Log in as user1 / mypassword (role user) or admin / adminpassword (role
// admin), fill a cart, log out. "Remember me" (remember=on) gives a 30-day
// persistent session, otherwise a browser-session cookie ended after 30
// idle minutes (and a day at most). "Log out everywhere" moves the user's
// epoch, and every other session of that user — on Rust or Node instances —
// is anonymous within the check interval.
//
// Environment (as the Rust demo):
//   SESSION_KEYS / SESSION_KEYS_FILE   the key ring (a key file is followed)
//   SESSION_NOT_BEFORE                 sessions created before it are refused
//   SESSION_CHECK_INTERVAL             seconds between revocation checks (10)
//   DATABASE_PATH                      the SQLite file the Rust demo creates
//   PORT (3000), BIND (127.0.0.1)      where to listen
//   INSTANCE (the port)                sent as X-Instance on every response
//   SQLITE3_BIN (sqlite3)              the command that bumps an epoch

import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import express from 'express';

import { ConfigError, Key, KeySource, Keyring } from '../index.js';
import { Level, Lifetime, beforeHeaders, csrfForm, notBeforeFromEnv, sendRejection, sessions } from '../src/express.js';
import { Unavailable, Users, defaultPath } from './users.js';

const MAX_ITEM_CHARS = 200;
const DAY = 86_400;
const REMEMBERED = 30 * DAY;
const BROWSER_SESSION_IDLE = 30 * 60;
const DEFAULT_CHECK_INTERVAL = 10;

const log = {
  debug() {},
  info: (m) => console.error(`info: ${m}`),
  warn: (m) => console.error(`warn: ${m}`),
  error: (m) => console.error(`error: ${m}`),
};

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

export async function main(env = process.env) {
  const port = Number.parseInt(env.PORT ?? '3000', 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT=${JSON.stringify(env.PORT)} is not a port number`);
  const bind = env.BIND ?? '127.0.0.1';
  const instance = env.INSTANCE ?? String(port);

  let keyring;
  try {
    keyring = new KeySource().watch({ env, log });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (err.kind !== 'keys_not_set') fail(err.message);
    console.error(
      'warning: SESSION_KEYS is not set; using a random key for this process only. ' +
        'Sessions will not survive a restart nor be shared between instances. ' +
        'Make a key with `cargo run --example keygen`.',
    );
    keyring = Keyring.single(Key.generate());
  }
  let checkInterval = DEFAULT_CHECK_INTERVAL;
  if (env.SESSION_CHECK_INTERVAL !== undefined) {
    const text = env.SESSION_CHECK_INTERVAL.trim();
    checkInterval = /^[0-9]+$/.test(text) ? Number(text) : 0;
    if (!(checkInterval > 0)) fail('SESSION_CHECK_INTERVAL must be a whole number of seconds, at least 1');
  }
  const database = defaultPath(env);
  let users;
  try {
    users = await Users.open(database);
  } catch (err) {
    fail(`cannot open the user database ${database}: ${err.message}`);
  }

  let middleware;
  try {
    middleware = sessions({
      keyring,
      maxIdleTimeout: REMEMBERED,
      maxAbsoluteLifetime: REMEMBERED,
      log,
      revalidate: {
        every: checkInterval,
        check: async (session) => {
          // Anonymous sessions have nothing to revoke.
          const name = session.get('user');
          if (typeof name !== 'string') return 'valid';
          const epoch = session.get('epoch');
          const found = users.find(name); // throws Unavailable: the grace rule applies
          return found && found.epoch === epoch ? 'valid' : 'revoked';
        },
      },
      ...notBeforeFromEnv(env),
    });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  const app = buildApp(middleware, users, instance);
  const server = http.createServer(app);
  server.listen(port, bind, () => {
    const { address, port: bound } = server.address();
    console.error(`listening on http://${address.includes(':') ? `[${address}]` : address}:${bound}`);
  });
  server.on('error', (err) => {
    console.error(`error: cannot listen on ${bind}:${port}: ${err.message}`);
    process.exit(1);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

export function buildApp(middleware, users, instance) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Instance on every response, set after the session layer's own headers
  // (as the Rust demo's outer map_response).
  app.use((req, res, next) => {
    beforeHeaders(res, () => res.setHeader('X-Instance', instance));
    next();
  });
  app.use(middleware);

  const routes = {
    '/': { GET: home },
    '/login': { GET: loginPage, POST: (req, res) => login(req, res, users) },
    '/logout': { POST: logout },
    '/logout-everywhere': { POST: (req, res) => logoutEverywhere(req, res, users) },
    '/me': { GET: me },
    '/cart': { GET: cart, POST: addToCart },
    '/admin': { GET: admin },
  };
  for (const [route, methods] of Object.entries(routes)) {
    if (methods.GET) methods.HEAD = methods.GET;
    app.all(route, (req, res, next) => {
      const handler = methods[req.method];
      if (!handler) {
        res.status(405).setHeader('Allow', ['GET', 'HEAD', 'POST'].filter((m) => methods[m]).join(','));
        return res.end();
      }
      return Promise.resolve(handler(req, res)).catch(next);
    });
  }
  app.use((req, res) => res.status(404).end());
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    console.error(`error: ${err && err.stack ? err.stack : err}`);
    if (!res.headersSent) res.status(500).end();
  });
  return app;
}

// ---------------------------------------------------------------------------
// Handlers

function currentUser(session) {
  const name = session.get('user');
  const role = session.get('role');
  return typeof name === 'string' && typeof role === 'string' ? { name, role } : null;
}

const html = (res, status, body) => res.status(status).type('html').send(body);
const json = (res, status, value) => res.status(status).type('application/json').send(JSON.stringify(value));
const redirect = (res, to) => res.status(303).location(to).end();
const notLoggedIn = (res) => json(res, 401, { error: 'not logged in' });

function unavailable(res, err) {
  console.error(`error: user database: ${err.message}`);
  return json(res, 503, { error: 'user database unavailable' });
}

function home(req, res) {
  const s = req.session;
  const user = currentUser(s);
  if (!user) return html(res, 200, page(s, loginForm(s)));
  const cartItems = stringList(s.get('cart'));
  const items = cartItems.map((item) => `<li>${escape(item)}</li>`).join('');
  const id = s.id() ?? '';
  const remembered = s.lifetime().persistent === true;
  const csrf = csrfField(s);
  return html(
    res,
    200,
    page(
      s,
      `<h1>Welcome, ${escape(user.name)}</h1>
<p>Role: ${escape(user.role)}</p>
<p>Session <code id="session-id">${id}</code>, logged in at <span id="authenticated-at">${s.authenticatedAt() ?? ''}</span> (Unix time)${remembered ? ', remembered for 30 days' : ''}.</p>
<h2>Your cart (${cartItems.length} items)</h2>
<ul id="cart">${items}</ul>
<form method="post" action="/cart">${csrf}
  <input name="item" maxlength="200" required placeholder="Item"> <button type="submit">Add to cart</button>
</form>
<form method="post" action="/logout">${csrf}<button type="submit">Log out</button></form>
<form method="post" action="/logout-everywhere">${csrf}<button type="submit">Log out everywhere</button></form>`,
    ),
  );
}

function loginPage(req, res) {
  if (currentUser(req.session)) return redirect(res, '/');
  return html(res, 200, page(req.session, loginForm(req.session)));
}

async function login(req, res, users) {
  const s = req.session;
  // Login forms need the token too (login CSRF).
  const form = await csrfForm(req, { fields: ['username', 'password', 'remember'] });
  if (!form.ok) return sendRejection(req, res, form, log);
  const { username = '', password = '', remember } = form.form;
  let user;
  try {
    user = users.authenticate(username, password);
  } catch (err) {
    if (err instanceof Unavailable) return unavailable(res, err);
    throw err;
  }
  if (!user) {
    // Shown with this response (no redirect): nothing is stored.
    s.flashNow(Level.ERROR, 'Unknown user name or wrong password.');
    const body = loginForm(s);
    return html(res, 401, page(s, body));
  }
  // A new session at login: a new id, nothing from before survives.
  s.regenerate();
  s.markAuthenticated();
  s.setLifetime(
    remember === 'on' ? Lifetime.rememberFor(REMEMBERED) : Lifetime.of({ idle: BROWSER_SESSION_IDLE, absolute: DAY, persistent: false }),
  );
  s.insert('user', user.name);
  s.insert('role', user.role);
  s.insert('epoch', user.epoch);
  s.insert('cart', []);
  return redirect(res, '/');
}

/** A post from another origin is refused before anything else. */
async function formRefusingOtherOrigins(req, res, fields = []) {
  const form = await csrfForm(req, { fields });
  if (!form.ok && form.fromAnotherOrigin) {
    sendRejection(req, res, form, log);
    return null;
  }
  return form;
}

async function logout(req, res) {
  const form = await formRefusingOtherOrigins(req, res);
  if (!form) return;
  const s = req.session;
  // Nobody to log out: nothing to forge, nothing to do.
  if (!currentUser(s)) return redirect(res, '/');
  if (!form.ok) return sendRejection(req, res, form, log);
  s.destroy();
  s.flash(Level.INFO, 'Logged out.');
  return redirect(res, '/');
}

async function logoutEverywhere(req, res, users) {
  const form = await formRefusingOtherOrigins(req, res);
  if (!form) return;
  const s = req.session;
  const user = currentUser(s);
  if (!user) return notLoggedIn(res);
  if (!form.ok) return sendRejection(req, res, form, log);
  try {
    await users.bumpEpoch(user.name);
  } catch (err) {
    if (err instanceof Unavailable) return unavailable(res, err);
    throw err;
  }
  s.destroy();
  s.flash(Level.INFO, 'Logged out everywhere.');
  return redirect(res, '/');
}

function me(req, res) {
  const s = req.session;
  const user = currentUser(s);
  if (!user) return notLoggedIn(res);
  // Keys in the Rust demo's order (serde_json sorts them).
  return json(res, 200, {
    authenticated_at: s.authenticatedAt(),
    id: s.id(),
    remembered: s.lifetime().persistent === true,
    role: user.role,
    user: user.name,
  });
}

function cart(req, res) {
  const s = req.session;
  if (!currentUser(s)) return notLoggedIn(res);
  return json(res, 200, stringList(s.get('cart')));
}

async function addToCart(req, res) {
  const form = await formRefusingOtherOrigins(req, res, ['item']);
  if (!form) return;
  const s = req.session;
  if (!currentUser(s)) return notLoggedIn(res);
  if (!form.ok) return sendRejection(req, res, form, log);
  const item = form.form.item ?? '';
  const chars = [...item].length;
  if (chars === 0 || chars > MAX_ITEM_CHARS) {
    return json(res, 400, { error: `item must be 1 to ${MAX_ITEM_CHARS} characters` });
  }
  const items = stringList(s.get('cart'));
  items.push(item);
  s.insert('cart', items);
  s.flash(Level.SUCCESS, 'Item added.');
  return redirect(res, '/');
}

function admin(req, res) {
  const s = req.session;
  const user = currentUser(s);
  if (!user) return notLoggedIn(res);
  if (user.role !== 'admin') return json(res, 403, { error: 'admins only' });
  return html(res, 200, page(s, `<h1>Admin area</h1><p>Hello, ${escape(user.name)}.</p>`));
}

// ---------------------------------------------------------------------------
// Pages (the Rust demo's markup)

/** A list of strings, as `Vec<String>` reads it (anything else: empty). */
function stringList(value) {
  return Array.isArray(value) && value.every((x) => typeof x === 'string') ? [...value] : [];
}

function loginForm(session) {
  const csrf = csrfField(session);
  return `<h1>Log in</h1>
<form method="post" action="/login">${csrf}
  <label>User name <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <label><input name="remember" type="checkbox"> Remember me for 30 days</label>
  <button type="submit">Log in</button>
</form>
<p>Try <code>user1</code> / <code>mypassword</code> or <code>admin</code> / <code>adminpassword</code>.</p>`;
}

function csrfField(session) {
  return `<input type="hidden" name="csrf_token" value="${session.csrfToken()}">`;
}

function page(session, body) {
  const flashes = session
    .flashes()
    .map(
      (f) =>
        `<p class="flash ${f.level}" role="${f.level === Level.ERROR ? 'alert' : 'status'}">${escape(f.message)}</p>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>client-session demo</title>
<meta name="csrf-token" content="${session.csrfToken()}">
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto} label{display:block;margin:.5em 0} .flash{padding:.5em;border-radius:.3em} .error{color:#b00;background:#fee} .success{background:#efe} .info{background:#eef} .warning{background:#ffe}</style>
</head><body>
<div id="flashes">${flashes}</div>
${body}
</body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
}
