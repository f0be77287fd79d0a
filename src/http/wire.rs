//! [`JsonRefusals`]: the connection wrapper that gives hyper's own refusals the JSON body
//! every other answer of the emulator has.
//!
//! hyper answers a request head it cannot take (a malformed request line or header: 400; a
//! URI over 64 KiB: 414; more than 100 header fields or a head larger than its read buffer:
//! 431) before any service sees the request, with an empty body, and offers no hook to
//! change that answer. The answer is recognisable on the wire, though: one write holding
//! only a head whose status line is 400, 414 or 431 and which declares `content-length: 0`.
//! The emulator's own 400/414/431 answers always carry a JSON body (and JSON never contains
//! a raw CRLF, so no body bytes look like a head), so nothing else matches. This wrapper
//! replaces that one write with the same head plus the JSON body of
//! [`super::limits::refusal_body`]; every other byte passes through untouched.
//!
//! What still gets no JSON: a connection that closes or times out before its head ends (no
//! answer is possible), and an HTTP/2 prior-knowledge preface, which hyper closes without
//! an answer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::limits;

/// A connection whose hyper-made refusals are rewritten into the JSON error shape.
#[derive(Debug)]
pub struct JsonRefusals<T> {
    inner: T,
    /// A rewritten refusal, accepted from hyper in place of its own, and how much of it has
    /// reached the connection so far.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonRefusals<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        JsonRefusals {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonRefusals<T> {
    /// Writes what is left of a rewritten refusal; ready once nothing is left.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Self { inner, pending } = self;
        while let Some((bytes, written)) = pending {
            if *written == bytes.len() {
                *pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut *inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes a rewritten refusal in place of `original_len` bytes of hyper's: reports them
    /// all written (they are, in their new form, as far as hyper is concerned) and starts
    /// writing; the rest goes out on the next write, flush or shutdown, which hyper always
    /// makes after a refusal.
    fn accept(
        &mut self,
        cx: &mut Context<'_>,
        replacement: Vec<u8>,
        original_len: usize,
    ) -> Poll<io::Result<usize>> {
        self.pending = Some((replacement, 0));
        match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(original_len)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonRefusals<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            return this.accept(cx, replacement, buf.len());
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        // A refusal is a head alone: exactly one non-empty slice.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if let Some(replacement) = replacement_for(only) {
                return this.accept(cx, replacement, only.len());
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The JSON version of one write, if that write is a refusal of hyper's own: a head alone,
/// status 400, 414 or 431, `content-length: 0`. The head keeps its other fields (hyper's
/// `connection: close` and `date`).
fn replacement_for(write: &[u8]) -> Option<Vec<u8>> {
    let text = if write.starts_with(b"HTTP/1.1 400 ") {
        limits::MALFORMED_TEXT.to_owned()
    } else if write.starts_with(b"HTTP/1.1 414 ") {
        limits::uri_too_long_text()
    } else if write.starts_with(b"HTTP/1.1 431 ") {
        limits::headers_too_large_text()
    } else {
        return None;
    };
    // The write must be one head and nothing more: its only blank line ends it.
    let head = write.strip_suffix(b"\r\n")?;
    if !head.ends_with(b"\r\n") || find(head, b"\r\n\r\n").is_some() {
        return None;
    }
    const EMPTY: &[u8] = b"\r\ncontent-length: 0\r\n";
    let at = find(head, EMPTY)?;
    let body = limits::refusal_body(&text);
    let mut out = Vec::with_capacity(write.len() + body.len() + 48);
    out.extend_from_slice(&head[..at + 2]);
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&head[at + EMPTY.len()..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HYPER_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\
                               content-length: 0\r\ndate: Wed, 02 Dec 2026 14:50:13 GMT\r\n\r\n";

    #[test]
    fn a_hyper_refusal_gets_the_json_body_and_keeps_its_other_fields() {
        let out = replacement_for(HYPER_400).expect("rewritten");
        let body = limits::refusal_body(limits::MALFORMED_TEXT);
        let expected = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n\
             content-length: {}\r\ndate: Wed, 02 Dec 2026 14:50:13 GMT\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(String::from_utf8(out).expect("text"), expected);
        let last = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let out = String::from_utf8(replacement_for(last).expect("rewritten")).expect("text");
        assert!(out.ends_with("\r\n\r\n{\"result\":-1,\"error\":\"request header fields too large (limit 100 fields, 65536 bytes)\"}"), "{out}");
    }

    #[test]
    fn the_emulators_own_answers_pass_untouched() {
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                          content-length: 2\r\n\r\n{}";
        let ok_head = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        let two_heads = [HYPER_400, HYPER_400].concat();
        for write in [&with_body[..], ok_head, &two_heads, &HYPER_400[..40]] {
            assert_eq!(
                replacement_for(write),
                None,
                "{:?}",
                String::from_utf8_lossy(write)
            );
        }
    }

    /// Through a pipe that takes 7 bytes at a time, the rewritten refusal still arrives
    /// whole, and hyper is told its own bytes were written.
    #[tokio::test]
    async fn a_refusal_written_in_pieces_arrives_whole() {
        let (near, mut far) = tokio::io::duplex(7);
        let mut conn = JsonRefusals::new(near);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            far.read_to_end(&mut got).await.expect("read");
            got
        });
        let n = conn.write(HYPER_400).await.expect("write");
        assert_eq!(n, HYPER_400.len());
        conn.shutdown().await.expect("shutdown");
        drop(conn);
        let got = reader.await.expect("reader");
        assert_eq!(got, replacement_for(HYPER_400).expect("rewritten"));
    }
}
