//! Reading an answer's body within a cap, for every reqwest client here: one reader for data
//! ([`read_capped`]: too large or cut off is [`BodyError`]) and one for error bodies, which are
//! only quoted ([`read_prefix`]: their start, whatever happens after it).
//!
//! `Content-Length` is not trusted (it may be absent or lie), so the cap is checked while the
//! chunks arrive: a misrouted URL answering with a 2 GB file costs the cap, not the file.

use bytes::Bytes;

/// Why a body could not be read whole. Each client maps it into its own error, which names
/// the request and the document.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body (or its declared length) passes the cap.
    #[error("the body passes {limit} bytes")]
    TooLarge { limit: u64 },
    /// The connection closed before the whole body arrived.
    #[error("the body was cut off after {received} bytes")]
    CutOff {
        received: usize,
        #[source]
        source: reqwest::Error,
    },
}

/// The whole body, at most `cap` bytes.
pub async fn read_capped(mut resp: reqwest::Response, cap: u64) -> Result<Bytes, BodyError> {
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(BodyError::TooLarge { limit: cap });
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if buf.len() as u64 + c.len() as u64 > cap {
                    return Err(BodyError::TooLarge { limit: cap });
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => return Ok(Bytes::from(buf)),
            Err(source) => {
                return Err(BodyError::CutOff {
                    received: buf.len(),
                    source,
                })
            }
        }
    }
}

/// The first `cap` bytes of an error body (all of it when shorter): only its start is shown
/// (through [`crate::summary`]), so an endless or huge error page is cut rather than read to
/// the deadline. A body that breaks off gives what arrived.
pub async fn read_prefix(mut resp: reqwest::Response, cap: u64) -> Bytes {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    while buf.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = cap - buf.len();
                buf.extend_from_slice(&c[..c.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server on loopback that answers any request with `head` + `body` and
    /// closes the connection (so a `Content-Length` longer than `body` is a cut-off answer).
    async fn serve(head: String, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; 4096];
            let _ = sock.read(&mut req).await;
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
        });
        format!("http://{addr}/")
    }

    async fn get(head: &str, body: &[u8]) -> reqwest::Response {
        let url = serve(head.to_string(), body.to_vec()).await;
        reqwest::get(url).await.unwrap()
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let resp = get("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello").await;
        assert_eq!(
            read_capped(resp, 5).await.unwrap(),
            Bytes::from_static(b"hello")
        );
    }

    #[tokio::test]
    async fn a_declared_length_past_the_cap_is_too_large() {
        let resp = get(
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
            b"hello world",
        )
        .await;
        let e = read_capped(resp, 10).await.unwrap_err();
        assert!(matches!(e, BodyError::TooLarge { limit: 10 }), "{e:?}");
        assert_eq!(e.to_string(), "the body passes 10 bytes");
    }

    /// No `Content-Length` (read to the close): the cap is checked as the bytes arrive.
    #[tokio::test]
    async fn an_undeclared_body_past_the_cap_is_too_large() {
        let resp = get(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            &[b'x'; 4096],
        )
        .await;
        let e = read_capped(resp, 1000).await.unwrap_err();
        assert!(matches!(e, BodyError::TooLarge { limit: 1000 }), "{e:?}");
    }

    #[tokio::test]
    async fn a_body_shorter_than_declared_is_cut_off() {
        let resp = get(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            b"0123456789",
        )
        .await;
        let e = read_capped(resp, 1000).await.unwrap_err();
        assert!(matches!(e, BodyError::CutOff { received: 10, .. }), "{e:?}");
        assert_eq!(e.to_string(), "the body was cut off after 10 bytes");
    }

    #[tokio::test]
    async fn an_error_body_gives_its_start_even_when_cut_off() {
        let resp = get(
            "HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\n",
            b"0123456789",
        )
        .await;
        assert_eq!(read_prefix(resp, 4).await, Bytes::from_static(b"0123"));
        let resp = get(
            "HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\n",
            b"0123456789",
        )
        .await;
        assert_eq!(
            read_prefix(resp, 64).await,
            Bytes::from_static(b"0123456789")
        );
    }
}
