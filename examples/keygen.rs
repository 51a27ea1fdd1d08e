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
//! To rotate keys without logging anyone out, add the new key to the ring,
//! then promote it, then retire the old one: DEPLOYING.md, "Key rotation",
//! has the procedure and the waits.

fn main() {
    println!("{}", client_session::Key::generate_base64().as_str());
}
