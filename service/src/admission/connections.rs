//! The standalone listener: accepts connections up to a cap (overall and
//! per client address), and closes those that hold a place without using
//! it. A full table makes room by closing its longest-idle connection
//! rather than refusing the newcomer, so a flood of stalled connections
//! can never lock a real client out; only when every connection is busy
//! with a request is a new one turned away.
//!
//! "Idle" is judged from the bytes that move: a connection with no request
//! in flight whose last byte was longer ago than `idle_timeout` (a stalled
//! request head, or a keep-alive nobody uses) is closed, and so is one with
//! a request in flight that moved no byte for `stall_timeout` (a client
//! that stopped reading its download). Upload bodies that trickle are the
//! body meter's business; hyper's own header-read timeout backs this up.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_per_address: usize,
    /// No request in flight and no byte moved for this long: closed.
    pub idle_timeout: Duration,
    /// A request in flight and no byte moved for this long: closed.
    pub stall_timeout: Duration,
    /// hyper's own bound on reading a request head.
    pub header_read_timeout: Duration,
    /// How long a graceful stop waits for requests in flight.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_per_address: 1024,
            idle_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(120),
            header_read_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Largest request head hyper buffers, and most header fields: generous
/// for browsers and SDKs, small enough that heads cost nothing.
const MAX_HEAD_BYTES: usize = 64 << 10;
const MAX_HEADERS: usize = 100;

/// On a stop, how long a connection that has not sent its first request
/// yet is given to send it.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `stop` resolves, then stops
/// accepting and lets requests in flight finish for up to the drain time.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let table = Arc::new(Table::new(limits));
    let sweeper = tokio::spawn(Arc::clone(&table).sweep());
    // Sending on it tells every connection to finish what it is doing.
    let (draining, _) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before accept.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(connection) = table.admit(peer.ip()) else {
            tracing::warn!(peer = %peer.ip(), "connection refused: every connection is busy");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (table, router) = (Arc::clone(&table), router.clone());
        let draining = draining.subscribe();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, &connection, &limits, draining).await;
            table.remove(&connection);
        });
    }
    drop(listener);
    sweeper.abort();
    let _ = draining.send(true);
    if tokio::time::timeout(limits.drain_timeout, table.wait_until_empty())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain time; closing them");
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    connection: &Arc<Connection>,
    limits: &ConnectionLimits,
    mut draining: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        inner: stream,
        connection: Arc::clone(connection),
        lingering: None,
    });
    let tracked = Arc::clone(connection);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let router = router.clone();
        let busy = BusyGuard::new(Arc::clone(&tracked));
        request.extensions_mut().insert(ConnectInfo(peer));
        async move {
            let response = router
                .oneshot(request.map(Body::new))
                .await
                .unwrap_or_else(|never| match never {});
            // Busy until the last byte of the response is sent.
            Ok::<_, std::convert::Infallible>(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &busy;
                    frame
                }))
            }))
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .keep_alive_interval(limits.idle_timeout);
    let mut served = pin!(builder.serve_connection_with_upgrades(io, service));
    tokio::select! {
        result = served.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended");
            }
        }
        () = connection.close.notified() => {
            tracing::debug!(peer = %peer, "closing an idle or stalled connection");
        }
        // The watch guard is dropped inside, never held across an await.
        () = async { let _ = draining.wait_for(|stop| *stop).await; } => {
            // A client that has just connected has its request on the way:
            // closing now would cut it, so serve on until it begins (or the
            // grace ends); the drain time bounds all of this.
            let first_request = async {
                let waited = Instant::now();
                while connection.requests.load(Ordering::Relaxed) == 0 && waited.elapsed() < FIRST_REQUEST_GRACE {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            tokio::select! {
                _ = served.as_mut() => return,
                () = first_request => {}
            }
            served.as_mut().graceful_shutdown();
            // Finish the request in flight; a keep-alive ends at once.
            let _ = served.as_mut().await;
        }
    }
}

/// One open connection, as the table sees it.
#[derive(Debug)]
struct Connection {
    id: u64,
    address: IpAddr,
    /// Requests in flight, responses still being sent included.
    busy: AtomicUsize,
    /// Requests begun on this connection, ever.
    requests: AtomicU64,
    /// When a byte last moved, in ms since the table's epoch.
    last_activity: AtomicU64,
    epoch: Instant,
    close: Notify,
}

impl Connection {
    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_activity.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self, now: Duration) -> Duration {
        now.saturating_sub(Duration::from_millis(
            self.last_activity.load(Ordering::Relaxed),
        ))
    }

    fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed) > 0
    }
}

struct BusyGuard(Arc<Connection>);

impl BusyGuard {
    fn new(connection: Arc<Connection>) -> Self {
        connection.busy.fetch_add(1, Ordering::Relaxed);
        connection.requests.fetch_add(1, Ordering::Relaxed);
        Self(connection)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

#[derive(Debug)]
struct Table {
    limits: ConnectionLimits,
    epoch: Instant,
    state: Mutex<TableState>,
    emptied: Notify,
}

#[derive(Debug, Default)]
struct TableState {
    by_address: HashMap<IpAddr, Vec<Arc<Connection>>>,
    total: usize,
    next_id: u64,
}

impl TableState {
    fn take(&mut self, id: u64, address: IpAddr) -> Option<Arc<Connection>> {
        let list = self.by_address.get_mut(&address)?;
        let at = list.iter().position(|c| c.id == id)?;
        let taken = list.swap_remove(at);
        if list.is_empty() {
            self.by_address.remove(&address);
        }
        self.total -= 1;
        Some(taken)
    }

    /// The longest-quiet connection without a request, from `address` or any.
    fn idlest(&self, address: Option<IpAddr>, now: Duration) -> Option<(u64, IpAddr)> {
        let candidates: Box<dyn Iterator<Item = &Arc<Connection>>> = match address {
            Some(address) => Box::new(self.by_address.get(&address).into_iter().flatten()),
            None => Box::new(self.by_address.values().flatten()),
        };
        candidates
            .filter(|c| !c.is_busy())
            .max_by_key(|c| c.quiet_for(now))
            .map(|c| (c.id, c.address))
    }
}

impl Table {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            epoch: Instant::now(),
            state: Mutex::default(),
            emptied: Notify::new(),
        }
    }

