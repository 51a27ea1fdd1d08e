// The login demo's users and epochs, read from the SQLite file the Rust demo
// (examples/login/users.rs) creates and writes: same accounts, same table,
// same epochs. Node 20 has no node:sqlite, so the file is read with sql.js
// (SQLite compiled to WebAssembly), READ-ONLY: the bytes of the database
// file and of its write-ahead log are read here, the committed WAL frames
// applied (the Rust demo runs the file in WAL mode, so recent writes — an
// epoch moved by "log out everywhere" — live in `<file>-wal` until a
// checkpoint), and the image is loaded into an in-memory sql.js database.
// It is loaded again whenever the file or its WAL changes.
//
// Writing (the epoch bump of /logout-everywhere) cannot be done safely from
// sql.js: it takes none of SQLite's file locks. When the `sqlite3` command
// (SQLITE3_BIN, or on PATH) is there, the bump is left to it, which locks
// like any SQLite client; otherwise the bump answers "unavailable" (503),
// as the Rust demo does when its database fails.

import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The demo's accounts: name, password, role — compared in memory, as the
 * Rust demo does (the demo is about sessions, not password storage).
 */
export const ACCOUNTS = Object.freeze([
  ['user1', 'mypassword', 'user'],
  ['admin', 'adminpassword', 'admin'],
]);

/** DATABASE_PATH, or the Rust demo's default file in the temp directory. */
export function defaultPath(env = process.env) {
  return env.DATABASE_PATH ?? path.join(os.tmpdir(), 'client-session-login-demo.sqlite3');
}

export class Unavailable extends Error {
  constructor(message) {
    super(message);
    this.name = 'Unavailable';
  }
}

