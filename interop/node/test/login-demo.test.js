// The Express login demo (examples/login.js) as a process, over HTTP: the
// contract of the Rust demo (examples/login/main.rs). Its SQLite file is
// made here with sql.js (as the Rust demo lays it out); the WAL reader is
// also checked against a file held open in WAL mode by the sqlite3 command,
// when that command exists.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { generateKeyBase64 } from '../index.js';
import { Users } from '../examples/users.js';
import { Client } from '../testing/http.js';

const require = createRequire(import.meta.url);
const DEMO = fileURLToPath(new URL('../examples/login.js', import.meta.url));
const NAME = '__Host-session';

async function makeDatabase(file) {
  const SQL = await require('sql.js')({ locateFile: (f) => require.resolve(`sql.js/dist/${f}`) });
  const db = new SQL.Database();
  db.run(`CREATE TABLE IF NOT EXISTS users (
            name  TEXT PRIMARY KEY,
            role  TEXT NOT NULL,
            epoch INTEGER NOT NULL DEFAULT 0)`);
  db.run("INSERT INTO users (name, role) VALUES ('user1', 'user'), ('admin', 'admin')");
  writeFileSync(file, Buffer.from(db.export()));
  db.close();
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startDemo(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [DEMO], {
    env: { PATH: process.env.PATH, PORT: String(port), INSTANCE: 'node-test', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`demo exited: ${stderr}`);
    if (stderr.includes('listening on')) break;
    if (Date.now() > deadline) throw new Error(`demo did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, child, stderr: () => stderr };
}

const csrfOf = (html) => /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];

async function login(c, username, password, remember) {
  const page = await c.get('/login');
  const form = { username, password, csrf_token: csrfOf(page.text) };
  if (remember) form.remember = 'on';
  return c.post('/login', form);
}

const hasSqlite3 = (() => {
  try {
    execFileSync(process.env.SQLITE3_BIN ?? 'sqlite3', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('the Express login demo', () => {
  let dir;
  let demo;
  let database;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cs-demo-'));
    database = path.join(dir, 'users.sqlite3');
    await makeDatabase(database);
    demo = await startDemo({ SESSION_KEYS: generateKeyBase64(), DATABASE_PATH: database, SESSION_CHECK_INTERVAL: '1' });
  });
  after(() => {
    demo?.child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('anonymous: login form with a CSRF token, 401 JSON, 404, 405', async () => {
    const c = new Client(demo.url);
    const r = await c.get('/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-instance'), 'node-test');
    assert.match(r.text, /<h1>Log in<\/h1>/);
    assert.equal(csrfOf(r.text).length, 86);
    assert.match(r.text, /<meta name="csrf-token" content="[A-Za-z0-9_-]{86}">/);
    assert.ok(c.jar.has(NAME), 'the form token starts a session');
    assert.equal(r.headers.get('cache-control'), 'private');
    assert.deepStrictEqual((await c.get('/me')).json(), { error: 'not logged in' });
    assert.equal((await c.get('/cart')).status, 401);
    assert.equal((await c.get('/admin')).status, 401);
    assert.equal((await c.get('/nowhere')).status, 404);
    const m = await c.get('/logout');
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
  });

  test('login: CSRF required, wrong password 401 with the flash, then me, cart, admin, logout', async () => {
    const c = new Client(demo.url);
    await c.get('/login');
    let r = await c.post('/login', { username: 'user1', password: 'mypassword' });
    assert.equal(r.status, 403);
    assert.equal(r.text, 'request refused: no CSRF token in the header or the form');
    r = await login(c, 'user1', 'nope');
    assert.equal(r.status, 401);
    assert.match(r.text, /<p class="flash error" role="alert">Unknown user name or wrong password.<\/p>/);
    r = await login(c, 'user1', 'mypassword', true);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/');
    const me = (await c.get('/me')).json();
    assert.deepStrictEqual(Object.keys(me), ['authenticated_at', 'id', 'remembered', 'role', 'user']);
    assert.equal(me.user, 'user1');
    assert.equal(me.role, 'user');
    assert.equal(me.remembered, true);
    assert.match(me.id, /^[0-9a-f]{32}$/);
    assert.deepStrictEqual((await c.get('/cart')).json(), []);
    const home = await c.get('/');
    assert.match(home.text, /<h1>Welcome, user1<\/h1>/);
    r = await c.post('/cart', { item: 'apple <b>', csrf_token: csrfOf(home.text) });
    assert.equal(r.status, 303);
    r = await c.get('/');
    assert.match(r.text, /<p class="flash success" role="status">Item added.<\/p>/);
    assert.match(r.text, /<li>apple &lt;b&gt;<\/li>/);
    assert.deepStrictEqual((await c.get('/cart')).json(), ['apple <b>']);
    r = await c.post('/cart', { item: '', csrf_token: csrfOf(r.text) });
    assert.equal(r.status, 400);
    assert.deepStrictEqual(r.json(), { error: 'item must be 1 to 200 characters' });
    assert.deepStrictEqual((await c.get('/admin')).json(), { error: 'admins only' });
    r = await c.post('/cart', { item: 'pear' }, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.status, 403);
    r = await c.post('/logout', { csrf_token: csrfOf((await c.get('/')).text) });
    assert.equal(r.status, 303);
    r = await c.get('/');
    assert.match(r.text, /<p class="flash info" role="status">Logged out.<\/p>/);
    assert.equal((await c.get('/me')).status, 401);
  });

  test('admin sees the admin area; a browser-session login has no Max-Age', async () => {
    const c = new Client(demo.url);
    const r = await login(c, 'admin', 'adminpassword');
    const cookie = r.setCookies.find((x) => x.startsWith(`${NAME}=`));
    assert.ok(!/Max-Age/.test(cookie));
    assert.match((await c.get('/admin')).text, /<h1>Admin area<\/h1><p>Hello, admin.<\/p>/);
    assert.equal((await c.get('/me')).json().remembered, false);
  });

  test('log out everywhere revokes the other sessions of the user', { skip: !hasSqlite3 && 'no sqlite3 command' }, async () => {
    const a = new Client(demo.url);
    const b = new Client(demo.url);
    await login(a, 'user1', 'mypassword');
    await login(b, 'user1', 'mypassword');
    const r = await a.post('/logout-everywhere', { csrf_token: csrfOf((await a.get('/')).text) });
    assert.equal(r.status, 303);
    assert.match((await a.get('/')).text, /Logged out everywhere\./);
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal((await b.get('/me')).status, 401, 'the other session is revoked at its next check');
  });
});

describe('reading a database in WAL mode', { skip: !hasSqlite3 && 'no sqlite3 command' }, () => {
  test('committed writes still in the WAL are seen; uncommitted ones are not', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cs-wal-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'users.sqlite3');
    // A writer that keeps its connection (and so its WAL) open.
    const writer = spawn(process.env.SQLITE3_BIN ?? 'sqlite3', [file], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => writer.kill());
    let out = '';
    writer.stdout.on('data', (d) => {
      out += d;
    });
    const run = async (sql) => {
      const mark = `done-${Math.random()}`;
      writer.stdin.write(`${sql}\nSELECT '${mark}';\n`);
      while (!out.includes(mark)) await new Promise((r) => setTimeout(r, 10));
    };
    await run(`PRAGMA journal_mode=WAL;
      CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, epoch INTEGER NOT NULL DEFAULT 0);
      INSERT INTO users (name, role) VALUES ('user1', 'user'), ('admin', 'admin');`);
    const users = await Users.open(file);
    assert.deepStrictEqual(users.find('user1'), { name: 'user1', role: 'user', epoch: 0 });
    await run("UPDATE users SET epoch = epoch + 1 WHERE name = 'user1';");
    assert.equal(users.find('user1').epoch, 1, 'a commit in the WAL');
    await run("BEGIN; UPDATE users SET epoch = 99 WHERE name = 'admin';");
    assert.equal(users.find('admin').epoch, 0, 'not committed yet');
    await run('COMMIT;');
    assert.equal(users.find('admin').epoch, 99);
    await run('PRAGMA wal_checkpoint(TRUNCATE);');
    await run("UPDATE users SET epoch = 2 WHERE name = 'user1';");
    assert.equal(users.find('user1').epoch, 2, 'after a checkpoint and a WAL restart');
    await users.bumpEpoch('user1');
    assert.equal(users.find('user1').epoch, 3, 'bumped through the sqlite3 command, with the writer open');
  });
});
