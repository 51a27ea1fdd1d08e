//! A key file that changes while the application runs (`KeySource::watch`):
//! a good new ring is picked up within a poll, a broken, empty or deleted
//! file keeps the ring in force and is reported without a key, and a fixed
//! file is picked up again — with the file replaced atomically, as
//! orchestrators do. Through the layer, a session sealed before a rotation
//! keeps opening and is re-sealed with the new primary.
//!
//! One test function: the log capture is process-global.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use client_session::{KeySource, LiveKeyring, SessionConfig};
use common::*;

const POLL: Duration = Duration::from_millis(50);

/// 32 pseudo-random bytes for `seed` (a real key must look random to be accepted).
fn secret_bytes(seed: u8) -> [u8; 32] {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(seed).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    std::array::from_fn(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 24) as u8
    })
}

fn secret(seed: u8) -> String {
    STANDARD.encode(secret_bytes(seed))
}

fn id_of(seed: u8) -> String {
    client_session::Key::from_bytes(&secret_bytes(seed))
        .unwrap()
        .id()
        .to_string()
}

/// Replaces `path` the way orchestrators do: a new file, renamed over it.
fn replace(path: &Path, contents: &str) {
    let temp = path.with_extension("new");
    std::fs::write(&temp, contents).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// The key ids of the ring in force, primary first.
fn ids(live: &LiveKeyring) -> Vec<String> {
    live.current()
        .keys()
        .iter()
        .map(|k| k.id().to_string())
        .collect()
}

/// Waits (up to 10 s) until `live` holds the keys `bytes`, primary first.
fn converges(live: &LiveKeyring, bytes: &[u8], what: &str) {
    let want: Vec<String> = bytes.iter().map(|b| id_of(*b)).collect();
    let start = Instant::now();
    while ids(live) != want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: the ring never became {want:?} (still {:?})",
            ids(live)
        );
        std::thread::sleep(POLL);
    }
}

/// Lets several polls pass and checks the ring did not move.
fn stays(live: &LiveKeyring, bytes: &[u8], what: &str) {
    std::thread::sleep(POLL * 10);
    let want: Vec<String> = bytes.iter().map(|b| id_of(*b)).collect();
    assert_eq!(ids(live), want, "{what}");
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("client-session-live-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_key_file_is_followed_and_a_broken_one_never_replaces_a_working_ring() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("client_session=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = temp_dir();
    let path = dir.join("keys");
    replace(&path, &format!("# the session keys\n{}\n", secret(1)));
    let env = |path: PathBuf| {
        move |name: &str| (name == "SESSION_KEYS_FILE").then(|| OsString::from(path.clone()))
    };
    let live = KeySource::default()
        .watch_from(env(path.clone()), POLL)
        .unwrap();
    assert_eq!(ids(&live), [id_of(1)]);

    // The watcher thread lives as long as a clone of its ring: one more
    // ring, one more thread; dropped, the thread ends within a poll.
    let watchers = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter(|task| {
                let comm = task.as_ref().unwrap().path().join("comm");
                std::fs::read_to_string(comm).is_ok_and(|name| name.trim() == "client-session-")
            })
            .count()
    };
    // (A thread names itself once it runs: wait for each count.)
    let reaches = |count: usize, what: &str| {
        let start = Instant::now();
        while watchers() != count {
            assert!(start.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(POLL);
        }
    };
    reaches(1, "the ring's watcher thread runs");
    let extra = KeySource::default()
        .watch_from(env(path.clone()), POLL)
        .unwrap();
    reaches(2, "a thread per watched ring");
    drop(extra);
    reaches(1, "the watcher thread outlived its ring");

    // Through the layer: a session sealed with key 1.
    let url = app_with(SessionConfig::builder(live.clone())).await;
    let client = browser();
    send_post(&client, format!("{url}/set/user"), r#""alice""#).await;

    // Rotation, three edits, no restart.
    replace(&path, &format!("{}\n{}\n", secret(1), secret(2)));
    converges(&live, &[1, 2], "step 1: [K1, K2]");
    replace(&path, &format!("{}\n{}\n", secret(2), secret(1)));
    converges(&live, &[2, 1], "step 2: [K2, K1]");
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(
        response.text().await.unwrap(),
        r#""alice""#,
        "still logged in"
    );
    let resealed = get(&client, format!("{url}/meta")).await;
    assert!(
        set_cookies(&resealed).is_empty(),
        "re-sealed with key 2 on the read before (an old-key cookie is always re-sealed)"
    );

    // Broken files keep the ring in force, each reported once, without a key.
    for (what, contents) in [
        ("garbage", "not a key at all\n".to_owned()),
        (
            "a short key",
            format!("{}\n", STANDARD.encode(&secret_bytes(7)[..16])),
        ),
        ("empty", String::new()),
        (
            "the same key twice",
            format!("{}\n{}\n", secret(2), secret(2)),
        ),
    ] {
        replace(&path, &contents);
        stays(&live, &[2, 1], what);
    }
    std::fs::remove_file(&path).unwrap();
    stays(&live, &[2, 1], "deleted");
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(
        response.text().await.unwrap(),
        r#""alice""#,
        "still logged in"
    );

    // A good file again: picked up.
    replace(&path, &format!("{}\n", secret(2)));
    converges(&live, &[2], "step 3: [K2]");
    let response = get(&client, format!("{url}/get/user")).await;
    assert_eq!(
        response.text().await.unwrap(),
        r#""alice""#,
        "the session was re-sealed under key 2: nobody logged out"
    );

    // The reload counter, by outcome.
    let reloads: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "client_session_key_reloads_total")
        .map(|(key, _, _, value)| {
            let outcome = key.key().labels().next().unwrap().value().to_owned();
            let metrics_util::debugging::DebugValue::Counter(n) = value else {
                panic!("a counter")
            };
            (outcome, n)
        })
        .collect();
    let count = |outcome: &str| {
        reloads
            .iter()
            .find(|(o, _)| o == outcome)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!((count("loaded"), count("refused")), (3, 5), "{reloads:?}");

    let logged = logs.text();
    let reloads = logged.matches("key ring reloaded").count();
    assert_eq!(reloads, 3, "one line per good new file: {logged}");
    let refusals: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("SESSION_KEYS_FILE"))
        .collect();
    assert_eq!(refusals.len(), 5, "one line per broken file: {logged}");
    for seed in [1u8, 2, 7] {
        let bytes = secret_bytes(seed);
        for text in [STANDARD.encode(bytes), STANDARD.encode(&bytes[..16])] {
            assert!(!logged.contains(&text[..16]), "a key in the logs: {logged}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keys_from_the_list_variable_never_change() {
    let live = KeySource::default()
        .watch_from(
            |name| (name == "SESSION_KEYS").then(|| OsString::from(secret(3))),
            POLL,
        )
        .unwrap();
    assert_eq!(ids(&live), [id_of(3)]);
}
