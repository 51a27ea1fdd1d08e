//! [`SessionLayer`]: wraps a service so every request carries a [`Session`](crate::Session).

use std::sync::Arc;

use tower_layer::Layer;

use crate::config::SessionConfig;
use crate::service::SessionService;

/// A tower [`Layer`] that opens the session cookie of each request (lazily)
/// and writes it back when the session changed.
///
/// ```
/// use client_session::{Key, Keyring, SessionConfig, SessionLayer};
///
/// let config = SessionConfig::builder(Keyring::single(Key::generate())).build()?;
/// let layer = SessionLayer::new(config);
/// # let _ = layer;
/// # Ok::<(), client_session::ConfigError>(())
/// ```
///
/// In production, load the key ring from the environment so that every
/// instance shares it: `SessionConfig::from_env()?.build()?`.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    config: Arc<SessionConfig>,
}

impl SessionLayer {
    /// A layer with this configuration.
    #[must_use]
    pub fn new(config: SessionConfig) -> SessionLayer {
        SessionLayer {
            config: Arc::new(config),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService::new(inner, Arc::clone(&self.config))
    }
}
