"""The Rust login demo and the Express login demo behind one nginx, sharing
one key ring (a SESSION_KEYS_FILE both follow) and one SQLite user database
(DATABASE_PATH: the Rust demo creates and writes it; the Express demo reads
it with sql.js, WAL included, and writes an epoch through the sqlite3
command when there is one).

nginx listens on three ports: one proxies to the Rust demo only, one to the
Express demo only (explicit routing: each check says which implementation
answers, and X-Instance proves it), one round-robins over both.

Run by tests/interop/run.sh, which provides INTEROP_TMP, LOGIN_BIN,
NGINX_BIN and NODE_BIN. Python 3 standard library only; the HTTP client
with its cookie jar and CSRF-aware form posts is tests/deploy/harness.py.
"""

import json
import os
import random
import re
import shutil
import signal
import string
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "deploy"))

from harness import (  # noqa: E402
    COOKIE_NAME,
    Checks,
    Client,
    Proc,
    base_env,
    free_ports,
    install_sigterm_handler,
    key_id,
    new_key,
    wait_port,
)

CHECK_INTERVAL = 2  # SESSION_CHECK_INTERVAL of both demos
RELOAD_WAIT = 12.0  # both poll the key file every 2 s
DEMO = os.path.join(ROOT, "interop", "node", "examples", "login.js")
USER1 = {"username": "user1", "password": "mypassword"}

