//! The demo's users and their epochs, in SQLite: one file shared by every
//! instance on the machine (WAL mode, a busy timeout), created and seeded on
//! first run. A user's epoch is copied into the session at login; "log out
//! everywhere" increments it, and the session layer's revocation check
//! compares the two.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

/// The demo's accounts: name, password, role. Passwords are compared here,
/// in memory, because the demo is about sessions, not password storage
/// (a real application stores an Argon2 hash).
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("user1", "mypassword", "user"),
    ("admin", "adminpassword", "admin"),
];

/// A user as stored.
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) epoch: i64,
}

/// The users table, behind one connection per instance.
#[derive(Clone)]
pub(crate) struct Users {
    connection: Arc<Mutex<Connection>>,
}

impl Users {
    /// `DATABASE_PATH`, or one file in the system's temporary directory, so
    /// that instances started anywhere on the machine share it.
    pub(crate) fn default_path() -> PathBuf {
        std::env::var_os("DATABASE_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("client-session-login-demo.sqlite3"))
    }

    /// Opens (creating and seeding on first run) the database at `path`.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Users> {
        let connection = Connection::open(path)?;
        // Several instances write this file: wait for each other's locks.
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                 name  TEXT PRIMARY KEY,
                 role  TEXT NOT NULL,
                 epoch INTEGER NOT NULL DEFAULT 0
             )",
        )?;
        for (name, _, role) in ACCOUNTS {
            connection.execute(
                "INSERT OR IGNORE INTO users (name, role) VALUES (?1, ?2)",
                params![name, role],
            )?;
        }
        Ok(Users {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// The user whose password is `password`, if any.
    pub(crate) async fn authenticate(
        &self,
        name: &str,
        password: &str,
    ) -> rusqlite::Result<Option<User>> {
        let known = ACCOUNTS
            .iter()
            .any(|(n, p, _)| *n == name && *p == password);
        if !known {
            return Ok(None);
        }
        self.find(name).await
    }

    /// The user named `name`, if any.
    pub(crate) async fn find(&self, name: &str) -> rusqlite::Result<Option<User>> {
        let name = name.to_owned();
        self.run(move |connection| {
            connection
                .query_row(
                    "SELECT name, role, epoch FROM users WHERE name = ?1",
                    params![name],
                    |row| {
                        Ok(User {
                            name: row.get(0)?,
                            role: row.get(1)?,
                            epoch: row.get(2)?,
                        })
                    },
                )
                .optional()
        })
        .await
    }

    /// Ends every session of `name`: its epoch moves on.
    pub(crate) async fn bump_epoch(&self, name: &str) -> rusqlite::Result<()> {
        let name = name.to_owned();
        self.run(move |connection| {
            connection
                .execute(
                    "UPDATE users SET epoch = epoch + 1 WHERE name = ?1",
                    params![name],
                )
                .map(drop)
        })
        .await
    }

    /// Runs a query off the async runtime's threads.
    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let connection = connection
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            query(&connection)
        })
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
    }
}
