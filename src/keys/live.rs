//! A key ring that follows its key file: [`LiveKeyring`]. Orchestrators
//! (Kubernetes, Docker) update mounted secrets in place; every instance
//! reading the file picks up the new ring within one poll interval, without
//! a restart, and a broken file never replaces a working ring.

use std::ffi::OsString;
use std::fmt;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::keyring::Keyring;
use super::source::KeySource;
use crate::error::ConfigError;

/// The key ring in force, which a key file can replace while the
/// application runs (see [`KeySource::watch`]). A fixed [`Keyring`] converts
/// into one that never changes.
///
/// Each request takes the ring in force when it arrives ([`current`](Self::current))
/// and finishes with it, so a rotation never splits a request between two rings.
#[derive(Clone)]
pub struct LiveKeyring {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Keyring>,
}

impl LiveKeyring {
    /// The ring in force now (cheap: the keys are shared).
    #[must_use]
    pub fn current(&self) -> Keyring {
        self.shared
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, ring: Keyring) {
        *self
            .shared
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
    }

    /// A ring loaded from the file `path` by `source`, read again every
    /// `every` on a background thread that ends when the last clone of the
    /// returned ring is dropped.
    pub(super) fn watching(
        source: KeySource,
        path: String,
        every: Duration,
    ) -> Result<LiveKeyring, ConfigError> {
        let mut watcher = Watcher {
            source,
            path,
            seen: None,
        };
        // The first load goes through `load_from`, whose errors never show
        // a variable's value that could be a key (a key put in the file
        // variable); from then on the value is known to be a readable path.
        let file_var = watcher.source.file_var().to_owned();
        let checked = watcher
            .source
            .load_from(|name| (name == file_var).then(|| watcher.path.clone().into()))?;
        // Then the ring and the digest from one read of the same bytes.
        let first = match watcher.read() {
            Read::Loaded(ring) => ring,
            Read::Refused(_) | Read::Unchanged => checked,
        };
        let live = LiveKeyring::from(first);
        let weak = Arc::downgrade(&live.shared);
        std::thread::Builder::new()
            .name("client-session-keys".into())
            .spawn(move || watcher.run(&weak, every))
            .map_err(|err| ConfigError::InvalidSetting {
                setting: "key file watcher",
                problem: format!("cannot start its thread: {err}"),
            })?;
        Ok(live)
    }
}

impl KeySource {
    /// Loads the key ring from the process environment and, when it comes
    /// from a key file, follows that file: it is read again every `every`
    /// (default [`KEY_RELOAD_INTERVAL`](crate::defaults::KEY_RELOAD_INTERVAL),
    /// 2 s) and, when its content changed, the whole new ring is validated
    /// with the rules of start-up and swapped in for new requests; a file
    /// that is broken, empty or gone keeps the ring in force, with an error
    /// log naming the variable and the problem (never a key), and is read
    /// again at the next poll. Keys from `SESSION_KEYS` never change.
    ///
    /// Rotation then takes three edits of the secret and no restart (see
    /// DEPLOYING.md); every instance reading the file converges within `every`.
    ///
    /// # Errors
    /// As [`KeySource::load`], for the first read.
    pub fn watch(&self, every: std::time::Duration) -> Result<LiveKeyring, ConfigError> {
        self.watch_from(|name| std::env::var_os(name), every)
    }

    /// [`watch`](Self::watch) with `lookup` standing for the environment.
    ///
    /// # Errors
    /// As [`KeySource::load`], for the first read.
    pub fn watch_from(
        &self,
        lookup: impl Fn(&str) -> Option<OsString>,
        every: std::time::Duration,
    ) -> Result<LiveKeyring, ConfigError> {
        match (lookup(self.keys_var()), lookup(self.file_var())) {
            (None, Some(path)) => {
                let path = self.unicode(self.file_var(), path)?;
                LiveKeyring::watching(self.clone(), path.to_string(), every)
            }
            _ => self.load_from(lookup).map(LiveKeyring::from),
        }
    }
}

impl From<Keyring> for LiveKeyring {
    fn from(ring: Keyring) -> LiveKeyring {
        LiveKeyring {
            shared: Arc::new(Shared {
                current: RwLock::new(ring),
            }),
        }
    }
}

impl fmt::Debug for LiveKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.current(), f)
    }
}

/// The background reader of one key file.
struct Watcher {
    source: KeySource,
    path: String,
    /// Digest of the content last acted on (loaded, or refused and logged).
    seen: Option<[u8; 32]>,
}

impl Watcher {
    fn run(mut self, ring: &Weak<Shared>, every: Duration) {
        loop {
            std::thread::sleep(every);
            let Some(shared) = ring.upgrade() else {
                return; // the configuration is gone
            };
            self.poll(&LiveKeyring { shared });
        }
    }

    /// Reads the file once; on a change, validates the whole ring and swaps
    /// it in, or keeps the ring in force and logs why (once per content).
    fn poll(&mut self, live: &LiveKeyring) {
        match self.read() {
            Read::Unchanged => {}
            Read::Loaded(ring) => {
                let ids: Vec<String> = ring.keys().iter().map(|k| k.id().to_string()).collect();
                // Swapped in before it is said: a log reader may act on the line.
                live.replace(ring);
                crate::counters::key_reload(true);
                tracing::info!(
                    var = self.source.file_var(),
                    key_ids = %ids.join(","),
                    "key ring reloaded from the key file; new requests use it"
                );
            }
            Read::Refused(err) => {
                tracing::error!(
                    %err,
                    "{}: the changed key file is refused; the key ring in force is kept \
                     (the file is read every poll: a fixed file is picked up)",
                    self.source.file_var()
                );
                crate::counters::key_reload(false);
            }
        }
    }

    /// Reads the file, and parses those same bytes if they changed since
    /// the last read (a deletion counts as one change).
    fn read(&mut self) -> Read {
        let bytes = std::fs::read(&self.path).map(Zeroizing::new);
        // A missing file has no digest: [0; 32] stands for it, so a deleted
        // file is refused (and logged) once, not on every poll.
        let digest = bytes
            .as_ref()
            .map_or([0; 32], |bytes| <[u8; 32]>::from(Sha256::digest(&**bytes)));
        if self.seen == Some(digest) {
            return Read::Unchanged;
        }
        self.seen = Some(digest);
        let unreadable = |reason: String| ConfigError::KeyFileUnreadable {
            var: self.source.file_var().to_owned(),
            path: Some(self.path.clone()),
            reason,
        };
        let text = match bytes {
            Err(err) => return Read::Refused(unreadable(err.kind().to_string())),
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => Zeroizing::new(text.to_owned()),
                Err(_) => return Read::Refused(unreadable("not UTF-8 text".to_owned())),
            },
        };
        match self.source.parse_file(&self.path, &text) {
            Ok(ring) => Read::Loaded(ring),
            Err(err) => Read::Refused(err),
        }
    }
}

/// What one read of the key file found.
enum Read {
    Unchanged,
    Loaded(Keyring),
    Refused(ConfigError),
}
