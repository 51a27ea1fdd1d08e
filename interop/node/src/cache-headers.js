// Keeping shared caches from serving one user's session to another
// (src/cache_headers.rs): a response that sets or expires the session
// cookie, or whose handler read a session the cookie opened, is made
// `Cache-Control: private` (a handler's `no-store` or bare `private` kept;
// `public` and `s-maxage` removed; CDN-targeted cache headers removed); a
// response whose handler read or changed the session gets `Vary: Cookie`.

const TARGETED = ['cdn-cache-control', 'cloudflare-cdn-cache-control', 'surrogate-control'];

function joined(res, name) {
  const v = res.getHeader(name);
  if (v == null) return '';
  const lines = (Array.isArray(v) ? v : [v]).map(String).filter((line) => /^[\x20-\x7e\t]*$/.test(line));
  return lines.join(',');
}

/** Non-empty trimmed members of a comma list; commas inside quotes do not split. */
export function splitDirectives(list) {
  const members = [];
  let start = 0;
  let quoted = false;
  let escaped = false;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (escaped) escaped = false;
    else if (c === '\\' && quoted) escaped = true;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      members.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  members.push(list.slice(start).trim());
  return members.filter((m) => m.length > 0);
}

const directiveName = (d) => d.split('=')[0].trim();
const is = (d, name) => directiveName(d).toLowerCase() === name;

function makePrivate(res) {
  const removed = [];
  for (const name of TARGETED) {
    if (res.hasHeader(name)) {
      res.removeHeader(name);
      removed.push(name);
    }
  }
  const directives = splitDirectives(joined(res, 'cache-control'));
  const already = directives.some((d) => is(d, 'no-store') || d.toLowerCase() === 'private');
  if (!already) {
    const kept = [];
    for (const d of directives) {
      if (is(d, 'public') || is(d, 's-maxage')) removed.push(d);
      else if (!is(d, 'private')) kept.push(d);
    }
    res.setHeader('Cache-Control', ['private', ...kept].join(', '));
  }
  return removed.length > 0 ? removed.join(', ') : null;
}

function varyOnCookie(res) {
  const fields = splitDirectives(joined(res, 'vary'));
  if (fields.some((f) => f === '*' || f.toLowerCase() === 'cookie')) return;
  res.setHeader('Vary', fields.length === 0 ? 'Cookie' : `${fields.join(', ')}, Cookie`);
}

/** Adds what `exposure` ({private, variesOnCookie}) calls for; returns removed directives or null. */
export function protect(res, exposure) {
  const removed = exposure.private ? makePrivate(res) : null;
  if (exposure.variesOnCookie) varyOnCookie(res);
  return removed;
}
