//! A loopback TCP proxy that adds a fixed delay to every request, for `scripts/bench-sync.sh`:
//! a registry on 127.0.0.1 answers in about a millisecond, one across the internet in tens.
//!
//! `latency_proxy UPSTREAM DELAY_MS` listens on `127.0.0.1:0`, prints `PROXY=127.0.0.1:PORT`,
//! and forwards each connection to UPSTREAM (which must be on loopback). Every chunk the client
//! sends — with HTTP/1.1, one request — is held back DELAY_MS before it goes upstream; answers
//! flow back at once (TCP_NODELAY on both sides). When stdin closes it prints the connections accepted and the most
//! requests in flight at once, and exits.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    requests: AtomicUsize,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(upstream), Some(delay)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: latency_proxy UPSTREAM_HOST:PORT DELAY_MS");
        std::process::exit(2);
    };
    let upstream: SocketAddr = match upstream.parse() {
        Ok(a) if SocketAddr::ip(&a).is_loopback() => a,
        _ => {
            eprintln!("error: upstream `{upstream}` must be a loopback address with a port");
            std::process::exit(2);
        }
    };
    let delay = Duration::from_millis(delay.parse().unwrap_or(30));
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("PROXY={addr}");
    let stats = Arc::new(Stats::default());
    let accept = {
        let stats = stats.clone();
        async move {
            while let Ok((client, _)) = listener.accept().await {
                stats.connections.fetch_add(1, Ordering::Relaxed);
                let stats = stats.clone();
                tokio::spawn(async move {
                    // No Nagle on either side: a proxy that adds a fixed delay must not add the
                    // 40 ms stall of a small write waiting for a delayed ACK as well.
                    let _ = client.set_nodelay(true);
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = server.set_nodelay(true);
                        relay(client, server, delay, stats).await;
                    }
                });
            }
        }
    };
    let stdin_closed = async {
        let mut buf = [0u8; 64];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        _ = accept => {}
        _ = stdin_closed => {}
    }
    eprintln!(
        "proxy: {} connections, {} requests, at most {} in flight",
        stats.connections.load(Ordering::Relaxed),
        stats.requests.load(Ordering::Relaxed),
        stats.max_in_flight.load(Ordering::Relaxed)
    );
}

/// Client → (delay) → server; server → client as it comes.
async fn relay(client: TcpStream, server: TcpStream, delay: Duration, stats: Arc<Stats>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let now = stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            stats.max_in_flight.fetch_max(now, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}
