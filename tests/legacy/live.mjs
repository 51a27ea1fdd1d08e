// The login demo with LEGACY_CLIENT_SESSIONS_SECRET, over HTTP: visitors
// holding a cookie of the old Express app (minted by the real
// client-sessions package, FIXTURE) are logged in and leave with this
// crate's cookie, the legacy one expired in the same response.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const clientSessions = require("client-sessions");
const fixture = JSON.parse(readFileSync(process.env.FIXTURE, "utf8"));
const BASE = process.env.BASE_URL;
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  ok ? passed++ : failed++;
  console.log(`${ok ? "PASS" : "FAIL"}: ${name}${detail ? ` -- ${detail}` : ""}`);
};
const value = (name) => fixture.cases.find((c) => c.name === name).value;
const mint = (content, opts = {}) => clientSessions.util.encode(
  { cookieName: fixture.cookie_name, secret: fixture.secret, ...opts }, content, 24 * 3600 * 1000, Date.now());
async function get(path, cookie) {
  const r = await fetch(BASE + path, { headers: cookie ? { cookie } : {}, redirect: "manual" });
  const text = await r.text();
  let json; try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, setCookie: r.headers.getSetCookie(), json, text };
}
const pair = (setCookie, name) => setCookie.map((c) => c.split(";")[0]).find((p) => p.startsWith(name + "="));

// 1. The middleware's own cookie: logged in, migrated in one response.
let r = await get("/me", `session_state=${value("set by the middleware")}`);
const ours = pair(r.setCookie, "__Host-session");
const expired = r.setCookie.find((c) => c.startsWith("session_state="));
check("1.1 a client-sessions cookie set by the package's middleware: GET /me is 200 as user1 (role user)",
  r.status === 200 && r.json?.user === "user1" && r.json?.role === "user", `${r.status} ${r.text.slice(0, 120)}`);
check("1.2 the same response seals the session in this crate's format and expires the legacy cookie",
  !!ours && ours.length > 40 && /^session_state=; Max-Age=0; Path=\//.test(expired ?? ""), JSON.stringify(r.setCookie.map((c) => c.slice(0, 60))));
r = await get("/cart", ours);
check("1.3 the next request carries only the new cookie: the cart the Express app stored", r.status === 200 && JSON.stringify(r.json) === '["from","express"]', r.text);
r = await get("/me", ours);
check("1.4 ...and /me has a session id of this crate", r.status === 200 && /^[0-9a-f]{32}$/.test(r.json?.id ?? ""), r.text);

// 2. Refused like this crate's own cookies: no session, nothing expired.
for (const name of ["expired an hour ago", "tampered iv", "tampered ciphertext", "tampered createdAt", "tampered duration", "tampered mac", "another secret", "another cookie name inside"]) {
  r = await get("/me", `session_state=${value(name)}`);
  check(`2 ${name}: 401, the legacy cookie left alone`, r.status === 401 && !r.setCookie.some((c) => c.startsWith("session_state=")), `${r.status} ${JSON.stringify(r.setCookie)}`);
}
// A valid cookie under another name is not read.
r = await get("/me", `other_state=${value("user1")}`);
check("2 a valid cookie under another name: 401", r.status === 401, `${r.status}`);

// 3. Content: unicode and large, and a session that names only its user.
r = await get("/me", `session_state=${value("unicode")}`);
check("3.1 unicode content: logged in as user1", r.status === 200 && r.json?.user === "user1", r.text.slice(0, 100));
r = await get("/cart", `session_state=${value("large")}`);
check("3.2 a 4 KB cookie: the 90-item cart", r.status === 200 && r.json?.length === 90, `${r.status}`);
r = await get("/admin", `session_state=${mint({ user: "admin" })}`);
check("3.3 a session with a user but no role: the role comes from the database (admin page)", r.status === 200 && r.text.includes("Admin area"), `${r.status}`);
r = await get("/me", `session_state=${mint({ user: "nobody", role: "admin" })}`);
check("3.4 a user the database does not know: not logged in", r.status === 401, `${r.status}`);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
