//! A seeded fault proxy: a loopback HTTP/1.1 forwarder placed between `xnat-cmd` and a real
//! upstream (the CNCF registry, the XNAT emulator) that, per request, injects a fault chosen
//! from a seed — a reset before the upstream saw the request, a reset after it acted, a
//! 500/502/503, a 429 with `Retry-After`, a slow answer, or a body cut short under a
//! `Content-Length` that promises more.
//!
//! Written by hand on tokio sockets rather than with hyper: the faults are exactly what an
//! HTTP library exists to prevent (a reset at a chosen point, a body shorter than its
//! `Content-Length`), so the proxy needs the bytes and the socket in its own hands. It speaks
//! only what the tests need: one request per connection (answers carry `Connection: close`),
//! request bodies by `Content-Length`, responses read to EOF from an upstream told to close.
//!
//! Determinism: the fault of a request is a hash of the seed, the proxy's name, the request
//! line and how many times that request line was seen before — not of arrival order — so
//! concurrent requests get the same faults in every replay of a seed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most bytes of a request head or a whole upstream response the proxy holds.
const MAX_HEAD: usize = 64 * 1024;
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reset the client's connection before anything is forwarded.
    ResetBefore,
    /// Forward, let the upstream act, then reset instead of answering.
    ResetAfter,
    /// Answer this status (500, 502 or 503) without forwarding.
    Status(u16),
    /// Answer 429 with `Retry-After: N` (seconds) without forwarding.
    TooMany { retry_after: u64 },
    /// Wait this long, then forward normally.
    Slow(Duration),
    /// Forward, then send the head with a `Content-Length` larger than the bytes that follow,
    /// and close.
    Truncate,
}

/// splitmix64 (Steele, Lea & Flood 2014), written out because it is five lines: one step of
/// a tiny, well-mixed PRNG is all a per-request choice needs, and its output must never change
/// under a dependency upgrade (a seed printed by a failed CI run must replay the same faults).
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of the request's identity (stable across Rust versions, unlike `DefaultHasher`).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What identifies a request across replays: its path without the query (which holds the
/// loopback ports of this process, `?image=127.0.0.1:PORT/…`) and with every run of digits
/// as `N` (command and wrapper ids grow while one emulator serves many runs; a replay starts
/// from 1). Requests to one path are told apart by how many came before.
fn replay_key(target: &str) -> String {
    let path = target.split('?').next().unwrap_or(target);
    let mut key = String::with_capacity(path.len());
    let mut in_digits = false;
    for c in path.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                key.push('N');
            }
            in_digits = true;
        } else {
            key.push(c);
            in_digits = false;
        }
    }
    key
}

/// Which faults to inject, shared by the proxies of one test run (registry and XNAT).
#[derive(Debug, Default)]
pub struct FaultPlan {
    inner: Mutex<PlanState>,
}

#[derive(Debug, Default)]
struct PlanState {
    /// `None`: forward everything untouched.
    seed: Option<u64>,
    /// Percent of requests that get a fault.
    rate: u64,
    /// Per proxy name, a rate other than `rate`.
    rates: HashMap<String, u64>,
    /// Request line → times seen under the current seed.
    seen: HashMap<String, u64>,
    /// Faults injected under the current seed, in the order they were decided.
    injected: Vec<String>,
}

impl FaultPlan {
    pub fn new() -> Arc<Self> {
        Arc::new(FaultPlan::default())
    }

    /// Inject faults into `rate` percent of requests, chosen by `seed`, from now on.
    pub fn arm(&self, seed: u64, rate: u64) {
        let mut s = self.lock();
        *s = PlanState {
            seed: Some(seed),
            rate: rate.min(100),
            ..PlanState::default()
        };
    }

    /// After [`FaultPlan::arm`]: fault `rate` percent of proxy `name`'s requests instead.
    pub fn set_rate(&self, name: &str, rate: u64) {
        self.lock().rates.insert(name.to_string(), rate.min(100));
    }

    /// Forward everything untouched from now on.
    pub fn disarm(&self) {
        let mut s = self.lock();
        s.seed = None;
    }