// ---------------------------------------------------------------------------
// The write-ahead log (https://www.sqlite.org/fileformat2.html#walformat)

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** SQLite's WAL checksum over `bytes` (a multiple of 8), continuing from `[s0, s1]`. */
function walChecksum(bytes, bigEndian, s0, s1) {
  for (let i = 0; i < bytes.length; i += 8) {
    const x0 = bigEndian ? bytes.readUInt32BE(i) : bytes.readUInt32LE(i);
    const x1 = bigEndian ? bytes.readUInt32BE(i + 4) : bytes.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/**
 * The committed pages of a WAL: `{pageSize, pages: Map<pageNo, Buffer>,
 * dbPages}` (dbPages: the database size after the last commit), or null
 * when the WAL is absent, empty or has no valid commit.
 */
export function committedFrames(wal) {
  if (!wal || wal.length < WAL_HEADER) return null;
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return null;
  const bigEndian = (magic & 1) === 1;
  const pageSize = wal.readUInt32BE(8) === 1 ? 65536 : wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let [s0, s1] = walChecksum(wal.subarray(0, 24), bigEndian, 0, 0);
  if (s0 !== wal.readUInt32BE(24) || s1 !== wal.readUInt32BE(28)) return null;
  const pages = new Map();
  let pending = new Map();
  let dbPages = null;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    const header = wal.subarray(at, at + FRAME_HEADER);
    if (header.readUInt32BE(8) !== salt1 || header.readUInt32BE(12) !== salt2) break;
    const page = wal.subarray(at + FRAME_HEADER, at + FRAME_HEADER + pageSize);
    [s0, s1] = walChecksum(header.subarray(0, 8), bigEndian, s0, s1);
    [s0, s1] = walChecksum(page, bigEndian, s0, s1);
    if (s0 !== header.readUInt32BE(16) || s1 !== header.readUInt32BE(20)) break;
    pending.set(header.readUInt32BE(0), page);
    const commitSize = header.readUInt32BE(4);
    if (commitSize !== 0) {
      for (const [n, p] of pending) pages.set(n, p);
      pending = new Map();
      dbPages = commitSize;
    }
  }
  return dbPages === null ? null : { pageSize, pages, dbPages };
}

/** The database image: the file with the WAL's committed pages applied, as a rollback-journal database. */
export function databaseImage(db, wal) {
  const frames = committedFrames(wal);
  let image = Buffer.from(db);
  if (frames) {
    const size = frames.dbPages * frames.pageSize;
    const grown = Buffer.alloc(size);
    image.copy(grown, 0, 0, Math.min(image.length, size));
    image = grown;
    for (const [n, page] of frames.pages) {
      if (n >= 1 && n <= frames.dbPages) page.copy(image, (n - 1) * frames.pageSize);
    }
  }
  // Bytes 18-19: file format write/read version, 2 = WAL. The image is
  // complete on its own: open it as a rollback-journal database.
  if (image.length >= 100 && image[18] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  return image;
}

function readOrNull(file) {
  try {
    return readFileSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

function stamp(file) {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'none';
  }
}

// ---------------------------------------------------------------------------

/** The users table, read from the shared SQLite file. */
export class Users {
  #SQL;
  #db = null;
  #stamp = null;

  constructor(SQL, file, { sqlite3 = process.env.SQLITE3_BIN ?? 'sqlite3' } = {}) {
    this.#SQL = SQL;
    this.file = file;
    this.sqlite3 = sqlite3;
  }

  /** Loads sql.js (its WebAssembly comes with the npm package: no download). */
  static async open(file) {
    const initSqlJs = require('sql.js');
    const SQL = await initSqlJs({ locateFile: (name) => require.resolve(`sql.js/dist/${name}`) });
    const users = new Users(SQL, file);
    try {
      users.#refresh();
    } catch {
      // Not there yet (the Rust demo creates it): read on first use.
    }
    return users;
  }

  /** Reads the file again if it or its WAL changed. A consistent snapshot: the WAL must be the same before and after the file. */
  #refresh() {
    const now = `${stamp(this.file)}|${stamp(`${this.file}-wal`)}`;
    if (this.#db && now === this.#stamp) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const walBefore = readOrNull(`${this.file}-wal`);
      const db = readOrNull(this.file);
      const walAfter = readOrNull(`${this.file}-wal`);
      if (db === null) throw new Unavailable(`no database at ${this.file}`);
      const same = walBefore === null ? walAfter === null : walAfter !== null && walBefore.equals(walAfter);
      if (!same) continue;
      let loaded;
      try {
        loaded = new this.#SQL.Database(databaseImage(db, walBefore));
        loaded.exec('SELECT count(*) FROM users');
      } catch (err) {
        if (loaded) loaded.close();
        if (attempt === 4) throw new Unavailable(`cannot read ${this.file}: ${err.message}`);
        continue;
      }
      if (this.#db) this.#db.close();
      this.#db = loaded;
      this.#stamp = now;
      return;
    }
    throw new Unavailable(`the database ${this.file} kept changing while read`);
  }

  /** The user named `name` ({name, role, epoch}), or null. Throws Unavailable. */
  find(name) {
    this.#refresh();
    const stmt = this.#db.prepare('SELECT name, role, epoch FROM users WHERE name = ?');
    try {
      stmt.bind([name]);
      if (!stmt.step()) return null;
      const [n, role, epoch] = stmt.get();
      return { name: n, role, epoch: Number(epoch) };
    } finally {
      stmt.free();
    }
  }

  /** The user whose password is `password`, if any (as the Rust demo). */
  authenticate(name, password) {
    const known = ACCOUNTS.some(([n, p]) => n === name && p === password);
    return known ? this.find(name) : null;
  }

  /** Ends every session of `name`: its epoch moves on (through the sqlite3 command). */
  bumpEpoch(name) {
    const quoted = `'${String(name).replaceAll("'", "''")}'`;
    return new Promise((resolve, reject) => {
      execFile(
        this.sqlite3,
        ['-bail', '-cmd', '.timeout 5000', this.file, `UPDATE users SET epoch = epoch + 1 WHERE name = ${quoted};`],
        { timeout: 10_000 },
        (err, _stdout, stderr) => {
          if (err) {
            reject(
              new Unavailable(
                err.code === 'ENOENT'
                  ? 'this instance reads the user database read-only (no sqlite3 command to write it)'
                  : `sqlite3 failed: ${String(stderr).trim() || err.message}`,
              ),
            );
          } else {
            resolve();
          }
        },
      );
    });
  }
}