NGINX_CONF = """
worker_processes 1;
error_log @PREFIX@/error.log info;
events { worker_connections 128; }
http {
    access_log @PREFIX@/access.log combined;
    client_body_temp_path @PREFIX@/client_body;
    proxy_temp_path       @PREFIX@/proxy;
    fastcgi_temp_path     @PREFIX@/fastcgi;
    uwsgi_temp_path       @PREFIX@/uwsgi;
    scgi_temp_path        @PREFIX@/scgi;
    # A session near the 7 KiB cap comes back as two Set-Cookie headers of
    # ~3.6 KiB: raise the response header buffer (DEPLOYING.md).
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_read_timeout 15s;

    upstream both {
        zone both 64k;
        server 127.0.0.1:@PORT_RUST@;
        server 127.0.0.1:@PORT_NODE@;
    }
    server { listen 127.0.0.1:@LB@;      location / { proxy_pass http://both; } }
    server { listen 127.0.0.1:@TO_RUST@; location / { proxy_pass http://127.0.0.1:@PORT_RUST@; } }
    server { listen 127.0.0.1:@TO_NODE@; location / { proxy_pass http://127.0.0.1:@PORT_NODE@; } }
}
"""


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.pid_dir = os.path.join(tmp, "pids")
        os.makedirs(self.pid_dir, exist_ok=True)
        (self.port_rust, self.port_node, self.lb, self.to_rust, self.to_node) = free_ports(5)
        self.database = os.path.join(tmp, "users.sqlite3")
        self.keys_file = os.path.join(tmp, "session-keys")
        self.prefix = os.path.join(tmp, "nginx")
        self.procs = {}

    def write_keys(self, keys):
        """Rewrites the key file atomically (a rename), primary first."""
        part = self.keys_file + ".new"
        with open(part, "w") as f:
            f.write("# primary first\n" + "\n".join(keys) + "\n")
        os.chmod(part, 0o600)
        os.replace(part, self.keys_file)

    def env(self, port, instance):
        env = base_env()
        for var in ("DATABASE_PATH", "SESSION_CHECK_INTERVAL", "SESSION_NOT_BEFORE", "METRICS_PORT"):
            env.pop(var, None)
        env.update(
            PORT=str(port),
            BIND="127.0.0.1",
            INSTANCE=instance,
            DATABASE_PATH=self.database,
            SESSION_CHECK_INTERVAL=str(CHECK_INTERVAL),
            SESSION_KEYS_FILE=self.keys_file,
        )
        return env

    def start(self, login_bin, node_bin, nginx_bin):
        rust = Proc("rust", [login_bin], self.env(self.port_rust, "rust"), self.log("rust"), self.pid_dir)
        self.procs["rust"] = rust.start()
        wait_port(self.port_rust, rust.proc)
        # The Rust demo creates and seeds the database; the Express demo reads it.
        node = Proc("node", [node_bin, DEMO], self.env(self.port_node, "node"), self.log("node"), self.pid_dir)
        self.procs["node"] = node.start()
        wait_port(self.port_node, node.proc)
        os.makedirs(self.prefix, exist_ok=True)
        os.chmod(self.tmp, 0o755)
        os.chmod(self.prefix, 0o755)
        conf = NGINX_CONF
        for k, v in {
            "@PREFIX@": self.prefix,
            "@PORT_RUST@": self.port_rust,
            "@PORT_NODE@": self.port_node,
            "@LB@": self.lb,
            "@TO_RUST@": self.to_rust,
            "@TO_NODE@": self.to_node,
        }.items():
            conf = conf.replace(k, str(v))
        conf_path = os.path.join(self.prefix, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        argv = [
            nginx_bin, "-e", os.path.join(self.prefix, "error.log"), "-p", self.prefix + "/",
            "-c", conf_path, "-g", f"daemon off; pid {os.path.join(self.prefix, 'nginx.pid')};",
        ]
        nginx = Proc("nginx", argv, base_env(), self.log("nginx"), self.pid_dir)
        self.procs["nginx"] = nginx.start()
        for port in (self.lb, self.to_rust, self.to_node):
            wait_port(port, nginx.proc)

    def log(self, name):
        return os.path.join(self.tmp, f"{name}.log")

    def log_text(self, name):
        try:
            with open(self.log(name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop_all(self):
        for name in ("nginx", "node", "rust"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                try:
                    proc.stop(signal.SIGTERM, timeout=10)
                except Exception as e:  # keep stopping the others
                    print(f"  .. stopping {name}: {e!r}", flush=True)


# ---------------------------------------------------------------------------
# Helpers


def flashes(r):
    return re.findall(r'<p class="flash (\w+)" role="\w+">([^<]*)</p>', r.text())


def me(client, port):
    r = client.get("/me", port=port)
    if r.status != 200:
        return r.status, None
    return r.status, json.loads(r.text())


def cart(client, port):
    r = client.get("/cart", port=port)
    return json.loads(r.text()) if r.status == 200 else None


def copy_of(client):
    other = Client(client.port)
    other.jar = dict(client.jar)
    other.attrs = dict(client.attrs)
    return other


def session_set_cookies(r):
    return [sc for sc in r.set_cookies if sc.split("=", 1)[0].strip().startswith(COOKIE_NAME)]


def poll(fn, timeout, every=0.25):
    """fn() until truthy or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(every)


def have_sqlite3():
    return shutil.which(os.environ.get("SQLITE3_BIN", "sqlite3")) is not None


# ---------------------------------------------------------------------------
# The scenario


def run(checks, cl, rng):
    R, N, LB = cl.to_rust, cl.to_node, cl.lb
    # Keys as `cargo run --example keygen` makes them: 32 bytes from the OS
    # generator, standard base64 (harness.new_key).
    k1 = new_key()
    t0 = time.monotonic()

    def phase(title):
        print(f"== {title} (t={time.monotonic() - t0:.1f}s)", flush=True)

    cl.write_keys([k1])
    cl.start(os.environ["LOGIN_BIN"], os.environ.get("NODE_BIN", "node"), os.environ.get("NGINX_BIN", "nginx"))

    phase("1. both demos behind one nginx")
    probe = Client(R)
    r = probe.get("/login")
    checks.check("1.1 nginx -> the Rust demo (X-Instance rust)", r.status == 200 and r.instance == "rust", f"{r.status} {r.instance}")
    r = Client(N).get("/login")
    checks.check("1.2 nginx -> the Express demo (X-Instance node)", r.status == 200 and r.instance == "node", f"{r.status} {r.instance}")
    seen = {Client(LB).get("/login").instance for _ in range(6)}
    checks.check("1.3 round robin reaches both", seen == {"rust", "node"}, str(seen))
    rust_page = Client(R).get("/login").text()
    node_page = Client(N).get("/login").text()
    strip = lambda t: re.sub(r'(value|content)="[A-Za-z0-9_-]{86}"', "TOKEN", t)  # noqa: E731
    checks.check("1.4 the two login pages are the same markup (tokens aside)", strip(rust_page) == strip(node_page))

    phase("2. log in on Rust, read and change the cart on Express")
    a = Client(R)
    r = a.login(dict(USER1, remember="on"))
    checks.check("2.1 login on Rust (303)", r.status == 303 and r.instance == "rust", f"{r.status}")
    s_r, me_r = me(a, R)
    s_n, me_n = me(a, N)
    checks.check(
        "2.2 Express opens the Rust session: same user, id, login time, remember-me",
        s_r == s_n == 200 and me_r == me_n and me_r["user"] == "user1" and me_r["remembered"] is True,
        f"rust {me_r} / node {me_n}",
    )
    checks.check("2.3 the cart on Express is the Rust session's (empty)", cart(a, N) == [])
    r = a.post_form("/cart", {"item": "from-express"}, port=N)
    checks.check("2.4 add an item on Express with Express's form token (303)", r.status == 303 and r.instance == "node", f"{r.status} {r.text()[:80]}")
    r = a.get("/", port=R)
    checks.check("2.5 the flash set by Express is shown by Rust", ("success", "Item added.") in flashes(r), str(flashes(r)))
    checks.check("2.6 Rust reads the cart Express wrote", cart(a, R) == ["from-express"], str(cart(a, R)))
    _, me_after = me(a, R)
    checks.check("2.7 the session id survived the round trip", me_after and me_after["id"] == me_r["id"])
    checks.check("2.8 the cookie is sealed by K1", a.session_key_id() == key_id(k1))

    phase("3. log in on Express, change on Rust")
    b = Client(N)
    r = b.login(USER1)
    cookie = (session_set_cookies(r) or [""])[0]
    checks.check("3.1 login on Express (303), a browser-session cookie (no Max-Age)", r.status == 303 and "Max-Age" not in cookie, cookie[:60])
    s_n, me_n = me(b, N)
    s_r, me_r = me(b, R)
    checks.check("3.2 Rust opens the Express session: same user, id, login time", s_n == s_r == 200 and me_n == me_r and me_r["remembered"] is False, f"{me_n} / {me_r}")
    r = b.post_form("/cart", {"item": "from-rust"}, port=R)
    checks.check("3.3 add an item on Rust (303)", r.status == 303 and r.instance == "rust", f"{r.status}")
    r = b.get("/", port=N)
    checks.check("3.4 the flash set by Rust is shown by Express", ("success", "Item added.") in flashes(r), str(flashes(r)))
    checks.check("3.5 Express reads the cart Rust wrote", cart(b, N) == ["from-rust"], str(cart(b, N)))
    time.sleep(CHECK_INTERVAL + 0.5)
    r = b.get("/me", port=R)
    checks.check(
        "3.6 the Express-made session passes the Rust demo's revocation check (user, epoch stored as Rust does)",
        r.status == 200 and bool(session_set_cookies(r)),
        f"{r.status}, re-sealed to record the check: {bool(session_set_cookies(r))}",
    )
    time.sleep(CHECK_INTERVAL + 0.5)
    r = b.get("/me", port=N)
    checks.check("3.7 and Express's own check", r.status == 200 and bool(session_set_cookies(r)), f"{r.status}")

    phase("4. CSRF tokens across implementations")
    c = Client(R)
    c.login(USER1)
    c.fetch_csrf("/", port=R)
    r = c.post("/cart", {"item": "rust-token", "csrf_token": c.csrf[1]}, port=N)
    checks.check("4.1 a token rendered by Rust is accepted by Express", r.status == 303 and r.instance == "node", f"{r.status} {r.text()[:80]}")
    c.fetch_csrf("/", port=N)
    r = c.post("/cart", {"item": "node-token", "csrf_token": c.csrf[1]}, port=R)
    checks.check("4.2 a token rendered by Express is accepted by Rust", r.status == 303 and r.instance == "rust", f"{r.status} {r.text()[:80]}")
    checks.check("4.3 both items are in the cart", cart(c, N) == ["rust-token", "node-token"], str(cart(c, N)))
    other = Client(N)
    other.login(USER1)
    other.fetch_csrf("/", port=N)
    for name, port in (("Rust", R), ("Express", N)):
        r = c.post("/cart", {"item": "x", "csrf_token": other.csrf[1]}, port=port)
        checks.check(f"4.4 another session's token is refused by {name} (403)", r.status == 403, f"{r.status} {r.text()[:80]}")
        r = c.post("/cart", {"item": "x"}, port=port)
        checks.check(f"4.5 no token is refused by {name} (403)", r.status == 403, f"{r.status}")
    r = c.post("/cart", {"item": "x", "csrf_token": c.csrf[1]}, port=N, extra_headers={"Sec-Fetch-Site": "cross-site"})
    checks.check("4.6 a cross-site post is refused by Express whatever the token", r.status == 403, f"{r.status}")

    phase("5. log out on either")
    r = a.post_form("/logout", {}, port=N)
    checks.check("5.1 Express logs out the Rust-made session (303)", r.status == 303 and r.instance == "node")
    r = a.get("/", port=R)
    checks.check("5.2 Rust shows Express's 'Logged out.' flash", ("info", "Logged out.") in flashes(r), str(flashes(r)))
    checks.check("5.3 and the session is gone on both", me(a, R)[0] == 401 and me(a, N)[0] == 401)
    r = b.post_form("/logout", {}, port=R)
    checks.check("5.4 Rust logs out the Express-made session (303)", r.status == 303 and r.instance == "rust")
    r = b.get("/", port=N)
    checks.check("5.5 Express shows Rust's 'Logged out.' flash", ("info", "Logged out.") in flashes(r), str(flashes(r)))
    checks.check("5.6 and the session is gone on both", me(b, N)[0] == 401 and me(b, R)[0] == 401)

    phase("6. log out everywhere")
    express_made = Client(N)
    express_made.login(USER1)
    on_rust, on_node = copy_of(express_made), copy_of(express_made)
    checks.check("6.1 an Express-made session, open on both", me(on_rust, R)[0] == 200 and me(on_node, N)[0] == 200)
    rust_user = Client(R)
    rust_user.login(USER1)
    r = rust_user.post_form("/logout-everywhere", {}, port=R)
    checks.check("6.2 log out everywhere on Rust (303)", r.status == 303 and r.instance == "rust", f"{r.status}")
    started = time.monotonic()
    gone = poll(lambda: me(on_rust, R)[0] == 401, CHECK_INTERVAL + 3)
    checks.check(
        f"6.3 Rust revokes the Express-made session within the check interval ({CHECK_INTERVAL} s)",
        gone, f"after {time.monotonic() - started:.1f}s",
    )
    gone = poll(lambda: me(on_node, N)[0] == 401, CHECK_INTERVAL + 3)
    checks.check("6.4 Express revokes it too (it reads the epoch Rust wrote, still in the WAL)", gone)
    fresh = Client(N)
    fresh.login(USER1)
    time.sleep(CHECK_INTERVAL + 0.5)
    checks.check("6.5 a login on Express after the bump carries the new epoch: Rust's check passes", me(fresh, R)[0] == 200)
    if have_sqlite3():
        victim = Client(R)
        victim.login(USER1)
        r = fresh.post_form("/logout-everywhere", {}, port=N)
        checks.check("6.6 log out everywhere on Express (303; the epoch written by the sqlite3 command)", r.status == 303 and r.instance == "node", f"{r.status} {r.text()[:80]}")
        gone = poll(lambda: me(victim, R)[0] == 401, CHECK_INTERVAL + 3)
        checks.check("6.7 Rust revokes its own session after Express's log out everywhere", gone)
    else:
        checks.info("no sqlite3 command: the Express demo cannot write the epoch (6.6, 6.7 not run)")

    phase("7. key rotation [K1] -> [K2, K1] -> [K2], one key file, both following it")
    k2 = new_key()
    old_on_rust, old_on_node = Client(R), Client(N)
    old_on_rust.login(USER1)
    old_on_node.login(USER1)
    k1_cookie = copy_of(old_on_node)
    checks.check("7.1 sessions sealed with K1 on both", old_on_rust.session_key_id() == old_on_node.session_key_id() == key_id(k1))
    cl.write_keys([k2, k1])

    def sealed_with_k2(port):
        probe = Client(port)
        probe.get("/login")
        return probe.session_key_id() == key_id(k2)

    ok = poll(lambda: sealed_with_k2(R) and sealed_with_k2(N), RELOAD_WAIT, every=0.5)
    checks.check("7.2 both seal new sessions with K2 once they read the file", ok)
    r = old_on_node.get("/", port=R)
    checks.check(
        "7.3 Rust opens an Express K1 cookie and re-seals it with K2",
        r.status == 200 and "Welcome, user1" in r.text() and old_on_node.session_key_id() == key_id(k2),
    )
    r = old_on_rust.get("/", port=N)
    checks.check(
        "7.4 Express opens a Rust K1 cookie and re-seals it with K2",
        r.status == 200 and "Welcome, user1" in r.text() and old_on_rust.session_key_id() == key_id(k2),
    )
    new_r, new_n = Client(R), Client(N)
    new_r.login(USER1)
    new_n.login(USER1)
    checks.check("7.5 K2 sessions of each open on the other", me(new_r, N)[0] == 200 and me(new_n, R)[0] == 200)
    cl.write_keys([k2])
    time.sleep(RELOAD_WAIT / 2)
    checks.check(
        "7.6 K1 retired: a K1 cookie opens on neither",
        me(copy_of(k1_cookie), R)[0] == 401 and me(copy_of(k1_cookie), N)[0] == 401,
    )
    checks.check("7.7 the re-sealed K2 sessions still open on both", me(old_on_node, N)[0] == 200 and me(old_on_rust, R)[0] == 200)

    phase("8. round robin and a chunked session")
    rr = Client(LB)
    rr.login(USER1, token_port=LB)
    ids, instances = set(), set()
    for _ in range(8):
        r = rr.get("/me")
        instances.add(r.instance)
        if r.status == 200:
            ids.add(json.loads(r.text())["id"])
        else:
            ids.add(None)
    checks.check("8.1 one session through round robin: same id on both", len(ids) == 1 and None not in ids and instances == {"rust", "node"}, f"{ids} {instances}")
    big = Client(R)
    big.login(USER1)
    items = []
    ok = True
    for i in range(24):
        item = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(200))
        port = R if i % 2 == 0 else N
        r = big.post_form("/cart", {"item": item}, port=port)
        ok = ok and r.status == 303
        items.append(item)
    chunks = sorted(n for n in big.jar if n == COOKIE_NAME or n.startswith(COOKIE_NAME + "."))
    checks.check("8.2 a cart grown alternately on both is chunked", ok and len(chunks) == 2, f"{chunks}, posts ok {ok}, {big.session_pair_bytes()} bytes")
    checks.check("8.3 both read the chunked session", cart(big, R) == items and cart(big, N) == items)
    r = big.post_form("/logout", {}, port=N)
    checks.check(
        "8.4 Express's logout expires every chunk",
        r.status == 303 and not any(n.startswith(COOKIE_NAME + ".") for n in big.jar),
        str(session_set_cookies(r)),
    )


def main():
    install_sigterm_handler()
    tmp = os.environ["INTEROP_TMP"]
    checks = Checks()
    cl = Cluster(tmp)
    seed = int(os.environ.get("INTEROP_SEED") or random.randrange(1 << 30))
    checks.info(
        f"rust {cl.port_rust}, node {cl.port_node}; nginx: round robin {cl.lb}, "
        f"to rust {cl.to_rust}, to node {cl.to_node}; seed {seed}"
    )
    try:
        run(checks, cl, random.Random(seed))
    except BaseException as e:  # noqa: BLE001 -- report, then clean up
        traceback.print_exc()
        checks.check("scenario ran to the end", False, repr(e))
    finally:
        cl.stop_all()
    if checks.failed:
        for name in ("rust", "node", "nginx"):
            text = cl.log_text(name)
            print(f"-- last lines of {name}.log", flush=True)
            print("\n".join(text.splitlines()[-25:]), flush=True)
    sys.exit(checks.summary())


if __name__ == "__main__":
    main()