    /// The faults injected since the last [`FaultPlan::arm`], one line each.
    pub fn injected(&self) -> Vec<String> {
        self.lock().injected.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fault (if any) for this request of proxy `name`.
    fn decide(&self, name: &str, method: &str, target: &str) -> Option<Fault> {
        let mut s = self.lock();
        let seed = s.seed?;
        let line = format!("{method} {target}");
        let key = replay_key(target);
        let n = {
            let c = s.seen.entry(format!("{name} {method} {key}")).or_insert(0);
            *c += 1;
            *c
        };
        let h = splitmix64(seed ^ fnv1a(&[name, method, &key]) ^ splitmix64(n));
        let rate = s.rates.get(name).copied().unwrap_or(s.rate);
        if h % 100 >= rate {
            return None;
        }
        let pick = (h >> 8) % 7;
        let arg = h >> 16;
        let fault = match pick {
            0 => Fault::ResetBefore,
            1 => Fault::ResetAfter,
            2 => Fault::Status([500, 502, 503][(arg % 3) as usize]),
            // Mostly 0 s: a real wait of a second now and then, not on every one.
            3 => Fault::TooMany {
                retry_after: u64::from(arg.is_multiple_of(4)),
            },
            4 => Fault::Slow(Duration::from_millis(20 + arg % 180)),
            5 => Fault::Truncate,
            _ => Fault::ResetAfter,
        };
        s.injected.push(format!("{name}: {line} #{n} → {fault:?}"));
        Some(fault)
    }
}

/// A running proxy: `addr` forwards to the upstream. Stopped on Drop.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listen on `127.0.0.1:0` and forward to `upstream`, faults from `plan` (named `name`
    /// in its log and its choices, so two proxies under one plan fault independently).
    pub fn start(name: &str, upstream: SocketAddr, plan: Arc<FaultPlan>) -> FaultProxy {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        std_listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = std_listener.local_addr().expect("proxy address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let name = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{name}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    let name: Arc<str> = name.into();
                    let accept = async {
                        loop {
                            let Ok((sock, _)) = listener.accept().await else {
                                continue;
                            };
                            let plan = plan.clone();
                            let name = name.clone();
                            tokio::spawn(async move {
                                let _ = serve(sock, upstream, &name, &plan).await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stopped => {}
                    }
                });
                // Connections still open are dropped with the runtime.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("spawn the proxy thread");
        FaultProxy {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request as read from the client.
struct Request {
    method: String,
    target: String,
    /// Header lines (without CRLF), hop-by-hop ones removed.
    headers: Vec<String>,
    body: Vec<u8>,
}

/// Close with a TCP RST (linger 0) rather than a FIN.
fn reset(sock: TcpStream) {
    let _ = sock.set_zero_linger();
    drop(sock);
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    name: &str,
    plan: &FaultPlan,
) -> std::io::Result<()> {
    let Some(req) = read_request(&mut client).await? else {
        // Not HTTP (a TLS ClientHello from an HTTPS-first client): refuse it as a plain
        // HTTP server would, by closing.
        return Ok(());
    };
    let fault = plan.decide(name, &req.method, &req.target);
    match fault {
        Some(Fault::ResetBefore) => {
            reset(client);
            return Ok(());
        }
        Some(Fault::Status(code)) => {
            let body = format!("injected fault: HTTP {code}\n");
            let head = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            client.write_all(head.as_bytes()).await?;
            client.write_all(body.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::TooMany { retry_after }) => {
            let head = format!(
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            client.write_all(head.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        _ => {}
    }
    let raw = match forward(&req, upstream).await {
        Ok(raw) => raw,
        Err(_) => {
            // The upstream failed for real: say so as a gateway would.
            let head = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            client.write_all(head.as_bytes()).await?;
            return client.shutdown().await;
        }
    };
    if fault == Some(Fault::ResetAfter) {
        reset(client);
        return Ok(());
    }
    let Some((status_line, headers, body)) = split_response(&raw, &req.method) else {
        client.write_all(&raw).await?;
        return client.shutdown().await;
    };
    let mut out = format!("{status_line}\r\n");
    for h in &headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    match body {
        // HEAD, 204, 304: the upstream's own length headers stand, no body follows.
        None => {
            if fault == Some(Fault::Truncate) {
                reset(client);
                return Ok(());
            }
            out.push_str("Connection: close\r\n\r\n");
            client.write_all(out.as_bytes()).await?;
        }
        Some(body) => {
            let (claimed, sent) = if fault == Some(Fault::Truncate) {
                (body.len() + 64, &body[..body.len() / 2])
            } else {
                (body.len(), &body[..])
            };
            out.push_str(&format!(
                "Content-Length: {claimed}\r\nConnection: close\r\n\r\n"
            ));
            client.write_all(out.as_bytes()).await?;
            client.write_all(sent).await?;
        }
    }
    client.shutdown().await
}

/// Read one request head and its `Content-Length` body; `None` when it is not HTTP.
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if !buf[0].is_ascii_uppercase() {
            return Ok(None);
        }
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Ok(None);
    };
    let mut headers = Vec::new();
    let mut length = 0usize;
    for line in lines {
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        let k = k.trim().to_ascii_lowercase();
        if k == "content-length" {
            length = v.trim().parse().unwrap_or(0);
        }
        if matches!(
            k.as_str(),
            "connection" | "keep-alive" | "proxy-connection" | "te" | "upgrade"
        ) {
            continue;
        }
        headers.push(line.to_string());
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body,
    }))
}

/// Send the request upstream with `Connection: close` and read the whole answer.
async fn forward(req: &Request, upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for h in &req.headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).await?;
    up.write_all(&req.body).await?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = up.read(&mut chunk).await?;
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_RESPONSE {
            return Err(std::io::Error::other("upstream response too large"));
        }
    }
}

/// The status line, the headers to pass on (framing and hop-by-hop ones removed unless the
/// response has no body) and the decoded body (`None` for HEAD, 1xx, 204 and 304).
fn split_response(raw: &[u8], method: &str) -> Option<(String, Vec<String>, Option<Vec<u8>>)> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_string();
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let bodiless = method == "HEAD" || status < 200 || status == 204 || status == 304;
    let mut chunked = false;
    let mut headers = Vec::new();
    for line in lines {
        let k = line
            .split_once(':')
            .map_or(line, |(k, _)| k)
            .trim()
            .to_ascii_lowercase();
        match k.as_str() {
            "transfer-encoding" => {
                chunked = line.to_ascii_lowercase().contains("chunked");
                continue;
            }
            "content-length" if !bodiless => continue,
            "connection" | "keep-alive" => continue,
            _ => headers.push(line.to_string()),
        }
    }
    let rest = &raw[end + 4..];
    let body = if bodiless {
        None
    } else if chunked {
        Some(dechunk(rest)?)
    } else {
        Some(rest.to_vec())
    };
    Some((status_line, headers, body))
}

/// Decode a chunked body (extensions and trailers ignored).
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode() {
        let cases: [(&[u8], Option<&[u8]>); 4] = [
            (b"5\r\nhello\r\n0\r\n\r\n", Some(b"hello")),
            (b"2;x=1\r\nab\r\n1\r\nc\r\n0\r\n\r\n", Some(b"abc")),
            (b"0\r\n\r\n", Some(b"")),
            (b"5\r\nhel", None),
        ];
        for (input, want) in cases {
            assert_eq!(dechunk(input).as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn responses_split_into_status_headers_and_body() {
        let raw =
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\nhi";
        let (status, headers, body) = split_response(raw, "GET").unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(headers, ["X-A: 1"]);
        assert_eq!(body.as_deref(), Some(&b"hi"[..]));
        // HEAD keeps the upstream's Content-Length: it describes the resource.
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        let (_, headers, body) = split_response(raw, "HEAD").unwrap();
        assert_eq!(headers, ["Content-Length: 99"]);
        assert_eq!(body, None);
    }

    #[test]
    fn replay_keys_drop_ports_and_ids() {
        let cases = [
            (
                "/xapi/commands?image=127.0.0.1:4242/lab/a:2",
                "/xapi/commands",
            ),
            (
                "/xapi/wrappers/17/enabled?reason=x",
                "/xapi/wrappers/N/enabled",
            ),
            ("/v2/lab/a/manifests/2", "/vN/lab/a/manifests/N"),
            ("/data/JSESSION", "/data/JSESSION"),
        ];
        for (target, want) in cases {
            assert_eq!(replay_key(target), want, "{target}");
        }
    }

    #[test]
    fn a_seed_decides_the_same_faults_whatever_the_order() {
        let a = FaultPlan::new();
        let b = FaultPlan::new();
        a.arm(7, 50);
        b.arm(7, 50);
        let reqs = ["/a", "/b", "/c", "/a", "/d", "/b"];
        let mut first: Vec<(String, Option<Fault>)> = reqs
            .iter()
            .map(|r| (r.to_string(), a.decide("x", "GET", r)))
            .collect();
        // The same requests in another interleaving (each path's own order kept).
        let order = [2, 4, 0, 1, 3, 5];
        let mut second: Vec<(String, Option<Fault>)> = order
            .iter()
            .map(|&i| (reqs[i].to_string(), b.decide("x", "GET", reqs[i])))
            .collect();
        first.sort_by(|x, y| x.0.cmp(&y.0));
        second.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(first, second);
        a.disarm();
        assert_eq!(a.decide("x", "GET", "/a"), None);
        let none = FaultPlan::new();
        none.arm(7, 0);
        assert!(reqs.iter().all(|r| none.decide("x", "GET", r).is_none()));
        none.set_rate("y", 100);
        assert!(reqs.iter().all(|r| none.decide("x", "GET", r).is_none()));
        assert!(reqs.iter().all(|r| none.decide("y", "GET", r).is_some()));
    }
}
