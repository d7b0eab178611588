//! Serving HTTP until SIGTERM or SIGINT, then draining within a deadline.
//!
//! On the first signal `/readyz` turns 503 at once. After the optional shutdown delay the
//! listener is closed, idle connections are closed, and requests in flight get until the
//! drain deadline to finish. A request counts as in flight as soon as its first bytes
//! arrived on a new connection, or its head was read on a kept-alive one (hyper's graceful
//! shutdown rules). When the deadline passes, or a second signal arrives, the remaining
//! connections are dropped.

use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;

use crate::app::{self, App};
use crate::listener::CountingListener;

/// Timing of the shutdown sequence.
#[derive(Debug, Clone, Copy)]
pub struct ShutdownTiming {
    /// Time between the signal and closing the listener, while `/readyz` already fails, so
    /// that endpoints and load balancers stop sending traffic first.
    pub delay: Duration,
    /// How long requests in flight may take to finish once the listener is closed.
    pub drain_timeout: Duration,
}

/// The signals that end the server: SIGTERM (Kubernetes) and SIGINT (Ctrl-C).
pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    /// Installs the handlers. Call this before announcing readiness, so that no signal
    /// arrives while the default action (exit at once) is still in place.
    pub fn install() -> io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next stop signal and returns its name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// Serves `app` on `listener` until a stop signal, then shuts down as described above.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    mut signals: StopSignals,
    timing: ShutdownTiming,
) -> io::Result<()> {
    let listener = CountingListener::new(listener, Arc::clone(&app)).tap_io(|stream| {
        // Responses are written whole; waiting to coalesce them only adds latency.
        if let Err(err) = stream.tcp().set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    let service = app::router(Arc::clone(&app)).into_make_service_with_connect_info::<SocketAddr>();
    let (close_listener, listener_closed) = oneshot::channel::<()>();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        // A dropped sender also ends serving, which is what an early return wants.
        let _ = listener_closed.await;
    });
    let mut server = tokio::spawn(server.into_future());

    let signal_name = tokio::select! {
        result = &mut server => return result.map_err(io::Error::other)?,
        name = signals.next() => name,
    };
    app.start_draining();
    tracing::info!(
        signal = signal_name,
        shutdown_delay_ms = millis(timing.delay),
        drain_timeout_ms = millis(timing.drain_timeout),
        "shutdown started; readiness is now failing"
    );

    if !timing.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(timing.delay) => {}
            name = signals.next() => {
                tracing::warn!(signal = name, "second stop signal; exiting without draining");
                return Ok(());
            }
        }
    }

    let _ = close_listener.send(());
    tracing::info!("listener closed; draining requests in flight");
    tokio::select! {
        result = &mut server => {
            result.map_err(io::Error::other)??;
            tracing::info!("drained; exiting");
        }
        () = tokio::time::sleep(timing.drain_timeout) => {
            tracing::warn!(
                connections_open = app.metrics.connections_open(),
                in_flight = app.metrics.in_flight(),
                "drain timeout reached; closing the remaining connections"
            );
        }
        name = signals.next() => {
            tracing::warn!(
                signal = name,
                connections_open = app.metrics.connections_open(),
                in_flight = app.metrics.in_flight(),
                "second stop signal; closing the remaining connections"
            );
        }
    }
    Ok(())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
