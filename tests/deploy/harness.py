"""Shared helpers for the deployment tests: a cookie-jar HTTP client that
posts forms the way a browser does (with the page's CSRF token), the check
reporter, process management with PID files, and the key/cookie arithmetic
of the client-session wire format. Python 3 standard library only.

Everything talks to 127.0.0.1 only.
"""

import base64
import hashlib
import hmac
import html
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

HOST = "127.0.0.1"
COOKIE_NAME = "__Host-session"
# Where the demo takes a CSRF token besides the form field (for scripts).
CSRF_HEADER = "X-CSRF-Token"


# --------------------------------------------------------------------------
# Reporting


class Checks:
    """Prints one PASS/FAIL line per check and keeps the count."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.started = time.monotonic()

    def check(self, name, ok, detail=""):
        line = f"{'PASS' if ok else 'FAIL'}: {name}"
        if detail:
            line += f" -- {detail}"
        print(line, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def info(self, text):
        print(f"  .. {text}", flush=True)

    def summary(self):
        took = time.monotonic() - self.started
        print(f"({took:.1f}s)", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1


# --------------------------------------------------------------------------
# HTTP with a hand-made cookie jar
#
# http.cookiejar refuses to return Secure cookies over plain http, and the
# demo's cookies are Secure, so the jar is kept by hand: Set-Cookie values are
# parsed, Max-Age=0 deletes, everything else is stored and sent back.


class Response:
    def __init__(self, status, headers, body, set_cookies):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self.set_cookies = set_cookies  # raw Set-Cookie values

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def instance(self):
        return self.header("X-Instance")

    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def csrf(self):
        """(name, value) of the page's hidden CSRF input, or None."""
        return csrf_field(self.text()) if self.body else None

    @property
    def csrf_meta(self):
        """The token of the page's <meta name="csrf-token"> (for scripts), or None."""
        return csrf_meta(self.text()) if self.body else None


# --------------------------------------------------------------------------
# CSRF tokens in forms
#
# The demo's forms carry <input type="hidden" name="csrf_token" value="...">:
# a token masked afresh on every render, each verifying against the secret
# of the session (the cookie) that rendered it, on any instance sharing the
# key ring. A browser posts a form it was shown; the client does the same:
# GET a page with a form, take the hidden input, send it with the form.

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _attributes(tag):
    return {
        m.group(1).lower(): html.unescape(next((g for g in m.groups()[1:] if g is not None), ""))
        for m in _ATTR.finditer(tag)
    }


def csrf_field(text):
    """(name, value) of the first hidden input whose name contains "csrf",
    or None when the page has none."""
    for tag in _INPUT.findall(text):
        attrs = _attributes(tag)
        if attrs.get("type", "").lower() == "hidden" and "csrf" in attrs.get("name", "").lower():
            return attrs["name"], attrs.get("value", "")
    return None


def csrf_meta(text):
    """The content of <meta name="csrf-token">, or None."""
    for tag in _META.findall(text):
        attrs = _attributes(tag)
        if attrs.get("name", "").lower() == "csrf-token":
            return attrs.get("content")
    return None


def with_csrf(form, field):
    """A copy of `form` with the CSRF field (name, value) added; `field` may
    be a Response (its hidden input is used) or None (nothing added, so the
    server's refusal shows in the check)."""
    if isinstance(field, Response):
        field = field.csrf
    out = dict(form)
    if field is not None:
        out[field[0]] = field[1]
    return out


# The form routes whose success replaces the session (login regenerates it,
# logout destroys it): a token kept from before is not the new session's.
SESSION_REPLACING = ("/login", "/logout", "/logout-everywhere")


def token_page_for(path):
    """The page whose form a browser posts to `path`: the login form for
    /login, the home page (cart, logout and log-out-everywhere forms) else."""
    return "/login" if path == "/login" else "/"


