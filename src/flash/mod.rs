//! Flash messages: values set by one request for the next one — "Logged
//! out", "Item added", "Wrong password" — kept in the session under a key
//! of the crate's own ([`reserved::FLASH`]).
//!
//! A message set with [`Session::flash`] is sealed with the session and
//! shown by the next request that uses the session (the one after the
//! redirect), then gone: opening the cookie takes the messages out of it,
//! and the response seals the session without them (or expires a cookie
//! that held nothing else). A request that never touches the session —
//! a stylesheet, a favicon — does not use them up. A message set with
//! [`Session::flash_now`] is for the current response only and is never
//! stored (render a page with an error without redirecting).
//!
//! [`Session::flash`]: crate::Session::flash
//! [`Session::flash_now`]: crate::Session::flash_now

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::SessionData;
use crate::reserved;

mod session_api;

/// How a flash message should be presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Neutral information.
    Info,
    /// Something the user asked for worked.
    Success,
    /// Worked, but the user should know something.
    Warning,
    /// Something the user asked for failed.
    Error,
}

impl Level {
    /// The level in lower case (`info`, `success`, `warning`, `error`), for
    /// a CSS class or an ARIA role choice.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One flash message. The text is the application's: escape it when
/// writing HTML, as any other value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// How to present it.
    pub level: Level,
    /// The text.
    pub message: String,
}

/// The flash messages of one request: those the previous request left,
/// and those set for this response only.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    pub(crate) previous: Vec<Flash>,
    pub(crate) now: Vec<Flash>,
}

/// Takes the stored messages out of an opened session. Returns them, and
/// whether the session held any (then it must be sealed again without
/// them). Stored messages of another shape are dropped, never an error.
pub(crate) fn take_stored(data: &mut SessionData) -> (Vec<Flash>, bool) {
    if !data.contains_key(reserved::FLASH) {
        return (Vec::new(), false);
    }
    let flashes = data
        .get::<Vec<Flash>>(reserved::FLASH)
        .ok()
        .flatten()
        .unwrap_or_default();
    data.remove(reserved::FLASH);
    (flashes, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_have_lower_case_names_for_css_classes() {
        let names: Vec<String> = [Level::Info, Level::Success, Level::Warning, Level::Error]
            .iter()
            .map(|level| format!("{level}/{}", level.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                "info/info",
                "success/success",
                "warning/warning",
                "error/error"
            ]
        );
        // The stored form is the same name.
        assert_eq!(
            serde_json::to_string(&Level::Warning).unwrap(),
            r#""warning""#
        );
    }
}
