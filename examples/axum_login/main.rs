//! axum-login and axum-messages on this crate, with no session store:
//! `cargo run --example axum_login --features tower-sessions`, then open
//! <http://localhost:3000> and log in as `alice` / `wonderland`.
//!
//! The handlers are written for tower-sessions (axum-login's
//! `AuthSession`, axum-messages' `Messages`); [`TowerSessionsLayer`]
//! provides their `tower_sessions::Session` from this crate's sealed
//! cookie. Keys come from `SESSION_KEYS` (a random key when unset),
//! so several instances share logins.
//!
//! axum-login's `AuthManagerLayerBuilder` takes tower-sessions' own
//! `SessionManagerLayer` (a concrete type), so the example builds the
//! layer from axum-login's public `AuthManager::new` instead — see `app.rs`.

mod app;

use client_session::{ConfigError, Key, KeySource, Keyring, SessionConfig};

#[tokio::main]
async fn main() {
    let keyring = match KeySource::default().load() {
        Ok(keyring) => keyring,
        Err(ConfigError::KeysNotSet { .. }) => {
            eprintln!("warning: SESSION_KEYS is not set; using a random key for this process only");
            Keyring::single(Key::generate())
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    let config = SessionConfig::builder(keyring)
        .build()
        .unwrap_or_else(|err| {
            eprintln!("error: {err}");
            std::process::exit(2);
        });
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| {
            eprintln!("error: cannot listen on port {port}: {err}");
            std::process::exit(1);
        });
    eprintln!("listening on http://localhost:{port} (alice / wonderland)");
    axum::serve(listener, app::app(config, app::Backend::with_demo_users()))
        .await
        .expect("server error");
}