def parse_set_cookie(value):
    """'n=v; Max-Age=3; HttpOnly' -> ('n', 'v', {'max-age': '3', 'httponly': ''})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return name.strip(), val.strip(), attrs


class Client:
    """One browser: a cookie jar and requests to a given port on 127.0.0.1."""

    def __init__(self, port, timeout=30.0):  # above nginx's proxy_read_timeout (10s)
        self.port = port
        self.timeout = timeout
        self.jar = {}  # name -> value, in insertion order
        self.attrs = {}  # name -> attributes of the last Set-Cookie
        self.csrf = None  # (name, value) of the last fetched form's token
        self.token_page = None  # the Response it came from

    def cookie_header(self):
        return "; ".join(f"{n}={v}" for n, v in self.jar.items())

    def request(self, method, path, form=None, port=None, extra_headers=None):
        headers = {"Connection": "close"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.jar:
            headers["Cookie"] = self.cookie_header()
        if extra_headers:
            headers.update(extra_headers)
        conn = http.client.HTTPConnection(HOST, port or self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            set_cookies = resp.msg.get_all("Set-Cookie") or []
            result = Response(resp.status, resp.getheaders(), data, set_cookies)
        finally:
            conn.close()
        for sc in set_cookies:
            name, val, attrs = parse_set_cookie(sc)
            max_age = attrs.get("max-age")
            if max_age is not None and int(max_age) <= 0:
                self.jar.pop(name, None)
                self.attrs.pop(name, None)
            else:
                self.jar[name] = val
                self.attrs[name] = attrs
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        """A raw POST: exactly `form`, no CSRF token added (for the checks
        that a post without one is refused)."""
        return self.request("POST", path, form=form, **kw)

    # -- forms with their CSRF token

    def fetch_csrf(self, page="/", port=None):
        """GETs `page` (with this jar, on `port` or the client's) and keeps
        its form's CSRF field in self.csrf (None when it has no form).
        Returns the response."""
        r = self.get(page, port=port)
        self.token_page = r
        self.csrf = r.csrf
        return r

    def post_form(self, path, form, port=None, token_page=None, token_port=None, fresh=True, **kw):
        """POSTs `form` to `path` as a browser posts a form it was shown:
        first GETs the page carrying that form (token_page; default: /login
        for /login, / otherwise) through the same way in (token_port, or
        `port`, or the client's port: nginx or one instance), with the same
        cookie jar, and adds its hidden csrf input to the form. With
        fresh=False a token already fetched for this session is reused (it
        stays valid until the session is replaced): no extra request, which
        matters where the exact sequence of requests is what is tested.
        After a post to /login, /logout or /logout-everywhere the kept
        token is dropped: the session it belonged to was replaced."""
        if fresh or self.csrf is None:
            self.fetch_csrf(token_page or token_page_for(path), port=port if token_port is None else token_port)
        r = self.post(path, with_csrf(form, self.csrf), port=port, **kw)
        if path in SESSION_REPLACING:
            self.csrf = None
        return r

    def login(self, creds, port=None, token_port=None):
        """POST /login with the login form's token (see post_form)."""
        return self.post_form("/login", creds, port=port, token_port=token_port)

    # -- the session cookie itself

    def session_cookies(self):
        return {n: v for n, v in self.jar.items() if n == COOKIE_NAME or n.startswith(COOKIE_NAME + ".")}

    def session_pair_bytes(self):
        """Total bytes of name=value over the session's cookies (what the layer caps)."""
        return sum(len(n) + 1 + len(v) for n, v in self.session_cookies().items())

    def session_value(self):
        """The sealed value with chunks joined (format of src/chunk.rs)."""
        first = self.jar.get(COOKIE_NAME)
        if first is None:
            return None
        if "." not in first:
            return first
        count_s, _, part0 = first.partition(".")
        count = int(count_s)
        parts = [part0]
        for i in range(1, count):
            part = self.jar.get(f"{COOKIE_NAME}.{i}")
            if part is None:
                raise ValueError(f"chunk {COOKIE_NAME}.{i} missing from the jar")
            parts.append(part)
        return "".join(parts)

    def session_key_id(self):
        """Bytes 1..5 of the decoded value: the id of the key that sealed it
        (the same place in formats v1 and v2, src/format/mod.rs)."""
        value = self.session_value()
        if value is None:
            return None
        raw = b64url_decode(value)
        if raw[0] not in (0x01, 0x02):
            raise ValueError(f"unexpected version byte {raw[0]:#x}")
        return raw[1:5]


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --------------------------------------------------------------------------
# Keys


def new_key():
    """A fresh 32-byte key, base64 (what `SESSION_KEYS` takes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def key_id(key_b64):
    """HKDF-SHA256: PRK = Extract(salt="client-session/v1", IKM=key);
    id = Expand(PRK, info="client-session/v1 key-id", L=4)."""
    ikm = base64.b64decode(key_b64)
    prk = hmac.new(b"client-session/v1", ikm, hashlib.sha256).digest()
    return hmac.new(prk, b"client-session/v1 key-id" + b"\x01", hashlib.sha256).digest()[:4]


# --------------------------------------------------------------------------
# Processes
#
# Every child's PID is written to $PID_DIR/<name>.pid while it runs, so the
# calling shell script's EXIT trap can kill whatever is left if this Python
# process itself dies.


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def wait_port(port, proc=None, timeout=15.0):
    """Waits until something accepts on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {HOST}:{port} after {timeout}s")


def port_is_closed(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return False
    except OSError:
        return True


class Proc:
    """A child process with a PID file and a log file."""

    def __init__(self, name, argv, env, log_path, pid_dir):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.pid_path = os.path.join(pid_dir, f"{name}.pid")
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        with open(self.pid_path, "w") as f:
            f.write(f"{self.proc.pid}\n")
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        try:
            os.unlink(self.pid_path)
        except FileNotFoundError:
            pass
        self.proc = None


def base_env():
    """The environment for children, without any inherited session keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_KEYS")}
    # The tests read the instances' logs (e.g. why a 500 happened).
    env["RUST_LOG"] = "info,client_session=debug"
    return env


def install_sigterm_handler():
    """Turn SIGTERM (e.g. from `timeout`) into SystemExit so finally blocks run."""

    def handler(signum, frame):
        raise SystemExit(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def die(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)