    /// A place for a new connection from `address`, closing the idlest
    /// one when the table is full; `None` when every place is busy.
    fn admit(&self, address: IpAddr) -> Option<Arc<Connection>> {
        let mut state = self.state.lock().expect("connection table");
        let now = self.epoch.elapsed();
        let from_address = state.by_address.get(&address).map_or(0, Vec::len);
        if from_address >= self.limits.max_per_address {
            let (id, at) = state.idlest(Some(address), now)?;
            self.evict(&mut state, id, at);
        } else if state.total >= self.limits.max_connections {
            let (id, at) = state.idlest(None, now)?;
            self.evict(&mut state, id, at);
        }
        state.next_id += 1;
        let connection = Arc::new(Connection {
            id: state.next_id,
            address,
            busy: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_activity: AtomicU64::new(now.as_millis() as u64),
            epoch: self.epoch,
            close: Notify::new(),
        });
        state
            .by_address
            .entry(address)
            .or_default()
            .push(Arc::clone(&connection));
        state.total += 1;
        Some(connection)
    }

    fn evict(&self, state: &mut TableState, id: u64, address: IpAddr) {
        if let Some(connection) = state.take(id, address) {
            tracing::debug!(%address, "closing an idle connection to make room");
            connection.close.notify_one();
        }
    }

    fn remove(&self, connection: &Connection) {
        let mut state = self.state.lock().expect("connection table");
        state.take(connection.id, connection.address);
        if state.total == 0 {
            self.emptied.notify_waiters();
        }
    }

    async fn wait_until_empty(&self) {
        loop {
            // Registered before the check, so a removal in between wakes it.
            let mut emptied = pin!(self.emptied.notified());
            emptied.as_mut().enable();
            if self.state.lock().expect("connection table").total == 0 {
                return;
            }
            emptied.await;
        }
    }

    /// Once a second, closes connections that hold a place without using it.
    async fn sweep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = self.epoch.elapsed();
            let mut state = self.state.lock().expect("connection table");
            let expired: Vec<(u64, IpAddr)> = state
                .by_address
                .values()
                .flatten()
                .filter(|c| {
                    let limit = if c.is_busy() {
                        self.limits.stall_timeout
                    } else {
                        self.limits.idle_timeout
                    };
                    c.quiet_for(now) > limit
                })
                .map(|c| (c.id, c.address))
                .collect();
            for (id, address) in expired {
                self.evict(&mut state, id, address);
            }
        }
    }
}

/// A stream that records when bytes last moved through it.
struct Tracked {
    inner: TcpStream,
    connection: Arc<Connection>,
    /// Set once hyper closes the connection: what is left of the close's
    /// linger (see `poll_shutdown`).
    lingering: Option<Lingering>,
}

/// A close that answered before reading the whole request (a 413 on a
/// declared length, a 401 before an upload) would reset the connection
/// under a client still sending, and the client would see a broken pipe
/// instead of the answer. So the close sends FIN first and reads and drops
/// what still arrives, until the client closes, for at most `LINGER` and
/// `LINGER_BYTES`.
struct Lingering {
    until: Pin<Box<tokio::time::Sleep>>,
    left: usize,
}

const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 64 << 20;

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buffer.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            self.connection.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(context, buffer);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.connection.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(context, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.connection.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.lingering.is_none() {
            if let Poll::Ready(Err(error)) = Pin::new(&mut this.inner).poll_shutdown(context) {
                return Poll::Ready(Err(error));
            }
            this.lingering = Some(Lingering {
                until: Box::pin(tokio::time::sleep(LINGER)),
                left: LINGER_BYTES,
            });
        }
        let lingering = this.lingering.as_mut().expect("set above");
        let mut scratch = [0u8; 16 << 10];
        loop {
            if lingering.left == 0 || lingering.until.as_mut().poll(context).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buffer = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(context, &mut buffer) {
                Poll::Ready(Ok(())) if !buffer.filled().is_empty() => {
                    lingering.left = lingering.left.saturating_sub(buffer.filled().len());
                }
                // The client closed (or the connection broke): done.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_per_address: per_address,
            max_connections: 100,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn a_full_address_makes_room_by_closing_its_idlest_connection() {
        let table = Table::new(limits(2));
        let address: IpAddr = [127, 0, 0, 1].into();
        let first = table.admit(address).unwrap();
        let second = table.admit(address).unwrap();
        second.touch();
        let _busy = BusyGuard::new(Arc::clone(&second));
        let third = table.admit(address).expect("room is made");
        assert_eq!(table.state.lock().unwrap().total, 2);
        // The idle one went; the busy one stays.
        assert!(
            table
                .state
                .lock()
                .unwrap()
                .take(first.id, address)
                .is_none()
        );
        let _busy_too = BusyGuard::new(Arc::clone(&third));
        assert!(table.admit(address).is_none(), "all busy: refused");
        assert!(
            table.admit([10, 0, 0, 1].into()).is_some(),
            "other addresses unaffected"
        );
    }
}
