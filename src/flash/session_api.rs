//! The flash methods of [`Session`].

use super::{Flash, Level};
use crate::reserved;
use crate::session::Session;

impl Session {
    /// Leaves a message for the next request that uses the session (the one
    /// after a redirect): see [`flashes`](Self::flashes).
    ///
    /// ```
    /// use client_session::{Level, testing};
    ///
    /// let session = testing::session();
    /// session.flash(Level::Success, "Item added");
    /// // The next request, with the cookie this response sets:
    /// let next = testing::next_request(&session);
    /// assert_eq!(next.flashes()[0].message, "Item added");
    /// // …and the one after has nothing.
    /// assert!(testing::next_request(&next).flashes().is_empty());
    /// ```
    ///
    /// Messages survive [`regenerate`](Self::regenerate) and
    /// [`destroy`](Self::destroy) in the same request (so "Logged out" can
    /// follow a logout); they take room in the cookie like any value.
    pub fn flash(&self, level: Level, message: impl Into<String>) {
        let flash = Flash {
            level,
            message: message.into(),
        };
        self.update_reserved("flash", reserved::FLASH, |stored: &mut Vec<Flash>| {
            stored.push(flash);
        });
    }

    /// A message for this response only, never stored: for a page rendered
    /// without a redirect (a form shown again with its error). It comes
    /// last in [`flashes`](Self::flashes).
    pub fn flash_now(&self, level: Level, message: impl Into<String>) {
        self.with_inbox(|inbox| {
            inbox.now.push(Flash {
                level,
                message: message.into(),
            });
        });
    }

    /// The messages to show in this response: those the previous request
    /// left (see [`flash`](Self::flash)), then those of
    /// [`flash_now`](Self::flash_now). They are gone after this request
    /// whether or not they are read; reading them twice gives them twice.
    #[must_use]
    pub fn flashes(&self) -> Vec<Flash> {
        self.with_inbox(|inbox| {
            inbox
                .previous
                .iter()
                .chain(inbox.now.iter())
                .cloned()
                .collect()
        })
    }
}
