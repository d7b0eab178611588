//! A lock per release that can never leave the release stuck: a
//! `coordination.k8s.io/v1` Lease, renewed while its holder works and taken over by
//! the next operation once its holder stops renewing it.
//!
//! Uncontended, the lock costs two requests: one create, one delete. Renewals happen
//! every third of the lease duration, so only long operations pay for them.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "release {release} is locked by {holder} since {since}; {}; if that operation is gone, `rchart unlock {release}` removes the lock now",
        expiry_text(expires)
    )]
    Held {
        release: String,
        holder: String,
        since: String,
        /// When the lock expires unless its holder renews it.
        expires: Option<SystemTime>,
    },
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// The Lease a release's lock lives in: one per release, in the release's namespace.
pub fn lease_name(release: &str) -> String {
    format!("rchart.release.{release}")
}

/// Who holds a lock: enough for a person to find the process.
pub fn holder_identity(command: &str) -> String {
    format!("{} pid {} ({command})", this_host(), std::process::id())
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// The process a holder identity names, if it runs on this host and is still alive:
/// an rchart process with that pid.
pub fn live_holder_here(holder: &str) -> Option<u32> {
    let (host, rest) = holder.split_once(" pid ")?;
    let pid: u32 = rest.split_whitespace().next()?.parse().ok()?;
    if host != this_host() {
        return None;
    }
    let command = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (command.trim() == "rchart").then_some(pid)
}

/// A release's lock as it stands in the cluster.
#[derive(Debug, Clone)]
pub struct LockState {
    pub holder: String,
    /// When it was taken.
    pub since: String,
    /// When it expires unless renewed.
    pub expires: Option<SystemTime>,
    lease: Lease,
}

/// The lock of `release`, if someone holds it.
pub async fn inspect(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<LockState>, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let Some(lease) = api.get_opt(&lease_name(release)).await? else {
        return Ok(None);
    };
    let spec = lease.spec.clone().unwrap_or_default();
    Ok(Some(LockState {
        holder: spec
            .holder_identity
            .clone()
            .unwrap_or_else(|| "an unknown holder".to_string()),
        since: spec.acquire_time.as_ref().map_or_else(
            || "an unknown time".to_string(),
            |t| Timestamp::from_system(to_system(t)).to_string(),
        ),
        expires: expiry(&spec),
        lease,
    }))
}

/// Removes a lock, if it is still the one `state` describes: a lock renewed or taken
/// over since is left alone (409).
pub async fn remove(
    client: &kube::Client,
    namespace: &str,
    state: &LockState,
) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: state.lease.metadata.resource_version.clone(),
            uid: state.lease.metadata.uid.clone(),
        }),
        ..DeleteParams::default()
    };
    let name = state.lease.metadata.name.clone().unwrap_or_default();
    api.delete(&name, &params).await.map(|_| ())
}

/// A lock this process holds. Renewed in the background until [`HeldLock::release`].
pub struct HeldLock {
    api: Api<Lease>,
    name: String,
    stop: watch::Sender<bool>,
    renewer: JoinHandle<Renewal>,
    /// A previous holder's lock that had expired when this one was taken.
    pub took_over: Option<Expired>,
}

/// What is known about a lock that expired with its holder.
#[derive(Debug, Clone)]
pub struct Expired {
    pub holder: String,
    /// When it was last renewed.
    pub renewed: String,
}

/// Takes the release's lock, or fails at once naming whoever holds it. A lock whose
/// holder stopped renewing it for longer than its duration is taken over.
pub async fn acquire(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    holder: &str,
    timeout: Duration,
) -> Result<HeldLock, LockError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let name = lease_name(release);
    let mine = new_lease(&name, holder, timeout);
    let (lease, took_over) = match api.create(&PostParams::default(), &mine).await {
        Ok(lease) => (lease, None),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            take_over_if_expired(&api, release, &name, mine).await?
        }
        Err(error) => return Err(error.into()),
    };
    let (stop, stopped) = watch::channel(false);
    let renewer = tokio::spawn(renew(api.clone(), lease, timeout, stopped));
    Ok(HeldLock {
        api,
        name,
        stop,
        renewer,
        took_over,
    })
}

