//! Nonces never repeat across `fork()`: a process that has sealed a cookie
//! forks, parent and child each seal one more, and their nonces differ.
//!
//! With a user-space generator (such as `rand`'s thread-local one, used by
//! 0.1) the child inherits the parent's generator state and both draw the
//! same bytes: two cookies under one key with the same nonce give away the
//! GHASH key, and with it forgery. The codec takes every nonce from the
//! operating system instead.
//!
//! Its own test binary with one test, so no other test runs while it forks:
//! the process then has libtest's main thread, waiting, and this test's.
#![allow(unsafe_code)] // fork(2) and _exit(2); nothing else

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;

use base64::Engine as _;
use client_session::{Key, Keyring, SessionCodec, SessionData};

/// The 24-byte nonce of a sealed value (after version and key id).
fn nonce_of(value: &str) -> Vec<u8> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .expect("a sealed value is base64url");
    sealed[5..29].to_vec()
}

fn seal(codec: &SessionCodec) -> Vec<u8> {
    let mut data = SessionData::new();
    data.insert("user", "alice").expect("a string serializes");
    nonce_of(
        &codec
            .seal(&data, 1_700_000_000, 1_700_003_600)
            .expect("small body"),
    )
}

#[test]
fn parent_and_child_seal_with_different_nonces_after_fork() {
    let codec = SessionCodec::new(Keyring::single(Key::generate()), "session");
    // Seal before forking, so any generator state exists and is copied.
    let before = seal(&codec);
    let (mut parent_end, mut child_end) = UnixStream::pair().expect("socketpair");

    // SAFETY: the only other thread is libtest's main thread, blocked waiting
    // for this test, holding no lock the child needs (glibc's fork handlers
    // reset malloc's; getrandom takes none). The child seals, writes and
    // leaves with `_exit`, running no destructor and no atexit hook.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let nonce = seal(&codec);
        let status = i32::from(child_end.write_all(&nonce).is_err());
        // SAFETY: ends the child at once, as after any fork.
        unsafe { libc::_exit(status) };
    }
    drop(child_end);
    let in_parent = seal(&codec);
    let mut in_child = Vec::new();
    parent_end
        .read_to_end(&mut in_child)
        .expect("read the child's nonce");
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status}"
    );

    assert_eq!(in_child.len(), 24, "the child sent its nonce");
    assert_ne!(in_parent, before);
    assert_ne!(
        in_parent, in_child,
        "parent and child sealed with the same nonce after fork"
    );
}
