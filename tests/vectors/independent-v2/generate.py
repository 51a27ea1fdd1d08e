#!/usr/bin/env python3
"""Independent implementation of the client-session cookie wire format (v1 and v2).

Written from the `//!` module documentation of src/format/mod.rs (and of
src/chunk.rs for chunking) only — no Rust source was read. It seals v2 (and v1,
for the cookies an earlier release would have written), opens v1 and v2 with the
nine steps of the "Opening" section in order, and writes
tests/vectors/vectors-v2.json deterministically: fixed keys, nonces, ids and
times, no randomness. Every emitted vector is checked by this file's own opener
before it is written.

Run:  python3 tests/vectors/independent-v2/generate.py
Needs the `cryptography` package (AES-GCM); everything else is the standard library.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import sys
import zlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "vectors-v2.json")
V1_VECTORS = os.path.join(HERE, "..", "vectors-v1.json")

U64_MAX = 2**64 - 1
LEEWAY = 60
DEFAULT_BODY_LIMIT = 65536
CHUNK_CAP = 8  # the chunk docs do not fix the reader's cap; emitted vectors use n <= 3


# --------------------------------------------------------------------------- primitives

def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def prk_of(key: bytes) -> bytes:
    return hkdf_extract(b"client-session/v1", key)


def key_id(key: bytes) -> bytes:
    return hkdf_expand(prk_of(key), b"client-session/v1 key-id", 4)


def message_key(version: int, key: bytes, nonce: bytes) -> bytes:
    label = {1: b"client-session/v1 message-key", 2: b"client-session/v2 message-key"}[version]
    return hkdf_expand(prk_of(key), label + nonce[0:12], 32)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


_B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")


def b64url_decode_strict(s: str):
    """RFC 4648 §5 without padding; rejects '=', other alphabets, non-canonical tails."""
    if not _B64URL.match(s) or len(s) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64url(data) != s:  # unused trailing bits not zero
        return None
    return data


def std_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sat(x: int) -> int:
    return min(x, U64_MAX)


def u64(x: int) -> bytes:
    return x.to_bytes(8, "big")


def u32(x: int) -> bytes:
    return x.to_bytes(4, "big")


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)
    return c.compress(data) + c.flush()


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- sealing

def seal_raw(version: int, key: bytes, ctx: str, nonce: bytes, plaintext: bytes) -> bytes:
    """header || C || T for an arbitrary plaintext P (used to build inconsistent fields too)."""
    assert len(nonce) == 24
    header = bytes([version]) + key_id(key) + nonce
    ct = AESGCM(message_key(version, key, nonce)).encrypt(nonce[12:24], plaintext, header + ctx.encode("utf-8"))
    return header + ct


def flags_v2(persistent, deflate: bool) -> int:
    f = 0x01 if deflate else 0
    if persistent is True:
        f |= 0x02
    elif persistent is False:
        f |= 0x04
    return f


def plaintext_v2(flags, created_at, expires_at, session_id, idle_timeout, absolute_lifetime,
                 authenticated_at, checked_at, stored_body) -> bytes:
    assert len(session_id) == 16
    return (bytes([flags]) + u64(created_at) + u64(expires_at) + session_id + u32(idle_timeout)
            + u32(absolute_lifetime) + u64(authenticated_at) + u64(checked_at) + stored_body)


def seal_v2(key, ctx, nonce, created_at, expires_at, session_id, body: bytes, *, idle_timeout=0,
            absolute_lifetime=0, persistent=None, authenticated_at=0, checked_at=0, deflate=False,
            flags=None) -> str:
    stored = deflate_raw(body) if deflate else body
    if flags is None:
        flags = flags_v2(persistent, deflate)
    p = plaintext_v2(flags, created_at, expires_at, session_id, idle_timeout, absolute_lifetime,
                     authenticated_at, checked_at, stored)
    return b64url(seal_raw(2, key, ctx, nonce, p))


def seal_v1(key, ctx, nonce, created_at, expires_at, body: bytes, *, deflate=False, flags=None) -> str:
    stored = deflate_raw(body) if deflate else body
    if flags is None:
        flags = 0x01 if deflate else 0
    p = bytes([flags]) + u64(created_at) + u64(expires_at) + stored
    return b64url(seal_raw(1, key, ctx, nonce, p))


def v1_session_id(nonce: bytes) -> bytes:
    return hashlib.sha256(b"client-session/v1 session-id" + nonce).digest()[:16]


# --------------------------------------------------------------------------- chunking

def split_chunks(name: str, value: str):
    if len(name) + 1 + len(value) <= 4096:
        return {name: value}
    n = 2
    while True:
        parts, rest = [], value
        first_room = 4096 - len(name) - 1 - len(f"{n}.")
        parts.append(rest[:first_room])
        rest = rest[first_room:]
        i = 1
        while rest:
            room = 4096 - len(f"{name}.{i}") - 1
            parts.append(rest[:room])
            rest = rest[room:]
            i += 1
        if len(parts) == n:
            break
        n = len(parts)
    out = {name: f"{n}.{parts[0]}"}
    for i in range(1, n):
        out[f"{name}.{i}"] = parts[i]
    return out


class Reject(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def join_chunks(cookies: dict, name: str) -> str:
    v = cookies.get(name)
    if v is None:
        raise Reject("absent")  # no session at all; not one of the format's reasons
    if "." not in v:
        return v
    count, part0 = v.split(".", 1)
    if not re.fullmatch(r"[1-9][0-9]*", count):
        raise Reject("chunks")
    n = int(count)
    if n < 2 or n > CHUNK_CAP:
        raise Reject("chunks")
    parts = [part0]
    for i in range(1, n):
        p = cookies.get(f"{name}.{i}")
        if p is None:
            raise Reject("chunks")
        parts.append(p)
    return "".join(parts)


# --------------------------------------------------------------------------- opening

def _reject_constant(name):
    raise ValueError("not JSON: " + name)


def open_value(keys, ctx: str, value: str, now: int, config: dict) -> dict:
    limit = config.get("body_limit", DEFAULT_BODY_LIMIT)
    I = config.get("idle_timeout")
    A = config.get("absolute_lifetime")
    max_I = config.get("max_idle_timeout", I)
    max_A = config.get("max_absolute_lifetime", A)
    NB = config.get("not_before")

    # 1. size, then strict base64url of at least 62 bytes
    if len(value) > math.ceil((102 + limit) * 4 / 3):
        raise Reject("too_large")
    raw = b64url_decode_strict(value)
    if raw is None or len(raw) < 29 + 17 + 16:
        raise Reject("malformed")

    # 2. version
    version = raw[0]
    if version not in (1, 2):
        raise Reject("unsupported_version")
    if version == 2 and len(raw) < 29 + 57 + 16:
        raise Reject("malformed")

    # 3. key id
    kid, nonce = raw[1:5], raw[5:29]
    key_index = next((i for i, k in enumerate(keys) if key_id(k) == kid), None)
    if key_index is None:
        raise Reject("unknown_key")

    # 4. GCM
    header = raw[:29]
    try:
        p = AESGCM(message_key(version, keys[key_index], nonce)).decrypt(
            nonce[12:24], raw[29:], header + ctx.encode("utf-8"))
    except Exception:
        raise Reject("unauthenticated")

    # 5. fields consistent
    flags = p[0]
    created_at = int.from_bytes(p[1:9], "big")
    expires_at = int.from_bytes(p[9:17], "big")
    if version == 1:
        if flags & ~0x01:
            raise Reject("invalid_body")
        session_id = v1_session_id(nonce)
        idle_timeout = absolute_lifetime = authenticated_at = checked_at = 0
        stored = p[17:]
    else:
        if flags & ~0x07:
            raise Reject("invalid_body")
        if flags & 0x06 == 0x06:
            raise Reject("invalid_body")
        session_id = p[17:33]
        idle_timeout = int.from_bytes(p[33:37], "big")
        absolute_lifetime = int.from_bytes(p[37:41], "big")
        authenticated_at = int.from_bytes(p[41:49], "big")
        checked_at = int.from_bytes(p[49:57], "big")
        stored = p[57:]
        if session_id == bytes(16):
            raise Reject("invalid_body")
        for t in (authenticated_at, checked_at):
            if t != 0 and not (created_at <= t < expires_at):
                raise Reject("invalid_body")

    # 6. lifetimes
    def resolve(own, default, cap):
        if own == 0:
            return default
        return own if cap is None else min(own, cap)

    i = resolve(idle_timeout, I, max_I)
    a = resolve(absolute_lifetime, A, max_A)
    if not now < expires_at:
        raise Reject("expired")
    if not created_at <= sat(now + LEEWAY):
        raise Reject("expired")
    if i is not None and not expires_at <= sat(sat(now + i) + LEEWAY):
        raise Reject("expired")
    if a is not None and not now < sat(created_at + a):
        raise Reject("expired")

    # 7. not before
    if NB is not None and not created_at >= NB:
        raise Reject("revoked")

    # 8. body size / inflation
    if flags & 0x01:
        d = zlib.decompressobj(-15)
        try:
            body = d.decompress(stored, limit + 1)
        except zlib.error:
            raise Reject("invalid_body")
        if len(body) > limit:
            raise Reject("too_large")
        if not d.eof:  # truncated stream (all input consumed, no final block)
            raise Reject("invalid_body")
        if d.unused_data:  # bytes after the end of the stream: the docs do not say; no vector uses it
            raise Reject("invalid_body")
    else:
        body = stored
        if len(body) > limit:
            raise Reject("too_large")

    # 9. UTF-8 JSON object
    try:
        text = body.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise Reject("invalid_body")
    if not isinstance(obj, dict):
        raise Reject("invalid_body")

    if version == 1:
        persistent = None
    else:
        persistent = True if flags & 0x02 else (False if flags & 0x04 else None)
    return {
        "version": version, "key_index": key_index, "created_at": created_at,
        "expires_at": expires_at, "session_id": session_id.hex(), "idle_timeout": idle_timeout,
        "absolute_lifetime": absolute_lifetime, "persistent": persistent,
        "authenticated_at": authenticated_at, "checked_at": checked_at, "body": obj,
    }


def open_cookies(keys, ctx, cookie_name, cookies, now, config):
    """Returns ("open", fields) or ("reject", reason)."""
    try:
        value = join_chunks(cookies, cookie_name)
        return "open", open_value(keys, ctx, value, now, config)
    except Reject as r:
        return "reject", r.reason


# --------------------------------------------------------------------------- fixtures

K0 = bytes(range(0, 32))            # primary, 32 bytes
K1 = bytes(range(32, 96))           # second ring key, 64 bytes
K_OUT = bytes(range(160, 192))      # a key that is not in the ring
RING = [K0, K1]

T0 = 1700000000                     # created_at of most sessions
DAY = 86400

_nonce_counter = [0]


def next_nonce() -> bytes:
    """24 fixed, distinct bytes per cookie: a counter then a fixed pattern (deterministic)."""
    _nonce_counter[0] += 1
    c = _nonce_counter[0]
    return bytes([0x4e, c]) + bytes((c * 7 + j) & 0xFF for j in range(22))


_sid_counter = [0]


def next_sid() -> bytes:
    _sid_counter[0] += 1
    return hashlib.sha256(b"independent-v2 session id %d" % _sid_counter[0]).digest()[:16]


def filler(n_hex_strings: int, tag: bytes = b"note"):
    return [hashlib.sha256(tag + b"%d" % i).hexdigest()[:48] for i in range(n_hex_strings)]


def body_of_size(size: int, compressible: bool) -> bytes:
    """A compact JSON object of exactly `size` bytes."""
    head, tail = b'{"pad":"', b'"}'
    room = size - len(head) - len(tail)
    assert room >= 0
    if compressible:
        pad = b"a" * room
    else:
        pad, i = b"", 0
        while len(pad) < room:
            pad += hashlib.sha256(b"pad %d" % i).hexdigest().encode()
            i += 1
        pad = pad[:room]
    b = head + pad + tail
    assert len(b) == size
    return b


STD_CONFIG = {"idle_timeout": DAY, "absolute_lifetime": 30 * DAY}

seal_vectors = []
open_vectors = []


def add_seal(name, key, ctx, created_at, expires_at, body_obj, **kw):
    nonce = next_nonce()
    sid = kw.pop("session_id", None) or next_sid()
    body = compact_json(body_obj)
    value = seal_v2(key, ctx, nonce, created_at, expires_at, sid, body, **kw)
    v = {
        "name": name, "key": std_b64(key), "context": ctx, "nonce": nonce.hex(),
        "created_at": created_at, "expires_at": expires_at, "session_id": sid.hex(),
        "idle_timeout": kw.get("idle_timeout", 0), "absolute_lifetime": kw.get("absolute_lifetime", 0),
        "persistent": kw.get("persistent", None), "authenticated_at": kw.get("authenticated_at", 0),
        "checked_at": kw.get("checked_at", 0), "body": body.decode("utf-8"), "value": value,
    }
    seal_vectors.append(v)
    return v


def add_open(name, cookies, now, config, expect, *, keys=RING, ctx="session", cookie_name="session",
             reason=None, fields=None):
    v = {"name": name, "keys": [std_b64(k) for k in keys], "context": ctx, "cookie_name": cookie_name,
         "now": now, "config": dict(config), "cookies": dict(cookies), "expect": expect}
    if expect == "open":
        v.update(fields)
    else:
        v["reason"] = reason
    open_vectors.append(v)
    return v


def accept(name, value, now, config, expected_fields, **kw):
    cookies = kw.pop("cookies", None) or {kw.get("cookie_name", "session"): value}
    add_open(name, cookies, now, config, "open", fields=expected_fields, **kw)


def reject(name, value, now, config, reason, **kw):
    cookies = kw.pop("cookies", None) or {kw.get("cookie_name", "session"): value}
    add_open(name, cookies, now, config, "reject", reason=reason, **kw)


def fields(version=2, key_index=0, created_at=T0, expires_at=T0 + DAY, session_id=None,
           idle_timeout=0, absolute_lifetime=0, persistent=None, authenticated_at=0, checked_at=0,
           body=None):
    return {"version": version, "key_index": key_index, "created_at": created_at,
            "expires_at": expires_at, "session_id": session_id.hex(), "idle_timeout": idle_timeout,
            "absolute_lifetime": absolute_lifetime, "persistent": persistent,
            "authenticated_at": authenticated_at, "checked_at": checked_at, "body": body}


def mk2(key=K0, ctx="session", created_at=T0, expires_at=T0 + DAY, body_obj=None, body=None, **kw):
    """Seal a v2 cookie; returns (value, session_id, body_obj)."""
    if body is None:
        body_obj = {"user": "user1"} if body_obj is None else body_obj
        body = compact_json(body_obj)
    sid = kw.pop("session_id", None) or next_sid()
    return seal_v2(key, ctx, next_nonce(), created_at, expires_at, sid, body, **kw), sid, body_obj


def flip(value: str, byte_index: int, mask: int = 0x01) -> str:
    raw = bytearray(b64url_decode_strict(value))
    raw[byte_index] ^= mask
    return b64url(bytes(raw))


def with_byte(value: str, byte_index: int, new: int) -> str:
    raw = bytearray(b64url_decode_strict(value))
    raw[byte_index] = new
    return b64url(bytes(raw))


def truncate_bytes(value: str, n: int) -> str:
    return b64url(b64url_decode_strict(value)[:n])


# --------------------------------------------------------------------------- seal vectors

def build_seal():
    add_seal("small body, defaults", K0, "session", T0, T0 + DAY, {"user": "user1"})
    add_seal("persistent cookie (flag bit 1)", K0, "session", T0, T0 + DAY, {"user": "user1"}, persistent=True)
    add_seal("browser-session cookie (flag bit 2)", K0, "session", T0, T0 + DAY, {"user": "user1"}, persistent=False)
    add_seal("own idle timeout 1 h and absolute lifetime 7 d", K0, "session", T0, T0 + 3600,
             {"user": "user1"}, idle_timeout=3600, absolute_lifetime=7 * DAY)
    add_seal("own lifetimes u32 max", K0, "session", T0, T0 + 4294967295, {"user": "user1"},
             idle_timeout=4294967295, absolute_lifetime=4294967295, persistent=True)
    add_seal("authenticated and checked", K0, "session", T0, T0 + DAY, {"role": "admin", "user": "user1"},
             authenticated_at=T0 + 5, checked_at=T0 + 120)
    add_seal("authenticated at creation, never checked", K0, "session", T0, T0 + DAY, {"user": "user1"},
             authenticated_at=T0, checked_at=0)
    add_seal("64-byte key", K1, "session", T0, T0 + DAY, {"user": "user1"}, persistent=False)
    add_seal("non-ASCII body", K0, "session", T0, T0 + DAY,
             {"cart": ["sku-1", "sku-2"], "theme": "dark", "user": "ユーザー", "city": "Zürich"})
    add_seal("empty object", K0, "session", T0, T0 + DAY, {})
    add_seal("long context (130 bytes)", K0, "app.example/" + "c" * 100 + "/session-cookie-purpose", T0,
             T0 + DAY, {"user": "user1"})
    add_seal("__Host- name as context, all fields set", K1, "__Host-session", T0, T0 + 2 * DAY,
             {"n": 42, "user": "user1"}, idle_timeout=2 * DAY, absolute_lifetime=90 * DAY,
             persistent=True, authenticated_at=T0 + 1, checked_at=T0 + 2 * DAY - 1)


# --------------------------------------------------------------------------- open vectors

def build_open():
    now = T0 + 10
    U = {"user": "user1"}

    # ---- accepted
    v, sid, b = mk2()
    good_value = v
    accept("v2, defaults", v, now, STD_CONFIG, fields(session_id=sid, body=b))

    v, sid, b = mk2(key=K1, body_obj={"cart": ["sku-1"], "user": "ユーザー"})
    accept("sealed by the second key of the ring", v, now, STD_CONFIG, fields(key_index=1, session_id=sid, body=b))

    big = {"notes": filler(40), "user": "user1"}
    v, sid, b = mk2(body_obj=big, deflate=True)
    accept("deflate-compressed body", v, now, STD_CONFIG, fields(session_id=sid, body=b))

    for p, label in ((True, "persistent (bit 1)"), (False, "browser-session (bit 2)"),
                     (None, "default persistence (neither bit)")):
        v, sid, b = mk2(persistent=p)
        accept("persistence: " + label, v, now, STD_CONFIG, fields(session_id=sid, persistent=p, body=b))

    v, sid, b = mk2(body_obj={})
    accept("empty object", v, now, STD_CONFIG, fields(session_id=sid, body=b))

    v, sid, b = mk2(ctx="__Host-session")
    accept("__Host- name as context", v, now, STD_CONFIG, fields(session_id=sid, body=b),
           ctx="__Host-session", cookie_name="__Host-session")

    # own idle timeout within the cap
    cfg = {"idle_timeout": 3600, "max_idle_timeout": 7 * DAY, "absolute_lifetime": 30 * DAY}
    v, sid, b = mk2(expires_at=T0 + 2 * DAY, idle_timeout=2 * DAY)
    accept("own idle timeout 2 d within max I 7 d (I 1 h)", v, now, cfg,
           fields(expires_at=T0 + 2 * DAY, idle_timeout=2 * DAY, session_id=sid, body=b))

    # own idle timeout above the cap: i = max I
    cfg = {"idle_timeout": DAY, "max_idle_timeout": 2 * DAY}
    exp = T0 + 7 * DAY
    v, sid, b = mk2(expires_at=exp, idle_timeout=7 * DAY)
    boundary = exp - 2 * DAY - LEEWAY
    accept("own idle 7 d capped to max I 2 d: expires_at == now + cap + leeway", v, boundary, cfg,
           fields(expires_at=exp, idle_timeout=7 * DAY, session_id=sid, body=b))
    reject("own idle 7 d capped to max I 2 d: expires_at == now + cap + leeway + 1", v, boundary - 1, cfg,
           "expired")

    # no max I configured: I is the cap
    cfg = {"idle_timeout": DAY}
    v, sid, b = mk2(expires_at=T0 + 2 * DAY, idle_timeout=2 * DAY)
    reject("own idle 2 d, no max I: capped to I 1 d", v, now, cfg, "expired")

    # idle 0 uses the configured default
    cfg = {"idle_timeout": 3600}
    v, sid, b = mk2(expires_at=T0 + 3600)
    accept("sealed idle 0 uses the configured I 1 h", v, now, cfg,
           fields(expires_at=T0 + 3600, session_id=sid, body=b))
    v, sid, b = mk2(expires_at=T0 + DAY)
    reject("expires_at beyond now + I + leeway (I lowered to 1 h)", v, now, cfg, "expired")
    accept("no idle timeout configured: any future expiry", v, now, {},
           fields(expires_at=T0 + DAY, session_id=sid, body=b))

    # no I configured: "min with an absent limit is the other value"
    v, sid, b = mk2(expires_at=T0 + DAY, idle_timeout=3600)
    reject("no I nor max I configured: the session's own idle 1 h still applies", v, now, {}, "expired")
    v, sid, b = mk2(expires_at=T0 + 30 * DAY)
    accept("only max I configured, sealed idle 0: no idle limit", v, now, {"max_idle_timeout": 7 * DAY},
           fields(expires_at=T0 + 30 * DAY, session_id=sid, body=b))

    # own absolute lifetime
    cfg = {"idle_timeout": DAY, "absolute_lifetime": 7 * DAY, "max_absolute_lifetime": 30 * DAY}
    now10 = T0 + 10 * DAY
    v, sid, b = mk2(expires_at=now10 + DAY - 100, absolute_lifetime=14 * DAY)
    accept("own absolute lifetime 14 d within max A 30 d: open past the default A 7 d", v, now10, cfg,
           fields(expires_at=now10 + DAY - 100, absolute_lifetime=14 * DAY, session_id=sid, body=b))
    now31 = T0 + 31 * DAY
    v, sid, b = mk2(expires_at=now31 + DAY - 100, absolute_lifetime=60 * DAY)
    reject("own absolute lifetime 60 d capped to max A 30 d", v, now31, cfg, "expired")

    # absolute lifetime boundary (default A)
    cfg = {"idle_timeout": DAY, "absolute_lifetime": 7 * DAY}
    v, sid, b = mk2(expires_at=T0 + 7 * DAY + 3600)
    accept("one second before the absolute lifetime", v, T0 + 7 * DAY - 1, cfg,
           fields(expires_at=T0 + 7 * DAY + 3600, session_id=sid, body=b))
    reject("past the absolute lifetime: now == created_at + A", v, T0 + 7 * DAY, cfg, "expired")

    # authenticated_at / checked_at boundaries
    v, sid, b = mk2(authenticated_at=T0, checked_at=T0 + DAY - 1)
    accept("authenticated_at == created_at, checked_at == expires_at - 1", v, now, STD_CONFIG,
           fields(session_id=sid, authenticated_at=T0, checked_at=T0 + DAY - 1, body=b))

    # not before
    v, sid, b = mk2()
    accept("not_before == created_at", v, now, dict(STD_CONFIG, not_before=T0), fields(session_id=sid, body=b))
    reject("not_before: created_at == NB - 1", v, now, dict(STD_CONFIG, not_before=T0 + 1), "revoked")

    # clock skew
    v, sid, b = mk2(created_at=T0, expires_at=T0 + DAY)
    accept("created_at == now + leeway", v, T0 - 60, STD_CONFIG, fields(session_id=sid, body=b))
    reject("created too far in the future: created_at == now + leeway + 1", v, T0 - 61, STD_CONFIG, "expired")
    accept("one second before expires_at", v, T0 + DAY - 1, STD_CONFIG, fields(session_id=sid, body=b))
    reject("expired: now == expires_at", v, T0 + DAY, STD_CONFIG, "expired")

    # saturating additions: created_at + a and now + i + leeway both pass 2^64 - 1
    c_big = U64_MAX - 100
    v, sid, b = mk2(created_at=c_big, expires_at=U64_MAX, idle_timeout=3600, absolute_lifetime=3600)
    accept("saturating additions near 2^64 - 1", v, U64_MAX - 30, {"idle_timeout": DAY, "absolute_lifetime": DAY},
           fields(created_at=c_big, expires_at=U64_MAX, idle_timeout=3600, absolute_lifetime=3600,
                  session_id=sid, body=b))

    # v1 cookies under a v2 configuration
    n1 = next_nonce()
    v1 = seal_v1(K0, "session", n1, T0, T0 + DAY, compact_json(U))
    accept("v1 cookie opens under a v2 configuration, derived session id", v1, now,
           {"idle_timeout": DAY, "absolute_lifetime": 30 * DAY, "max_idle_timeout": 7 * DAY},
           fields(version=1, session_id=v1_session_id(n1), body=U))
    n1b = next_nonce()
    v1b = seal_v1(K1, "session", n1b, T0, T0 + DAY, compact_json(big), deflate=True)
    accept("v1 cookie, second ring key, deflate body", v1b, now, STD_CONFIG,
           fields(version=1, key_index=1, session_id=v1_session_id(n1b), body=big))
    reject("v1 cookie revoked by not_before", v1, now, dict(STD_CONFIG, not_before=T0 + 1), "revoked")
    reject("v1 cookie past the configured absolute lifetime", v1, T0 + DAY - 1,
           {"idle_timeout": 2 * DAY, "absolute_lifetime": 3600}, "expired")

    # chunked v2 value
    chunky = {"notes": filler(150, b"chunk"), "user": "user1"}
    v, sid, b = mk2(body_obj=chunky)
    cookies = split_chunks("session", v)
    assert len(cookies) == 3, len(cookies)
    accept("chunked across 3 cookies (reader chunk cap >= 3)", None, now, STD_CONFIG,
           fields(session_id=sid, body=b), cookies=cookies)

    # body-limit boundaries (body_limit 1024 → value limit ceil(1126*4/3) = 1502 characters)
    cfg = dict(STD_CONFIG, body_limit=1024)
    body = body_of_size(1024, compressible=False)
    v, sid, _ = mk2(body=body)
    assert len(v) == 1502
    accept("uncompressed body == body limit 1024: 1502 characters", v, now, cfg,
           fields(session_id=sid, body=json.loads(body)))
    body = body_of_size(1025, compressible=False)
    v, sid, _ = mk2(body=body)
    assert len(v) == 1503
    reject("value 1503 characters, over ceil((102 + 1024)*4/3)", v, now, cfg, "too_large")
    body = body_of_size(1024, compressible=True)
    v, sid, _ = mk2(body=body, deflate=True)
    accept("deflate body inflating to exactly the body limit 1024", v, now, cfg,
           fields(session_id=sid, body=json.loads(body)))
    body = body_of_size(1025, compressible=True)
    v, sid, _ = mk2(body=body, deflate=True)
    reject("deflate body inflating to body limit + 1", v, now, cfg, "too_large")
    n1c = next_nonce()
    v = seal_v1(K0, "session", n1c, T0, T0 + DAY, body_of_size(1025, compressible=False))
    assert len(v) <= 1502
    reject("v1 uncompressed body of body limit + 1 (passes step 1, fails step 8)", v, now, cfg, "too_large")

    # ---- rejected, in the order of the steps
    # step 1
    body = body_of_size(65537, compressible=False)
    v, sid, _ = mk2(body=body)
    assert len(v) == math.ceil((102 + 65536) * 4 / 3) + 1
    reject("too large: 87519 characters with the default body limit", v, now, STD_CONFIG, "too_large")
    reject("too large before base64: 1503 characters of '='", "=" * 1503, now, cfg, "too_large")
    reject("base64 padding", good_value + "==" if len(good_value) % 4 == 2 else good_value + "=", now,
           STD_CONFIG, "malformed")
    std = good_value.replace("-", "+").replace("_", "/")
    if std == good_value:
        raise SystemExit("fixture has no - or _ to swap")
    reject("standard base64 alphabet", std, now, STD_CONFIG, "malformed")
    assert len(good_value) % 4 in (2, 3)
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(good_value[-1])
    nc = good_value[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    assert nc != good_value
    reject("non-canonical trailing bits", nc, now, STD_CONFIG, "malformed")
    cut = good_value[:len(good_value) - (len(good_value) % 4) + 1 - 4]
    assert len(cut) % 4 == 1
    reject("length 4k+1 characters (truncated)", cut, now, STD_CONFIG, "malformed")
    reject("empty value", "", now, STD_CONFIG, "malformed")
    n_short = next_nonce()
    v1s = seal_v1(K0, "session", n_short, T0, T0 + DAY, b"{}")
    assert len(b64url_decode_strict(v1s)) == 64
    reject("too short for any version: 61 bytes", truncate_bytes(v1s, 61), now, STD_CONFIG, "malformed")
    reject("61 bytes with version 0x03 (size checked first)", with_byte(truncate_bytes(v1s, 61), 0, 3), now,
           STD_CONFIG, "malformed")

    # step 2
    reject("version 0x03", with_byte(good_value, 0, 0x03), now, STD_CONFIG, "unsupported_version")
    reject("version 0x00, 62 bytes", with_byte(truncate_bytes(v1s, 62), 0, 0x00), now, STD_CONFIG,
           "unsupported_version")
    reject("v2 value of 101 decoded bytes", truncate_bytes(good_value, 101), now, STD_CONFIG, "malformed")
    reject("v2 value of 101 bytes with an unknown key id (length checked first)",
           flip(truncate_bytes(good_value, 101), 2), now, STD_CONFIG, "malformed")

    # step 3
    v, _, _ = mk2(key=K_OUT)
    reject("unknown key id", v, now, STD_CONFIG, "unknown_key")
    v, _, _ = mk2(key=K1)
    reject("old key removed from the ring", v, now, STD_CONFIG, "unknown_key", keys=[K0])
    reject("one bit flipped in the key id", flip(good_value, 3), now, STD_CONFIG, "unknown_key")

    # step 4
    raw_len = len(b64url_decode_strict(good_value))
    reject("one bit flipped in the tag", flip(good_value, raw_len - 1), now, STD_CONFIG, "unauthenticated")
    reject("one bit flipped in the ciphertext", flip(good_value, 29 + 3), now, STD_CONFIG, "unauthenticated")
    reject("one bit flipped in the KDF half of the nonce", flip(good_value, 5 + 2), now, STD_CONFIG,
           "unauthenticated")
    reject("one bit flipped in the GCM half of the nonce", flip(good_value, 5 + 14), now, STD_CONFIG,
           "unauthenticated")
    reject("wrong context (cookie renamed)", good_value, now, STD_CONFIG, "unauthenticated",
           ctx="session2", cookie_name="session2", cookies={"session2": good_value})
    reject("v2 value whose header says 0x01", with_byte(good_value, 0, 0x01), now, STD_CONFIG,
           "unauthenticated")
    n_rel = next_nonce()
    v1long = seal_v1(K0, "session", n_rel, T0, T0 + DAY, compact_json({"user": "user1", "theme": "dark",
                                                                          "lang": "en-GB"}))
    assert len(b64url_decode_strict(v1long)) >= 102
    reject("v1-sealed value relabelled as v2", with_byte(v1long, 0, 0x02), now, STD_CONFIG, "unauthenticated")
    raw_other_ring = mk2(key=K0)[0]
    reject("key id of the other ring key", b64url(bytes([2]) + key_id(K1) + b64url_decode_strict(
        raw_other_ring)[5:]), now, STD_CONFIG, "unauthenticated")

    # step 5
    def bad(name, reason="invalid_body", config=STD_CONFIG, at=now, **kw):
        v, _, _ = mk2(**kw)
        reject(name, v, at, config, reason)
        return v

    bad("unknown flag bit 3", flags=0x08)
    bad("flag bit 7", flags=0x80)
    bad("both persistence bits", flags=0x06)
    bad("zero session id", session_id=bytes(16))
    bad("authenticated_at < created_at", authenticated_at=T0 - 1)
    bad("authenticated_at == expires_at", authenticated_at=T0 + DAY)
    bad("checked_at < created_at", checked_at=T0 - 1)
    bad("checked_at == expires_at", checked_at=T0 + DAY)
    n_f = next_nonce()
    reject("v1 flag bit 1 (persistence bits are not defined in v1)",
           seal_v1(K0, "session", n_f, T0, T0 + DAY, compact_json(U), flags=0x02), now, STD_CONFIG,
           "invalid_body")

    # ordering between steps
    bad("unknown flag bit and expired: step 5 before 6", flags=0x08, at=T0 + DAY)
    bad("zero session id and before NB: step 5 before 7", session_id=bytes(16),
        config=dict(STD_CONFIG, not_before=T0 + 1))
    bad("expired and before NB: step 6 before 7", reason="expired", at=T0 + DAY,
        config=dict(STD_CONFIG, not_before=T0 + 1))
    bad("broken JSON and before NB: step 7 before 9", reason="revoked", body=b'{"user":',
        config=dict(STD_CONFIG, not_before=T0 + 1))
    bad("broken JSON and expired: step 6 before 9", reason="expired", body=b'{"user":', at=T0 + DAY)

    # step 8
    bomb = b'{"pad":"' + b"A" * (1048576 - 10) + b'"}'
    v, _, _ = mk2(body=bomb, deflate=True)
    assert len(v) < 2000
    reject("deflate bomb: 1 MiB body in a small cookie", v, now, STD_CONFIG, "too_large")
    v, _, _ = mk2(body=bomb, deflate=True)
    reject("deflate bomb before NB: step 7 before 8", v, now, dict(STD_CONFIG, not_before=T0 + 1), "revoked")

    def raw_stored(name, stored, flags, reason, config=STD_CONFIG):
        sid = next_sid()
        p = plaintext_v2(flags, T0, T0 + DAY, sid, 0, 0, 0, 0, stored)
        reject(name, b64url(seal_raw(2, K0, "session", next_nonce(), p)), now, config, reason)

    raw_stored("broken DEFLATE: reserved block type 3", b"\x07" + b"\x00" * 20, 0x01, "invalid_body")
    raw_stored("deflate flag on uncompressed JSON", compact_json(U), 0x01, "invalid_body")

    # step 9
    def raw_body(name, body, reason="invalid_body"):
        v, _, _ = mk2(body=body)
        reject(name, v, now, STD_CONFIG, reason)

    raw_body("JSON array at top level", b'["user1"]')
    raw_body("JSON string at top level", b'"user1"')
    raw_body("body is not UTF-8", b'{"user":"\xff"}')
    raw_body("trailing garbage after JSON", b'{"user":"user1"}}')
    raw_body("body is not JSON", b"user=user1")
    raw_body("empty body", b"")
    raw_body("NaN is not JSON", b'{"n":NaN}')
    v, _, _ = mk2(body=b'{"user":"\xff"}', deflate=True)
    reject("deflated body is not UTF-8", v, now, STD_CONFIG, "invalid_body")


# --------------------------------------------------------------------------- checks and output

def check_v1_vectors():
    """Sanity: this implementation agrees with the frozen v1 vectors (seal bytes and outcomes)."""
    if not os.path.exists(V1_VECTORS):
        return
    d = json.load(open(V1_VECTORS, encoding="utf-8"))
    for s in d["seal"]:
        got = seal_v1(base64.b64decode(s["key"]), s["context"], bytes.fromhex(s["nonce"]),
                      s["created_at"], s["expires_at"], s["body"].encode("utf-8"))
        assert got == s["value"], s["name"]
    for o in d["open"]:
        cfg = {}
        if "absolute_lifetime" in o:
            cfg["absolute_lifetime"] = o["absolute_lifetime"]
        outcome, res = open_cookies([base64.b64decode(k) for k in o["keys"]], o["context"],
                                    o["cookie_name"], o["cookies"], o["now"], cfg)
        assert outcome == o["expect"], (o["name"], outcome, res)
        if outcome == "open":
            for k in ("created_at", "expires_at", "body", "key_index"):
                assert res[k] == o[k], (o["name"], k)


def check_all():
    for s in seal_vectors:
        key = base64.b64decode(s["key"])
        again = seal_v2(key, s["context"], bytes.fromhex(s["nonce"]), s["created_at"], s["expires_at"],
                        bytes.fromhex(s["session_id"]), s["body"].encode("utf-8"),
                        idle_timeout=s["idle_timeout"], absolute_lifetime=s["absolute_lifetime"],
                        persistent=s["persistent"], authenticated_at=s["authenticated_at"],
                        checked_at=s["checked_at"])
        assert again == s["value"], s["name"]
        outcome, res = open_cookies([key], s["context"], "c", {"c": s["value"]}, s["created_at"], {})
        assert outcome == "open", (s["name"], res)
        for k in ("created_at", "expires_at", "session_id", "idle_timeout", "absolute_lifetime",
                  "persistent", "authenticated_at", "checked_at"):
            assert res[k] == s[k], (s["name"], k)
        assert res["version"] == 2 and res["key_index"] == 0
        assert res["body"] == json.loads(s["body"]), s["name"]
    names = set()
    for o in open_vectors:
        assert o["name"] not in names, o["name"]
        names.add(o["name"])
        outcome, res = open_cookies([base64.b64decode(k) for k in o["keys"]], o["context"], o["cookie_name"],
                                    o["cookies"], o["now"], o["config"])
        assert outcome == o["expect"], (o["name"], outcome, res)
        if outcome == "open":
            for k, val in res.items():
                assert o[k] == val, (o["name"], k, o[k], val)
        else:
            assert res == o["reason"], (o["name"], res, o["reason"])
    names = set()
    for s in seal_vectors:
        assert s["name"] not in names
        names.add(s["name"])


ABOUT = (
    "Made by an independent Python implementation (tests/vectors/independent-v2/generate.py) written "
    "only from the module documentation of src/format/mod.rs and src/chunk.rs; its opener checks every "
    "vector before it is written. Keys are standard base64 (first key of a ring is the primary), nonces "
    "and session ids hex, times Unix seconds. 'seal' vectors: sealing the exact UTF-8 'body' text "
    "UNCOMPRESSED as v2 with the given key, context, 24-byte nonce and session fields (idle_timeout and "
    "absolute_lifetime as sealed, 0 = the configured default; authenticated_at and checked_at 0 = never; "
    "persistent true = flag bit 1, false = flag bit 2, null = neither) must give 'value' byte for byte. "
    "'open' vectors: with the ring 'keys', the context, the request 'cookies' (the session cookie named "
    "'cookie_name', possibly chunked), 'now' and 'config', the value either opens to exactly the listed "
    "fields (version; key_index in the ring; created_at; expires_at; session_id, for a v1 cookie the "
    "derived SHA-256(\"client-session/v1 session-id\" || N)[0..16]; idle_timeout and absolute_lifetime as "
    "sealed, 0 for v1; persistent as above, null for v1; authenticated_at and checked_at, 0 = none; body "
    "as a JSON object) or is rejected with exactly 'reason', the first failing of the nine opening steps. "
    "Config: idle_timeout = I, absolute_lifetime = A, max_idle_timeout = max I, max_absolute_lifetime = "
    "max A, not_before = NB, body_limit in bytes; a field that is absent means not set / no limit (an "
    "absent max I or max A means the default is the cap). The leeway is always 60 s and the body limit "
    "65536 bytes unless 'body_limit' says otherwise. The chunked vector needs a reader whose chunk cap is "
    "at least 3."
)


def main():
    check_v1_vectors()
    build_seal()
    build_open()
    check_all()
    doc = {"format": "client-session/v2", "about": ABOUT, "seal": seal_vectors, "open": open_vectors}
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.normpath(OUT)}: {len(seal_vectors)} seal, {len(open_vectors)} open vectors, "
          f"{len(text)} bytes")


if __name__ == "__main__":
    sys.exit(main())
