//! Gates: where `Hold` faults keep requests until a test lets them go, so a
//! test decides the order of events instead of racing the clock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{FaultAction, FaultId};
use crate::server::Shared;

/// How long [`Gate::wait_for`] waits before it gives up with a panic: far
/// longer than any request takes, so only a wrong fault or a client that
/// never sent the request hits it.
pub const HOLD_PATIENCE: Duration = Duration::from_secs(60);

/// How a held request goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// As if it had never been held.
    Proceed,
    /// With this action's answer instead (a failure) and without being handled.
    Answer(FaultAction),
    /// Its connection is closed without an answer.
    Drop,
}

#[derive(Debug, Default)]
struct Waiting {
    requests: VecDeque<oneshot::Sender<Release>>,
}

impl Waiting {
    /// How many are still held; clients that gave up are forgotten.
    fn held(&mut self) -> usize {
        self.requests.retain(|request| !request.is_closed());
        self.requests.len()
    }
}

/// Held requests by gate name.
#[derive(Debug, Default)]
pub struct Gates {
    gates: Mutex<HashMap<String, Waiting>>,
    arrived: Condvar,
}

impl Gates {
    /// Hold a request at `gate`; the receiver resolves when a test releases it
    /// (or fails with a closed channel, which means go on).
    pub fn enter(&self, gate: &str) -> oneshot::Receiver<Release> {
        let (sender, receiver) = oneshot::channel();
        self.lock()
            .entry(gate.to_string())
            .or_default()
            .requests
            .push_back(sender);
        self.arrived.notify_all();
        receiver
    }

    /// How many requests are held at `gate` now.
    pub fn held(&self, gate: &str) -> usize {
        self.lock().get_mut(gate).map_or(0, Waiting::held)
    }

    /// Block until at least `count` requests are held at `gate`; `Err` with
    /// the number held when `patience` runs out first.
    pub fn wait_for(&self, gate: &str, count: usize, patience: Duration) -> Result<usize, usize> {
        let deadline = Instant::now() + patience;
        let mut gates = self.lock();
        loop {
            let held = gates.get_mut(gate).map_or(0, Waiting::held);
            let left = deadline.saturating_duration_since(Instant::now());
            if held >= count {
                return Ok(held);
            }
            if left.is_zero() {
                return Err(held);
            }
            gates = self
                .arrived
                .wait_timeout(gates, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Let the oldest `count` requests held at `gate` (all of them when
    /// `None`) go on as `release` says; returns how many did.
    pub fn release(&self, gate: &str, count: Option<usize>, release: &Release) -> usize {
        let mut gates = self.lock();
        let Some(waiting) = gates.get_mut(gate) else {
            return 0;
        };
        let mut released = 0;
        while count.is_none_or(|count| released < count) {
            let Some(request) = waiting.requests.pop_front() else {
                break;
            };
            if request.send(release.clone()).is_ok() {
                released += 1;
            }
        }
        released
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Waiting>> {
        self.gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A test's handle on the requests held at one gate: wait until they
/// arrive, then let them go, fail them or drop them, in arrival order.
///
/// A gate made by [`crate::TestApiServer::hold`] owns its fault: dropping
/// it removes the fault and lets every request still held go on.
pub struct Gate {
    shared: Arc<Shared>,
    name: String,
    owned_fault: Option<FaultId>,
}

impl Gate {
    pub(crate) fn new(shared: Arc<Shared>, name: &str, owned_fault: Option<FaultId>) -> Self {
        Gate {
            shared,
            name: name.to_string(),
            owned_fault,
        }
    }

    /// The gate's name, as `Hold` faults name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many requests are held here now.
    pub fn held(&self) -> usize {
        self.shared.gates.held(&self.name)
    }

    /// Block until at least `count` requests are held here. Panics after
    /// [`HOLD_PATIENCE`], naming the gate, so a wrong fault fails the test
    /// instead of hanging it.
    pub fn wait_for(&self, count: usize) -> &Self {
        if let Err(held) = self.shared.gates.wait_for(&self.name, count, HOLD_PATIENCE) {
            panic!(
                "gate {:?}: waited {HOLD_PATIENCE:?} for {count} held request(s), {held} arrived; \
                 does the fault match the request, and was it sent?",
                self.name
            );
        }
        self
    }

    /// Let the oldest `count` held requests go on; returns how many did.
    pub fn release(&self, count: usize) -> usize {
        self.shared
            .gates
            .release(&self.name, Some(count), &Release::Proceed)
    }

    /// Let every held request go on; returns how many did.
    pub fn release_all(&self) -> usize {
        self.shared
            .gates
            .release(&self.name, None, &Release::Proceed)
    }

    /// Answer the oldest `count` held requests with `action`'s answer (e.g.
    /// [`FaultAction::fail`]) without handling them; returns how many.
    pub fn fail(&self, count: usize, action: FaultAction) -> usize {
        self.shared
            .gates
            .release(&self.name, Some(count), &Release::Answer(action))
    }

    /// Close the connections of the oldest `count` held requests without an
    /// answer; returns how many.
    pub fn drop_connections(&self, count: usize) -> usize {
        self.shared
            .gates
            .release(&self.name, Some(count), &Release::Drop)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(id) = self.owned_fault.take() {
            self.shared.faults.remove(id);
            self.release_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_leave_in_arrival_order_as_released() {
        let gates = Gates::default();
        let mut first = gates.enter("g");
        let mut second = gates.enter("g");
        assert_eq!(gates.wait_for("g", 2, Duration::ZERO), Ok(2));
        assert_eq!(gates.wait_for("g", 3, Duration::from_millis(1)), Err(2));
        let failure = Release::Answer(FaultAction::fail(503, "no"));
        assert_eq!(gates.release("g", Some(1), &failure), 1);
        assert_eq!(first.try_recv(), Ok(failure));
        assert_eq!(gates.held("g"), 1);
        assert_eq!(gates.release("g", None, &Release::Proceed), 1);
        assert_eq!(second.try_recv(), Ok(Release::Proceed));
        assert_eq!(gates.release("g", None, &Release::Proceed), 0);
    }

    #[test]
    fn clients_that_gave_up_are_not_counted() {
        let gates = Gates::default();
        drop(gates.enter("g"));
        let _waiting = gates.enter("g");
        assert_eq!(gates.held("g"), 1);
    }
}
