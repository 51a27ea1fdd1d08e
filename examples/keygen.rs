//! Prints a fresh random session key, base64-encoded, on one line.
//!
//! The line is the form `SESSION_KEYS` takes, and nothing else goes to
//! stdout, so the output can be captured directly:
//!
//! ```text
//! SESSION_KEYS=$(cargo run -q --example keygen)
//! ```
//!
//! The key is a secret: put it in your secret manager (or a
//! `SESSION_KEYS_FILE` readable only by the service), not in a shell
//! history, a log or the repository.
//!
//! # Rotating keys: a 2-key ring
//!
//! `SESSION_KEYS` is a comma-separated list, primary first: the first key
//! seals every cookie, every key opens cookies. With `K1` the current key:
//!
//! ```text
//! K2=$(cargo run -q --example keygen)
//! SESSION_KEYS="$K1,$K2"   # 1. every instance learns K2; K1 still seals
//! SESSION_KEYS="$K2,$K1"   # 2. K2 seals; cookies sealed with K1 still open
//!                          #    and are sealed again with K2 when next used
//! SESSION_KEYS="$K2"       # 3. after one idle timeout (plus clock leeway)
//! ```
//!
//! Roll each step out to every instance before the next one; with a single
//! instance, step 1 may be skipped. With `SESSION_KEYS_FILE`, the same ring
//! is one key per line, primary first. The README's "Deploying" section
//! explains why the steps come in this order.

fn main() {
    println!("{}", client_session::Key::generate_base64().as_str());
}
