//! HTTP below the client libraries: raw bytes over a `TcpStream`, for the requests no
//! well-behaved client sends. Every answer the server can still give carries the JSON error
//! shape and the status that names the cause: 413 for a body over the limit (declared or
//! streamed), 400 for a body that does not arrive whole.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::*;

/// An answer read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, asserting the content type.
    pub fn json(&self) -> Value {
        assert!(
            self.head
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "a JSON answer: {}",
            self.head
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "JSON body ({e}): {:?} after {}",
                String::from_utf8_lossy(&self.body),
                self.head
            )
        })
    }

    /// The error text of an InvAPI error envelope, asserting its shape.
    pub fn error(&self) -> String {
        error_of(&self.json())
    }
}

/// Far above anything these requests wait for, far below a hang.
const SOON: Duration = Duration::from_secs(20);

/// Sends `parts` one after the other (flushing each, so that hyper sees them as separate
/// reads), half-closes the connection if `then_close`, and reads the one answer.
pub async fn raw(app: &TestApp, parts: &[&[u8]], then_close: bool) -> Answer {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    for part in parts {
        // The server may answer (and stop reading) before everything is sent: a write
        // error then is the point of the test, not a failure.
        if stream.write_all(part).await.is_err() {
            break;
        }
        let _ = stream.flush().await;
    }
    if then_close {
        let _ = stream.shutdown().await;
    }
    read_answer(&mut stream).await
}

