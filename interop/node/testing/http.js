// A test HTTP client: a hand-kept cookie jar (the session cookies are
// Secure, and fetch has no jar) and an app served on 127.0.0.1:0.

import http from 'node:http';

/** Serves `handler` (an Express app or a node:http listener) on a free port. */
export async function serve(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

export function parseSetCookie(value) {
  const [pair, ...rest] = value.split(';').map((p) => p.trim());
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const p of rest) {
    if (!p) continue;
    const i = p.indexOf('=');
    attrs[(i < 0 ? p : p.slice(0, i)).toLowerCase()] = i < 0 ? '' : p.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

/** One browser. */
export class Client {
  constructor(base) {
    this.base = base;
    this.jar = new Map();
  }

  cookieHeader() {
    return [...this.jar].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  async request(method, path, { form, headers = {}, cookie } = {}) {
    const h = { ...headers };
    const jarHeader = cookie ?? this.cookieHeader();
    if (jarHeader) h.cookie = jarHeader;
    let body;
    if (form !== undefined) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.base + path, { method, headers: h, body, redirect: 'manual' });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const { name, value, attrs } = parseSetCookie(sc);
      if (attrs['max-age'] !== undefined && Number(attrs['max-age']) <= 0) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, headers: res.headers, text, setCookies, json: () => JSON.parse(text) };
  }

  get(path, opts) {
    return this.request('GET', path, opts);
  }

  post(path, form, opts = {}) {
    return this.request('POST', path, { ...opts, form });
  }
}
