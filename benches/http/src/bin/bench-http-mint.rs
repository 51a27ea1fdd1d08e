//! `bench-http-mint ADDR COUNT OUT`: mints `COUNT` distinct sessions through
//! `GET /login` of the server at `ADDR` (one keep-alive HTTP/1.1
//! connection) and writes each one's `Cookie` header value, one per line, to
//! `OUT` — the sessions `scripts/bench-http.sh` sends round-robin.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, count, out] = args.as_slice() else {
        eprintln!("usage: bench-http-mint ADDR COUNT OUT");
        std::process::exit(2);
    };
    let count: usize = count
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a count: {count}")));
    let stream = TcpStream::connect(addr).unwrap_or_else(|err| fail(&format!("{addr}: {err}")));
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().expect("clone the socket");
    let mut reader = BufReader::new(stream);
    let mut lines = String::with_capacity(count * 256);
    let mut distinct = std::collections::HashSet::with_capacity(count);
    for _ in 0..count {
        writer
            .write_all(b"GET /login HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            .unwrap_or_else(|err| fail(&format!("write: {err}")));
        let cookie = read_response(&mut reader);
        if !distinct.insert(cookie.clone()) {
            fail("GET /login answered a cookie it had answered before");
        }
        lines.push_str(&cookie);
        lines.push('\n');
    }
    std::fs::write(out, lines).unwrap_or_else(|err| fail(&format!("{out}: {err}")));
}

/// Reads one response; returns its cookies as a `Cookie` header value.
fn read_response(reader: &mut BufReader<TcpStream>) -> String {
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .unwrap_or_else(|err| fail(&format!("read: {err}")));
    if !status.starts_with("HTTP/1.1 200") {
        fail(&format!("GET /login: {}", status.trim_end()));
    }
    let (mut length, mut pairs) = (0usize, Vec::new());
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .unwrap_or_else(|err| fail(&format!("read: {err}")));
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            fail(&format!("not a header line: {line}"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or_else(|_| fail("bad content-length"));
        } else if name.eq_ignore_ascii_case("set-cookie") {
            pairs.push(value.split(';').next().unwrap_or_default().to_owned());
        }
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .unwrap_or_else(|err| fail(&format!("read body: {err}")));
    if pairs.is_empty() {
        fail("GET /login set no cookie");
    }
    pairs.join("; ")
}

fn fail(message: &str) -> ! {
    eprintln!("bench-http-mint: {message}");
    std::process::exit(1);
}
