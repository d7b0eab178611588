//! When the simulated controllers write: a lag after each change they
//! observe, as real controllers trail the writes they react to, and a pause
//! that keeps status stale until a test resumes them.

use std::time::Duration;

use tokio::sync::watch;

use crate::time::AtomicDuration;

/// The controllers' lag and pause switch, shared by every controller task.
#[derive(Debug)]
pub struct Pace {
    lag: AtomicDuration,
    running: watch::Sender<bool>,
}

impl Pace {
    /// Controllers that write `lag` after each change, running.
    pub fn new(lag: Duration) -> Self {
        Pace {
            lag: AtomicDuration::new(lag),
            running: watch::Sender::new(true),
        }
    }

    /// How long after a change controllers write.
    pub fn lag(&self) -> Duration {
        self.lag.get()
    }

    /// Change the lag; writes already waiting keep theirs.
    pub fn set_lag(&self, lag: Duration) {
        self.lag.set(lag);
    }

    /// Stop every controller write until [`Pace::resume`].
    pub fn pause(&self) {
        self.running.send_replace(false);
    }

    /// Let controllers write again; what they held back is written now.
    pub fn resume(&self) {
        self.running.send_replace(true);
    }

    /// Whether controllers are paused.
    pub fn paused(&self) -> bool {
        !*self.running.borrow()
    }

    /// Wait the lag after an observed change, then while paused.
    pub async fn after_change(&self) {
        let lag = self.lag();
        if !lag.is_zero() {
            tokio::time::sleep(lag).await;
        }
        self.while_paused().await;
    }

    /// Wait `delay` (e.g. until a workload is ready), then while paused.
    pub async fn after(&self, delay: Duration) {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.while_paused().await;
    }

    async fn while_paused(&self) {
        let mut running = self.running.subscribe();
        // The sender lives as long as the server; an error means it is shutting down.
        let _ = running.wait_for(|running| *running).await;
    }
}
