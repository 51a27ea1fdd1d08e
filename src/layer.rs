//! [`SessionLayer`]: wraps a service so every request carries a [`Session`](crate::Session).

use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use crate::config::SessionConfig;
use crate::kind::Primary;
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
///
/// `K` is the layer's kind: [`Primary`] for the plain [`Session`](crate::Session);
/// an application with several sessions gives each other layer a kind of
/// its own ([`of_kind`](Self::of_kind), [`SessionOf`](crate::SessionOf)).
#[derive(Debug)]
pub struct SessionLayer<K = Primary> {
    config: Arc<SessionConfig>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for SessionLayer<K> {
    fn clone(&self) -> Self {
        SessionLayer {
            config: Arc::clone(&self.config),
            kind: PhantomData,
        }
    }
}

impl SessionLayer {
    /// A layer with this configuration; handlers get its [`Session`](crate::Session).
    #[must_use]
    pub fn new(config: SessionConfig) -> SessionLayer {
        SessionLayer::of_kind(config)
    }
}

impl<K> SessionLayer<K> {
    /// A layer of kind `K`: handlers get its session as
    /// [`SessionOf<K>`](crate::SessionOf) .
    #[must_use]
    pub fn of_kind(config: SessionConfig) -> SessionLayer<K> {
        SessionLayer {
            config: Arc::new(config),
            kind: PhantomData,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
}

impl<S, K> Layer<S> for SessionLayer<K> {
    type Service = SessionService<S, K>;

    fn layer(&self, inner: S) -> SessionService<S, K> {
        SessionService::new(inner, Arc::clone(&self.config))
    }
}
