//! Several sessions in one application: each [`SessionLayer`](crate::SessionLayer)
//! has a *kind*, a type of the application's choosing, and handlers ask for
//! the session of a kind by that type — never by a string that two layers
//! could share by mistake.
//!
//! (Example on [`SessionOf`].)

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::session::Session;

/// The kind of the layer made by [`SessionLayer::new`](crate::SessionLayer::new):
/// its session is the plain [`Session`] (and also `SessionOf<Primary>`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Primary;

/// The session of the layer of kind `K` ([`SessionLayer::of_kind`](crate::SessionLayer::of_kind)).
/// Dereferences to [`Session`]: every method is there.
///
/// Several sessions in one application: each [`SessionLayer`](crate::SessionLayer)
/// has a *kind*, a type of the application's choosing, and handlers ask for
/// the session of a kind by that type — never by a string that two layers
/// could share by mistake.
///
/// ```
/// use axum::{Router, routing::post};
/// use client_session::{Key, Keyring, Primary, Session, SessionConfig, SessionLayer, SessionOf};
///
/// /// The kind of the cart's session: its own cookie, lifetime and keys.
/// struct Cart;
///
/// async fn add(auth: Session, cart: SessionOf<Cart>) -> &'static str {
///     let _user: Option<String> = auth.get("user");
///     cart.insert("items", &["apple"]).expect("a list serializes");
///     "added"
/// }
///
/// # fn main() -> Result<(), client_session::ConfigError> {
/// let auth = SessionConfig::builder(Keyring::single(Key::generate())).build()?;
/// let cart = SessionConfig::builder(Keyring::single(Key::generate()))
///     .cookie_name("__Host-cart")
///     .idle_timeout(std::time::Duration::from_secs(2 * 86_400))
///     .build()?;
/// let app: Router = Router::new()
///     .route("/cart", post(add))
///     .layer(SessionLayer::new(auth))              // kind `Primary`: the plain `Session`
///     .layer(SessionLayer::<Cart>::of_kind(cart)); // `SessionOf<Cart>`
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// Each layer opens and writes only its own cookie, with its own key ring,
/// lifetimes and revocation check. Give each its own cookie name: two
/// layers of one name would overwrite each other's cookie.
pub struct SessionOf<K> {
    session: Session,
    kind: PhantomData<fn() -> K>,
}

/// How a request's extensions hold the session of kind `K`: the
/// [`Primary`] kind once, as the plain [`Session`] (one extension per
/// request, not two); every other kind as its `SessionOf<K>`.
impl<K: 'static> SessionOf<K> {
    fn is_primary() -> bool {
        std::any::TypeId::of::<K>() == std::any::TypeId::of::<Primary>()
    }

    /// Puts `session` in `extensions` as the session of kind `K`.
    pub(crate) fn put(extensions: &mut http::Extensions, session: Session) {
        if Self::is_primary() {
            extensions.insert(session);
        } else {
            extensions.insert(SessionOf::<K>::new(session));
        }
    }

    /// Whether `extensions` already hold a session of kind `K`.
    pub(crate) fn is_in(extensions: &http::Extensions) -> bool {
        if Self::is_primary() {
            extensions.get::<Session>().is_some()
        } else {
            extensions.get::<SessionOf<K>>().is_some()
        }
    }

    /// The session of kind `K` in `extensions`.
    pub(crate) fn find(extensions: &http::Extensions) -> Option<SessionOf<K>> {
        if Self::is_primary() {
            extensions.get::<Session>().cloned().map(SessionOf::new)
        } else {
            extensions.get::<SessionOf<K>>().cloned()
        }
    }
}

impl<K> SessionOf<K> {
    pub(crate) fn new(session: Session) -> Self {
        SessionOf {
            session,
            kind: PhantomData,
        }
    }

    /// The session itself.
    #[must_use]
    pub fn into_inner(self) -> Session {
        self.session
    }
}

impl<K> Clone for SessionOf<K> {
    fn clone(&self) -> Self {
        SessionOf::new(self.session.clone())
    }
}

impl<K> Deref for SessionOf<K> {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl<K> fmt::Debug for SessionOf<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionOf")
            .field(&std::any::type_name::<K>())
            .field(&self.session)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cart;

    #[test]
    fn debug_names_the_kind_and_never_the_values() {
        let session = crate::testing::session();
        session.insert("secret", "value").unwrap();
        let cart = SessionOf::<Cart>::new(session);
        let shown = format!("{cart:?}");
        assert!(
            shown.starts_with(r#"SessionOf("client_session::kind::tests::Cart", Session {"#),
            "{shown}"
        );
        assert!(!shown.contains("value"), "{shown}");
        assert_eq!(
            cart.clone().into_inner().get::<String>("secret").as_deref(),
            Some("value")
        );
    }
}