/// Reads one answer: the head, then `Content-Length` bytes of body (or up to the close).
pub async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = timeout(SOON, stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap_or(0);
        assert!(
            n > 0,
            "closed without an answer; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("content-length"))
        })
        .unwrap_or(usize::MAX);
    while buf.len() - head_end < length {
        let n = timeout(SOON, stream.read(&mut chunk))
            .await
            .expect("the body in time")
            .unwrap_or(0);
        if n == 0 {
            assert_eq!(length, usize::MAX, "body cut short: {head}");
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Answer {
        status,
        head,
        body: buf[head_end..].to_vec(),
    }
}

/// One chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const CHUNKED_HEAD: &str = "POST /eq.php HTTP/1.1\r\nHost: emu\r\n\
                            Content-Type: application/x-www-form-urlencoded\r\n\
                            Transfer-Encoding: chunked\r\n\r\n";

const MULTIPART_HEAD: &str = "POST /eq.php HTTP/1.1\r\nHost: emu\r\n\
                              Content-Type: multipart/form-data; boundary=XyZ\r\n\
                              Transfer-Encoding: chunked\r\n\r\n";

/// The 413 text of eq.php at the default limit.
const TOO_LARGE: &str = "eq: request body too large (limit 1048576 bytes)";

/// The issue's case: a 2 MB multipart body sent chunked answered 200 "failed to read
/// stream".
#[tokio::test]
async fn a_chunked_multipart_body_over_the_limit_gets_413() {
    let app = TestApp::spawn().await;
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nlist\r\n\
                     --XyZ\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n"
        .to_vec();
    body.extend(std::iter::repeat_n(b'j', 2 * 1000 * 1000));
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let chunks: Vec<Vec<u8>> = body.chunks(64 * 1024).map(chunk).collect();
    let mut parts: Vec<&[u8]> = vec![MULTIPART_HEAD.as_bytes()];
    parts.extend(chunks.iter().map(Vec::as_slice));
    parts.push(b"0\r\n\r\n");
    let answer = raw(&app, &parts, false).await;
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert_eq!(answer.error(), TOO_LARGE);
    app.stop().await;
}

#[tokio::test]
async fn a_chunked_form_over_the_limit_and_a_declared_length_over_it_get_413() {
    let app = TestApp::spawn().await;
    let big = chunk(&vec![b'a'; 700 * 1024]);
    let answer = raw(
        &app,
        &[CHUNKED_HEAD.as_bytes(), &big, &big, b"0\r\n\r\n"],
        false,
    )
    .await;
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert_eq!(answer.error(), TOO_LARGE);
    // A declared length over the limit is refused before any of the body is sent.
    let head = "POST /eq.php HTTP/1.1\r\nHost: emu\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 2000000\r\n\r\n";
    let answer = raw(&app, &[head.as_bytes()], false).await;
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert_eq!(answer.error(), TOO_LARGE);
    app.stop().await;
}

/// The other case: a malformed chunk size answered 413 "too large".
#[tokio::test]
async fn a_malformed_chunk_gets_400_naming_a_broken_body() {
    let app = TestApp::spawn().await;
    for (head, first) in [
        (CHUNKED_HEAD, chunk(b"action=list&")),
        (
            MULTIPART_HEAD,
            chunk(b"--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nlist\r\n"),
        ),
    ] {
        let answer = raw(
            &app,
            &[head.as_bytes(), &first, b"zz\r\nnot a chunk\r\n0\r\n\r\n"],
            false,
        )
        .await;
        assert_eq!(answer.status, 400, "{head}: {}", answer.head);
        let error = answer.error();
        assert!(
            error.starts_with("eq: broken request body: ") && error.contains("chunk"),
            "{error}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_body_cut_short_by_the_client_gets_400_naming_a_broken_body() {
    let app = TestApp::spawn().await;
    let declared = "POST /eq.php HTTP/1.1\r\nHost: emu\r\n\
                    Content-Type: application/x-www-form-urlencoded\r\n\
                    Content-Length: 100\r\n\r\naction=list&tok";
    let chunked = format!("{CHUNKED_HEAD}10\r\naction=list&tok");
    let multipart = format!(
        "{MULTIPART_HEAD}{}",
        String::from_utf8(chunk(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nlist\r\n"
        ))
        .expect("text")
    );
    for request in [declared, &chunked, &multipart] {
        let answer = raw(&app, &[request.as_bytes()], true).await;
        assert_eq!(answer.status, 400, "{request}: {}", answer.head);
        let error = answer.error();
        assert!(error.starts_with("eq: broken request body: "), "{error}");
    }
    app.stop().await;
}

/// A body that arrives whole but does not parse stays an API-level error (HTTP 200, as
/// `requests.rs` pins for junk bodies), and a good chunked body works.
#[tokio::test]
async fn whole_bodies_keep_their_answers() {
    let app = TestApp::spawn().await;
    let good = chunk(b"action=teleport");
    let answer = raw(&app, &[CHUNKED_HEAD.as_bytes(), &good, b"0\r\n\r\n"], false).await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert_eq!(answer.error(), "eq: unknown action teleport");
    // A mixed-case boundary is matched as sent (the fuzz found it lower-cased).
    let form = chunk(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nteleport\r\n--XyZ--\r\n",
    );
    let answer = raw(
        &app,
        &[MULTIPART_HEAD.as_bytes(), &form, b"0\r\n\r\n"],
        false,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert_eq!(answer.error(), "eq: unknown action teleport");
    let unfinished = chunk(b"--XyZ\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nli");
    let answer = raw(
        &app,
        &[MULTIPART_HEAD.as_bytes(), &unfinished, b"0\r\n\r\n"],
        false,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert!(
        answer
            .error()
            .starts_with("eq: malformed request body: multipart: "),
        "{}",
        answer.error()
    );
    app.stop().await;
}

/// A request head, with `extra` header lines, for `target`.
fn head_for(target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: emu\r\n{extra}\r\n")
}

/// Over-long URIs: over the documented 8 KiB the app answers 414, over hyper's 64 KiB hyper
/// does, and both carry the JSON body (hyper's used to be empty).
#[tokio::test]
async fn over_long_uris_get_414_in_the_json_shape() {
    let app = TestApp::spawn().await;
    let fits = format!("/eq.php?action=teleport&pad={}", "p".repeat(8000));
    let answer = raw(&app, &[head_for(&fits, "").as_bytes()], false).await;
    assert_eq!(
        answer.status, 200,
        "8 KiB of target still fits: {}",
        answer.head
    );
    for len in [9 * 1024, 70 * 1024] {
        let target = format!("/eq.php?action=list&pad={}", "p".repeat(len));
        let answer = raw(&app, &[head_for(&target, "").as_bytes()], false).await;
        assert_eq!(answer.status, 414, "{len}: {}", answer.head);
        assert_eq!(answer.error(), "request URI too long (limit 8192 bytes)");
    }
    app.stop().await;
}

/// Oversized header sections: over the documented 64 KiB the app answers 431; more than
/// 100 fields, or a head over hyper's buffer, hyper does; all with the JSON body.
#[tokio::test]
async fn oversized_headers_get_431_in_the_json_shape() {
    let app = TestApp::spawn().await;
    let text = "request header fields too large (limit 100 fields, 65536 bytes)";
    let fields = |n: usize, size: usize| -> String {
        (0..n)
            .map(|i| format!("X-Pad-{i}: {}\r\n", "h".repeat(size)))
            .collect()
    };
    let cases = [
        ("70 KiB in 10 fields", fields(10, 7 * 1024)),
        ("120 fields", fields(120, 8)),
        ("500 KiB in one field", fields(1, 500 * 1024)),
    ];
    for (what, extra) in cases {
        let answer = raw(&app, &[head_for("/eq.php", &extra).as_bytes()], false).await;
        assert_eq!(answer.status, 431, "{what}: {}", answer.head);
        assert_eq!(answer.error(), text, "{what}");
    }
    let fits = raw(
        &app,
        &[head_for("/eq.php", &fields(90, 600)).as_bytes()],
        false,
    )
    .await;
    assert_eq!(fits.status, 200, "90 fields, 54 KiB: {}", fits.head);
    app.stop().await;
}

/// Heads hyper cannot parse used to get an empty 400; now the JSON shape, and the server
/// stays healthy.
#[tokio::test]
async fn malformed_request_lines_and_headers_get_400_in_the_json_shape() {
    let app = TestApp::spawn().await;
    let heads: [&[u8]; 5] = [
        b"GET /eq.php?action=list&x=a b HTTP/1.1\r\nHost: emu\r\n\r\n",
        b"G\x01T /eq.php HTTP/1.1\r\nHost: emu\r\n\r\n",
        b"GET /eq.php HTTP/1.1\r\nHost: emu\r\nBroken Header\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ];
    for head in heads {
        let answer = raw(&app, &[head], false).await;
        assert_eq!(
            answer.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(head),
            answer.head
        );
        assert_eq!(
            answer.error(),
            "malformed request: not a valid HTTP/1.1 request line or header"
        );
    }
    let answer = raw(&app, &[head_for("/_emu/health", "").as_bytes()], false).await;
    assert_eq!(answer.status, 200, "{}", answer.head);
    app.stop().await;
}

/// What stays without an answer, as the README says: an HTTP/2 prior-knowledge preface is
/// closed at once.
#[tokio::test]
async fn an_http2_preface_is_closed_without_an_answer() {
    let app = TestApp::spawn().await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("write");
    let mut rest = Vec::new();
    timeout(SOON, stream.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .ok();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    app.stop().await;
}