async fn take_over_if_expired(
    api: &Api<Lease>,
    release: &str,
    name: &str,
    mine: Lease,
) -> Result<(Lease, Option<Expired>), LockError> {
    let Some(current) = api.get_opt(name).await? else {
        // Released between our create and this read: try once more to create it.
        return Ok((api.create(&PostParams::default(), &mine).await?, None));
    };
    let spec = current.spec.clone().unwrap_or_default();
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(to_system);
    let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
    let expired = renewed.is_none_or(|at| at + duration < SystemTime::now());
    if !expired {
        return Err(held(release, &spec, "an unknown holder", "an unknown time"));
    }
    let holder = spec
        .holder_identity
        .clone()
        .unwrap_or_else(|| "an unknown holder".to_string());
    let mut replacement = mine;
    replacement.metadata.resource_version = current.metadata.resource_version.clone();
    if let Some(replacement_spec) = replacement.spec.as_mut() {
        replacement_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    // The resourceVersion precondition makes two processes taking over at once safe:
    // one wins, the other gets a conflict and reports the winner as the holder.
    match api
        .replace(name, &PostParams::default(), &replacement)
        .await
    {
        Ok(lease) => {
            let renewed = renewed.map_or_else(
                || "never".to_string(),
                |t| Timestamp::from_system(t).to_string(),
            );
            Ok((lease, Some(Expired { holder, renewed })))
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let winner = api
                .get_opt(name)
                .await?
                .and_then(|l| l.spec)
                .unwrap_or_default();
            Err(held(release, &winner, "another operation", "just now"))
        }
        Err(error) => Err(error.into()),
    }
}

/// `it takes over after 14:05:10Z, in 4m12s`, or what can be said without a time.
fn expiry_text(expires: &Option<SystemTime>) -> String {
    let Some(expires) = expires else {
        return "it expires once its holder stops renewing it".to_string();
    };
    let at = Timestamp::from_system(*expires);
    match expires.duration_since(SystemTime::now()) {
        Ok(left) => {
            let left = Duration::from_secs(left.as_secs().max(1));
            format!(
                "the next operation takes it over after {at}, in {}, unless it is renewed",
                humantime::format_duration(left)
            )
        }
        Err(_) => format!("it expired at {at}, and the next operation takes it over"),
    }
}

/// When a lock expires unless renewed: its last renewal plus its duration.
fn expiry(spec: &LeaseSpec) -> Option<SystemTime> {
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let duration = Duration::from_secs(spec.lease_duration_seconds?.max(0) as u64);
    Some(to_system(renewed) + duration)
}

/// The error naming who holds the lock and since when, with words for what the Lease
/// does not say.
fn held(release: &str, spec: &LeaseSpec, unknown_holder: &str, unknown_since: &str) -> LockError {
    LockError::Held {
        expires: expiry(spec),
        release: release.to_string(),
        holder: spec
            .holder_identity
            .clone()
            .unwrap_or_else(|| unknown_holder.to_string()),
        since: spec.acquire_time.as_ref().map_or_else(
            || unknown_since.to_string(),
            |t| Timestamp::from_system(to_system(t)).to_string(),
        ),
    }
}

fn new_lease(name: &str, holder: &str, timeout: Duration) -> Lease {
    let now = MicroTime(jiff_now());
    serde_json::from_value(serde_json::json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "labels": {"owner": "rchart"}},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": timeout.as_secs().clamp(1, i32::MAX as u64),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        },
    }))
    .expect("a Lease built from known fields")
}

/// How renewing a lock ended.
enum Renewal {
    /// Still ours: the last version of the lease, the precondition for deleting it.
    Held(Box<Lease>),
    /// It expired and someone else took it over.
    Lost { to: String },
}

/// Renews the lease every third of its duration until told to stop. A failed renewal is
/// retried (the lease has two more thirds to live); the lock is given up only when someone
/// else holds it.
async fn renew(
    api: Api<Lease>,
    mut lease: Lease,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> Renewal {
    let holder = holder_of(&lease).unwrap_or_default().to_string();
    let interval = (timeout / 3).max(Duration::from_millis(200));
    let retry = (interval / 4).max(Duration::from_millis(100));
    let mut wait = interval;
    loop {
        tokio::select! {
            _ = stop.changed() => return Renewal::Held(Box::new(lease)),
            () = tokio::time::sleep(wait) => {}
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(MicroTime(jiff_now()));
        }
        let name = lease.metadata.name.clone().unwrap_or_default();
        wait = match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(renewed) => {
                lease = renewed;
                interval
            }
            // Our copy is stale: a renewal whose answer was lost, or a takeover.
            Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => {
                match api.get_opt(&name).await {
                    Ok(Some(current)) if holder_of(&current) == Some(holder.as_str()) => {
                        lease = current;
                        retry
                    }
                    Err(_) => retry,
                    Ok(other) => {
                        let to = other.as_ref().and_then(holder_of).unwrap_or("nobody");
                        return Renewal::Lost { to: to.to_string() };
                    }
                }
            }
            Err(_) => retry,
        };
    }
}

fn holder_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
}

/// How holding a lock ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    Released,
    /// The lock expired while the operation ran and this holder took it over.
    LostTo(String),
}

impl HeldLock {
    /// The Lease's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops renewing and deletes the lease, if it is still ours.
    pub async fn release(self) -> Result<Released, kube::Error> {
        let _ = self.stop.send(true);
        let lease = match self.renewer.await {
            Ok(Renewal::Held(lease)) => lease,
            Ok(Renewal::Lost { to }) => return Ok(Released::LostTo(to)),
            Err(_) => return Ok(Released::Released),
        };
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: lease.metadata.resource_version.clone(),
                uid: lease.metadata.uid.clone(),
            }),
            ..DeleteParams::default()
        };
        // A lock left behind blocks the release until it expires: a request that got no
        // answer is sent again, and server errors are tried again.
        const ATTEMPTS: u32 = 3;
        let mut attempt = 1;
        loop {
            match self.api.delete(&self.name, &params).await {
                Ok(_) => return Ok(Released::Released),
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                    return Ok(Released::Released);
                }
                Err(kube::Error::Api(status)) if status.code < 500 => {
                    return Err(kube::Error::Api(status));
                }
                Err(error) if attempt == ATTEMPTS => return Err(error),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
            }
        }
    }
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

fn to_system(time: &MicroTime) -> SystemTime {
    SystemTime::from(time.0)
}
