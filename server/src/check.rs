//! `multiroute check URL --expect TEXT [URL --expect TEXT]...`: asks a running server for
//! each URL and checks that it answers 200 with exactly TEXT. The image has no shell and
//! no curl, so this is how the chart's test hook checks the routes through the Service.
//!
//! - Each `--expect` belongs to the URL before it.
//! - A URL is `http://HOST[:PORT][/PATH]`; the path is sent as written, each byte outside
//!   `A-Z a-z 0-9 / - . _ ~` percent-encoded, so a route may hold any character (the
//!   server matches the decoded path).
//! - Until `--timeout`, a request that cannot connect or gets a 5xx is tried again (the
//!   Service may not have its endpoints yet); any other answer is final.
//! - One line per URL on stdout, `ok` or `failed` and why. Exit code 0 when every URL
//!   answered as expected, 1 otherwise, 2 for invalid arguments.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long one request may take to connect, and then to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between tries.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Bytes of a response read at most: route bodies are small.
const MAX_RESPONSE: u64 = 1 << 20;
/// Characters of a body shown in a failure.
const SHOWN: usize = 200;

/// One URL and the body it must answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub url: String,
    pub body: String,
}

/// Pairs each `--expect` with the URL before it, given where each was on the command
/// line; every URL needs exactly one.
pub fn pair(
    urls: &[(usize, String)],
    expects: &[(usize, String)],
) -> Result<Vec<Expectation>, String> {
    let mut pairs: Vec<(String, Vec<String>)> = urls
        .iter()
        .map(|(_, url)| (url.clone(), Vec::new()))
        .collect();
    for (index, text) in expects {
        let owner = urls.iter().rposition(|(url_index, _)| url_index < index);
        match owner {
            Some(owner) => pairs[owner].1.push(text.clone()),
            None => return Err(format!("--expect {text:?} comes before any URL")),
        }
    }
    pairs
        .into_iter()
        .map(|(url, mut texts)| match texts.len() {
            1 => Ok(Expectation {
                url,
                body: texts.remove(0),
            }),
            0 => Err(format!("{url} has no --expect after it")),
            _ => Err(format!("{url} has more than one --expect after it")),
        })
        .collect()
}

/// Checks every expectation, printing a line for each; succeeds when all held.
pub fn run(expectations: &[Expectation], timeout: Duration) -> ExitCode {
    let mut failures = 0;
    let mut out = io::stdout().lock();
    for expectation in expectations {
        let line = match check(expectation, timeout) {
            Ok(()) => format!("ok: GET {}", expectation.url),
            Err(why) => {
                failures += 1;
                format!("failed: GET {}: {why}", expectation.url)
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "{} of {} URLs answered as expected",
        expectations.len() - failures,
        expectations.len()
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(expectation: &Expectation, timeout: Duration) -> Result<(), String> {
    let target = Target::parse(&expectation.url)?;
    let deadline = Instant::now() + timeout;
    loop {
        let outcome = target.get();
        let retry = match &outcome {
            Err(_) => true,
            Ok((status, _)) => *status >= 500,
        };
        if !retry || Instant::now() + RETRY_PAUSE > deadline {
            let (status, body) = outcome.map_err(|e| format!("no answer: {e}"))?;
            if status != 200 {
                return Err(format!("status {status}, body {}", shown(&body)));
            }
            if body != expectation.body.as_bytes() {
                return Err(format!(
                    "expected the body {}, got {}",
                    shown(expectation.body.as_bytes()),
                    shown(&body)
                ));
            }
            return Ok(());
        }
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// A body for a message: quoted, and cut short.
fn shown(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SHOWN).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// Where a URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `host:port` as written, for the Host header.
    authority: String,
    host: String,
    port: u16,
    /// Percent-encoded.
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs can be checked"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse()
                    .map_err(|_| format!("{url}: \"{port}\" is not a port"))?,
            ),
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Target {
            authority: authority.to_string(),
            host: host.to_string(),
            port,
            path: percent_encode(path),
        })
    }

    /// `GET` with `Connection: close`: the status and the body.
    fn get(&self) -> io::Result<(u16, Vec<u8>)> {
        let address = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::other(format!("{} has no address", self.host)))?;
        let mut stream = TcpStream::connect_timeout(&address, REQUEST_TIMEOUT)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        write!(
            stream,
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: multiroute-check\r\nConnection: close\r\n\r\n",
            self.path, self.authority
        )?;
        let mut response = Vec::new();
        stream.take(MAX_RESPONSE).read_to_end(&mut response)?;
        parse_response(&response)
    }
}

fn percent_encode(path: &str) -> String {
    path.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The status and body of an HTTP/1.1 response read to its end.
fn parse_response(response: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("the answer is not HTTP"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = &response[split + 4..];
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("the answer has no status"))?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = if chunked {
        dechunk(body).ok_or_else(|| invalid("a chunked body is cut short"))?
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(items: &[(usize, &str)]) -> Vec<(usize, String)> {
        items.iter().map(|(i, s)| (*i, s.to_string())).collect()
    }

    #[test]
    fn each_expect_belongs_to_the_url_before_it() {
        let pairs = pair(
            &at(&[(1, "http://a/x"), (4, "http://a/y")]),
            &at(&[(3, "X"), (6, "Y")]),
        )
        .unwrap();
        assert_eq!(pairs[0].body, "X");
        assert_eq!(pairs[1].url, "http://a/y");
        assert!(
            pair(&at(&[(1, "http://a/x")]), &[])
                .unwrap_err()
                .contains("no --expect")
        );
        assert!(
            pair(&at(&[(3, "http://a/x")]), &at(&[(2, "X")]))
                .unwrap_err()
                .contains("before any URL")
        );
        assert!(
            pair(&at(&[(1, "http://a/x")]), &at(&[(3, "X"), (5, "Y")]))
                .unwrap_err()
                .contains("more than one")
        );
    }

    #[test]
    fn urls_name_host_port_and_an_encoded_path() {
        let target = Target::parse("http://web.shop.svc:3000/caf\u{e9} au lait").unwrap();
        assert_eq!(target.host, "web.shop.svc");
        assert_eq!(target.port, 3000);
        assert_eq!(target.path, "/caf%C3%A9%20au%20lait");
        assert_eq!(target.authority, "web.shop.svc:3000");
        let bare = Target::parse("http://[::1]").unwrap();
        assert_eq!(
            (bare.host.as_str(), bare.port, bare.path.as_str()),
            ("::1", 80, "/")
        );
        assert!(Target::parse("https://x/").is_err());
        assert!(Target::parse("http://x:http/").is_err());
    }

    #[test]
    fn responses_are_read_plain_or_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(parse_response(plain).unwrap(), (200, b"hello".to_vec()));
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (404, b"hello".to_vec()));
        assert!(parse_response(b"nonsense").is_err());
    }
}
