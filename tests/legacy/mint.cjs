// Mints Mozilla client-sessions cookies with the real npm package (0.8.0),
// for tests/legacy_client_sessions.rs: node mint.cjs OUT.json
//
// Each case says whether the Rust reader must open it (and what it holds)
// or refuse it (and why). The cookies come from the package's own code:
// `util.encode` (what its middleware calls) and, for one case, its
// middleware itself on a node:http server.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const crypto = require("node:crypto");
const clientSessions = require("client-sessions");

const SECRET = "express-app-secret-from-the-old-deployment";
const NAME = "session_state";
const DAY = 24 * 60 * 60 * 1000;
const now = Date.now();

function encode(content, { secret = SECRET, cookieName = NAME, duration = DAY, createdAt = now, ...rest } = {}) {
  return clientSessions.util.encode({ secret, cookieName, ...rest }, content, duration, createdAt);
}

/// The same cookie with one part changed (a character flipped, or a digit for numbers).
function tamper(value, part) {
  const parts = value.split(".");
  const p = parts[part];
  const i = Math.floor(p.length / 2);
  let c = p[i];
  if (part === 2 || part === 3) c = c === "9" ? "8" : String(Number(c) + 1);
  else c = c === "A" ? "B" : "A";
  parts[part] = p.slice(0, i) + c + p.slice(i + 1);
  return parts.join(".");
}

const user1 = { user: "user1", role: "user", cart: ["apple", "pear"] };
const cases = [];
const open = (name, value, content, extra = {}) => cases.push({ name, value, expect: "open", content, ...extra });
const reject = (name, value, reason, extra = {}) => cases.push({ name, value, expect: "reject", reason, ...extra });

open("user1", encode(user1), user1);
open("admin", encode({ user: "admin", role: "admin", cart: [] }), { user: "admin", role: "admin", cart: [] });
const unicode = { user: "user1", role: "user", note: "héllo wörld – 日本語 🎉 \"quoted\" \\ </script>" };
open("unicode", encode(unicode), unicode);
const large = { user: "user1", role: "user", cart: Array.from({ length: 90 }, (_, i) => `item number ${i} with some text`) };
const largeValue = encode(large);
open("large", largeValue, large);
const nested = { user: "user1", role: "user", prefs: { theme: "dark", sizes: [1, 2.5, -3], flags: { a: true, b: null } } };
open("nested", encode(nested), nested);
open("empty object", encode({}), {});
open("expires in a minute", encode(user1, { createdAt: now - DAY + 60_000 }), user1);
reject("expired an hour ago", encode(user1, { createdAt: now - DAY - 3_600_000 }), "expired");
reject("expired: a short duration", encode(user1, { createdAt: now - 120_000, duration: 60_000 }), "expired");
const base = encode(user1);
["iv", "ciphertext", "createdAt", "duration", "mac"].forEach((field, part) => {
  reject(`tampered ${field}`, tamper(base, part), "unauthenticated");
});
reject("a part missing", base.split(".").slice(0, 4).join("."), "malformed");
reject("a part too many", base + ".AAAA", "malformed");
reject("not base64url", base.replace(/^./, "*"), "malformed");
reject("another secret", encode(user1, { secret: "another-secret-entirely-for-another-app" }), "unauthenticated");
reject("another cookie name inside", encode(user1, { cookieName: "other_state" }), "invalid_body");
open("sha256-drop128", encode(user1, { signatureAlgorithm: "sha256-drop128" }), user1, { signature: "sha256-drop128" });
reject("sha256-drop128 read as sha256", encode(user1, { signatureAlgorithm: "sha256-drop128" }), "unauthenticated");
const encKey = crypto.randomBytes(16);
const sigKey = crypto.randomBytes(64);
open("explicit keys: aes128 + sha512",
  clientSessions.util.encode({ cookieName: NAME, encryptionKey: encKey, signatureKey: sigKey, encryptionAlgorithm: "aes128", signatureAlgorithm: "sha512" }, user1, DAY, now),
  user1, { encryption_key_hex: encKey.toString("hex"), signature_key_hex: sigKey.toString("hex"), signature: "sha512" });

// One cookie set by the package's middleware, over HTTP.
function viaMiddleware() {
  const middleware = clientSessions({ cookieName: NAME, secret: SECRET, duration: DAY });
  const server = http.createServer((req, res) => {
    middleware(req, res, () => {
      req[NAME].user = "user1";
      req[NAME].role = "user";
      req[NAME].cart = ["from", "express"];
      res.end("ok");
    });
  });
  return new Promise((resolve, reject) => {
    server.listen(0, "127.0.0.1", () => {
      http.get({ host: "127.0.0.1", port: server.address().port, path: "/" }, (res) => {
        const setCookie = (res.headers["set-cookie"] || [])[0] || "";
        res.resume();
        server.close();
        resolve(setCookie.split(";")[0].slice(NAME.length + 1));
      }).on("error", reject);
    });
  });
}

viaMiddleware().then((value) => {
  open("set by the middleware", value, { user: "user1", role: "user", cart: ["from", "express"] });
  const out = {
    package: "client-sessions@" + require("client-sessions/package.json").version,
    minted_at_ms: now,
    secret: SECRET,
    cookie_name: NAME,
    cases,
  };
  fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 1) + "\n");
  console.log(`${cases.length} cookies minted by ${out.package} into ${process.argv[2]}`);
});
