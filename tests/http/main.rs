//! The session layer over real HTTP: a real server on 127.0.0.1 and a real
//! client, one binary for the three suites (one link instead of three).
//!
//! * [`behaviour`]: what a browser sees — cookies, lifetimes, renewal,
//!   chunking, rotation, hostile cookies;
//! * [`hardening`]: what the attack review of 0.1 asked for — cache headers,
//!   cookie tossing, bounded expiry, failures that do not punish users;
//! * [`identity`] and [`revocation`]: what a login needs — session ids,
//!   per-session lifetimes, freshness, the three ways to revoke;
//! * [`csrf`]: the CSRF layer and extractor, the rule row by row;
//! * [`flash`], [`typed_and_kinds`]: what apps need around the session;
//! * [`stacks`]: the layer where users put it — hyper, tower, axum.
//!
//! `tests/http_logging.rs` stays its own binary: it installs a global
//! tracing subscriber.

#[path = "../common/mod.rs"]
mod common;

mod behaviour;
mod csrf;
mod flash;
mod hardening;
mod identity;
mod revocation;
mod stacks;
mod typed_and_kinds;
