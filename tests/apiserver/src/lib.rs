//! A Kubernetes API server for tests.
//!
//! It speaks the real Kubernetes REST protocol over plain HTTP on
//! 127.0.0.1, so the `rchart` binary, kube-rs and `kubectl` reach it through
//! an ordinary kubeconfig exactly as they reach a real cluster. Objects live
//! in memory; a simulated controller writes workload status; test controls
//! inject failures and expose a log of every request.
//!
//! ```no_run
//! use rchart_test_apiserver::TestApiServer;
//!
//! let server = TestApiServer::start().expect("start the test API server");
//! let kubeconfig = server.kubeconfig_path();
//! // run `rchart` or `kubectl` with KUBECONFIG=<kubeconfig> ...
//! # let _ = kubeconfig;
//! assert!(server.requests().iter().all(|r| r.status.is_some()));
//! ```

mod api;
mod catalogue;
mod control;
mod controller;
mod defaults;
mod direct;
mod discovery;
mod faults;
mod kubeconfig;
mod kubectl;
mod managed;
mod modes;
mod objects;
mod openapi;
mod patch;
mod path;
mod protobuf;
mod requests;
mod schema;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod time;
mod validation;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use api::CrdEstablishment;
pub use controller::{
    ControllerSettings, Outcome, READINESS_ANNOTATION, Readiness, ReadinessRule, Run, RunRule, When,
};
pub use direct::{Condition, TEST_MANAGER, TimeShift};
pub use discovery::DiscoveryMode;
pub use faults::{Fault, FaultAction, FaultId, Gate, HOLD_PATIENCE, Operation, RequestMatch};
pub use kubeconfig::KubeconfigOptions;
pub use kubectl::{SKIP_LOG_VARIABLE, kubectl};
pub use modes::{
    CONTROLLER_LAG, CRD_ESTABLISHMENT_DELAY, MODES_VARIABLE, Mode, ModeError, SLOW_LINK_LATENCY,
};
pub use requests::{Injected, RecordedRequest, critical_path};
pub use status::ApiError;

use api::WatchSettings;
use server::Shared;

/// Namespaces every cluster starts with.
const INITIAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the port, creating the temp dir or the runtime failed.
    #[error("starting the test API server failed: {0}")]
    Io(#[from] std::io::Error),
    /// Seeding the initial namespaces failed.
    #[error("seeding the test API server failed: {0}")]
    Seed(#[from] ApiError),
}

/// Options for [`TestApiServer`]; start with [`TestApiServer::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    options: server::Options,
    port: u16,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            options: server::Options {
                token: format!("rchart-test-{}", uuid::Uuid::new_v4().simple()),
                require_token: false,
                default_namespace: "default".to_string(),
                controller: ControllerSettings::default(),
                controller_lag: Duration::ZERO,
                crd_establishment: CrdEstablishment::default(),
                foreign_managers: false,
                watch: WatchSettings::default(),
                discovery: DiscoveryMode::default(),
                latency: Duration::ZERO,
            },
            port: 0,
        }
    }
}

impl Builder {
    /// The bearer token the server accepts (random by default).
    pub fn token(mut self, token: &str) -> Self {
        self.options.token = token.to_string();
        self
    }

    /// Also reject requests without credentials (401). Off by default because
    /// kubectl sends no credentials to a plain-HTTP server; requests with a
    /// wrong token are always rejected.
    pub fn require_token(mut self, required: bool) -> Self {
        self.options.require_token = required;
        self
    }

    /// The namespace the generated kubeconfig's context selects (`default` by default).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.options.default_namespace = namespace.to_string();
        self
    }

    /// Listen on this port instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Readiness when no rule or annotation applies (ready at once by default).
    pub fn default_readiness(mut self, readiness: Readiness) -> Self {
        self.options.controller.default = readiness;
        self
    }

    /// Add a readiness rule (later rules win).
    pub fn readiness(mut self, rule: ReadinessRule) -> Self {
        self.options.controller.rules.push(rule);
        self
    }

    /// Make the simulated controllers write each status `lag` after the change
    /// they react to, as real controllers trail writes; `observedGeneration`
    /// then stays behind `generation` for that long. Zero by default.
    pub fn controller_lag(mut self, lag: Duration) -> Self {
        self.options.controller_lag = lag;
        self
    }

    /// When new CustomResourceDefinitions become `Established` and served: at
    /// once (the default), after a delay, never, or when the test calls
    /// [`TestApiServer::establish_crds`]. Until then their resources are `404`
    /// and absent from discovery.
    pub fn crd_establishment(mut self, establishment: CrdEstablishment) -> Self {
        self.options.crd_establishment = establishment;
        self
    }

    /// Make kube-controller-manager write more than status on the objects a
    /// client applies, as on a real cluster (a Deployment's revision
    /// annotation, a bound claim's volume), so managedFields carry several
    /// managers. Off by default.
    pub fn foreign_managers(mut self, on: bool) -> Self {
        self.options.foreign_managers = on;
        self
    }

    /// Add a rule for how Jobs and run-to-completion Pods end (later rules win).
    pub fn run(mut self, rule: RunRule) -> Self {
        self.options.controller.runs.push(rule);
        self
    }

    /// How often watches that allow bookmarks get one (10 s by default).
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.options.watch.bookmark_interval = interval;
        self
    }

    /// How many changes watches can resume from (20000 by default); a watch
    /// from an older resourceVersion gets a `410 Expired` error event.
    pub fn watch_history(mut self, changes: usize) -> Self {
        self.options.watch.history_limit = changes;
        self
    }

    /// How `/api` and `/apis` answer: aggregated discovery when asked for
    /// (the default, Kubernetes 1.27 and later) or always the legacy documents
    /// (older servers and proxies).
    pub fn discovery(mut self, mode: DiscoveryMode) -> Self {
        self.options.discovery = mode;
        self
    }

    /// Answer every request this much later, as a distant cluster would: half
    /// before it is handled, half after. A watch gets it on its start only.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.options.latency = latency;
        self
    }

    /// Take the shape of cluster `mode` names (see [`Mode`]); it sets the
    /// options the mode is made of, over what was set before.
    pub fn mode(self, mode: Mode) -> Self {
        match mode {
            Mode::LegacyDiscovery => self.discovery(DiscoveryMode::Legacy),
            Mode::LaggingControllers => self
                .controller_lag(CONTROLLER_LAG)
                .crd_establishment(CrdEstablishment::after(CRD_ESTABLISHMENT_DELAY)),
            Mode::SlowLink => self.latency(SLOW_LINK_LATENCY),
            Mode::ForeignManagers => self.foreign_managers(true),
        }
    }

    /// Take the shapes of cluster `modes` name, in order.
    pub fn modes(self, modes: &[Mode]) -> Self {
        modes.iter().fold(self, |builder, mode| builder.mode(*mode))
    }

    /// Take the shapes [`MODES_VARIABLE`] (`RCHART_TEST_APISERVER_MODES`)
    /// names, e.g. `legacy-discovery,slow-link`, over what was set before.
    pub fn modes_from_env(self) -> Result<Self, ModeError> {
        Ok(self.modes(&Mode::from_env()?))
    }

    /// Default options with the modes [`MODES_VARIABLE`] names: how a suite
    /// runs against each shape of cluster by setting one variable.
    pub fn from_env() -> Result<Self, ModeError> {
        Builder::default().modes_from_env()
    }

    /// Start the server on a background thread with its own runtime.
    pub fn start(self) -> Result<TestApiServer, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("rchart-test-apiserver")
            .tempdir()?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::new(self.options, port));
        for name in INITIAL_NAMESPACES {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            api::create_direct(&shared, namespace, "kube-apiserver")?;
        }
        let text = kubeconfig::render(
            port,
            &shared.token,
            &shared.default_namespace,
            &KubeconfigOptions::default(),
        );
        let kubeconfig = kubeconfig::write(dir.path(), "kubeconfig", &text)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rchart-test-apiserver")
            .enable_all()
            .build()?;
        let (shutdown, shutdown_signal) = oneshot::channel();
        let (started, started_signal) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rchart-test-apiserver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = started.send(Err(error));
                            return;
                        }
                    };
                    controller::spawn(thread_shared.clone());
                    controller::establishing::spawn(thread_shared.clone());
                    let _ = started.send(Ok(()));
                    server::serve(listener, thread_shared, shutdown_signal).await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        started_signal
            .recv()
            .map_err(|_| std::io::Error::other("the server thread stopped while starting"))??;
        Ok(TestApiServer {
            shared,
            port,
            dir,
            kubeconfig,
            kubeconfigs_written: AtomicU32::new(0),
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

/// A running test API server. Dropping it stops the server.
pub struct TestApiServer {
    shared: Arc<Shared>,
    port: u16,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    kubeconfigs_written: AtomicU32,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestApiServer {
    /// Start a server with default options.
    pub fn start() -> Result<TestApiServer, StartError> {
        Builder::default().start()
    }

    /// Options for a server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// A kubeconfig for this server, with the right token and the configured namespace.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Write a kubeconfig variant (wrong token, other namespace, unreachable server).
    pub fn kubeconfig_with(&self, options: &KubeconfigOptions) -> std::io::Result<PathBuf> {
        let n = self.kubeconfigs_written.fetch_add(1, Ordering::Relaxed);
        let text = kubeconfig::render(
            self.port,
            &self.shared.token,
            &self.shared.default_namespace,
            options,
        );
        kubeconfig::write(self.dir.path(), &format!("kubeconfig-{n}"), &text)
    }

    /// Every API request so far, in order (test controls are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.snapshot()
    }

    /// Forget the requests so far.
    pub fn clear_requests(&self) {
        self.shared.requests.clear();
    }

    /// Inject a failure.
    pub fn add_fault(&self, fault: Fault) -> FaultId {
        self.shared.faults.add(fault)
    }

    /// Remove one injected failure; false if it already fired or was removed.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.shared.faults.remove(id)
    }

    /// The faults still active (one-shot faults go once they fired).
    pub fn faults(&self) -> Vec<(FaultId, Fault)> {
        self.shared.faults.list()
    }

    /// Remove every injected failure.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Hold requests matching `when` until the returned gate lets them go.
    /// Dropping the gate removes the fault and lets held requests go on.
    ///
    /// ```no_run
    /// # use rchart_test_apiserver::{Operation, RequestMatch, TestApiServer};
    /// # let server = TestApiServer::start().unwrap();
    /// let renewals = server.hold(RequestMatch::of(Operation::Update).resource("leases"));
    /// // ... start the client under test ...
    /// renewals.wait_for(1); // a renewal is now held
    /// // ... change the world while it waits ...
    /// renewals.release_all();
    /// ```
    pub fn hold(&self, when: RequestMatch) -> Gate {
        let name = format!("hold-{}", uuid::Uuid::new_v4().simple());
        let id = self
            .shared
            .faults
            .add(Fault::hold(&name, when).persistent());
        Gate::new(self.shared.clone(), &name, Some(id))
    }

    /// A handle on the gate `name` that `Hold` faults (e.g. added over HTTP)
    /// hold requests at. Dropping it changes nothing.
    pub fn gate(&self, name: &str) -> Gate {
        Gate::new(self.shared.clone(), name, None)
    }

    /// Change the latency added to every answer (see [`Builder::latency`]).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// Add a readiness rule for the simulated controller (later rules win).
    pub fn add_readiness_rule(&self, rule: ReadinessRule) {
        self.shared
            .controller
            .update(|settings| settings.rules.push(rule));
    }

    /// Set readiness for objects no rule or annotation covers.
    pub fn set_default_readiness(&self, readiness: Readiness) {
        self.shared
            .controller
            .update(|settings| settings.default = readiness);
    }

    /// Add a rule for how Jobs and run-to-completion Pods end (later rules win).
    ///
    /// ```no_run
    /// # use rchart_test_apiserver::{Run, RunRule, TestApiServer};
    /// # let server = TestApiServer::start().unwrap();
    /// server.add_run_rule(RunRule::job("migrate", Run::failing().log("relation \"users\" already exists\n")));
    /// server.add_run_rule(RunRule::pod("*-test", Run::succeeding().held()));
    /// ```
    pub fn add_run_rule(&self, rule: RunRule) {
        self.shared
            .controller
            .update(|settings| settings.runs.push(rule));
    }

    /// Let the held run (see [`Run::held`]) of the Job or bare Pod `name`
    /// end; true when it was waiting, else it ends as soon as it gets to
    /// its hold. `resource` is `Job` or `Pod` (any kind name).
    pub fn finish_run(&self, resource: &str, namespace: &str, name: &str) -> bool {
        self.shared.finish_run(resource, namespace, name)
    }

    /// Drop all readiness rules and make everything ready at once again.
    pub fn reset_readiness(&self) {
        self.shared
            .controller
            .update(|settings| *settings = ControllerSettings::default());
    }

    /// Change the simulated controllers' lag (see [`Builder::controller_lag`]).
    pub fn set_controller_lag(&self, lag: Duration) {
        self.shared.pace.set_lag(lag);
    }

    /// Turn the other field managers on or off (see [`Builder::foreign_managers`]).
    pub fn set_foreign_managers(&self, on: bool) {
        self.shared.foreign_managers.set_enabled(on);
    }

    /// Stop the simulated controllers from writing: status stays as it is
    /// (`observedGeneration` behind `generation` after a spec change) until
    /// [`TestApiServer::resume_controller`].
    pub fn pause_controller(&self) {
        self.shared.pace.pause();
    }

    /// Let the simulated controllers write again; what they held back while
    /// paused is written now.
    pub fn resume_controller(&self) {
        self.shared.pace.resume();
    }

    /// Change when new CustomResourceDefinitions are established (see
    /// [`Builder::crd_establishment`]); CRDs already waiting keep waiting
    /// until [`TestApiServer::establish_crds`] unless changed again.
    pub fn set_crd_establishment(&self, establishment: CrdEstablishment) {
        self.shared.store().crd_establishment = establishment;
    }

    /// Establish every CustomResourceDefinition still waiting; returns their names.
    pub fn establish_crds(&self) -> Vec<String> {
        api::establish_waiting(&mut self.shared.store())
    }

    /// Create an object directly (as field manager `test-setup`), for preparing state.
    pub fn create(&self, object: Value) -> Result<Value, ApiError> {
        api::create_direct(&self.shared, object, TEST_MANAGER)
    }

    /// Replace a stored object with `object` (as `test-setup`, with no
    /// resourceVersion precondition), e.g. to garble a Secret's data. It is
    /// validated and written like a client's PUT: a new resourceVersion, and
    /// watchers see `MODIFIED`.
    pub fn replace(&self, object: Value) -> Result<Value, ApiError> {
        direct::replace(&self.shared, object)
    }

    /// Delete a stored object as a client's DELETE would (finalizers hold it).
    /// `resource` is a kind, plural or short name.
    pub fn delete(&self, resource: &str, namespace: &str, name: &str) -> Result<Value, ApiError> {
        direct::delete(&self.shared, resource, namespace, name)
    }

    /// Move a Lease's `spec.renewTime` and `spec.acquireTime` into the past or
    /// the future (as `test-setup`; a new resourceVersion, `MODIFIED` for
    /// watchers), e.g. to make its holder look gone.
    pub fn shift_lease(
        &self,
        namespace: &str,
        name: &str,
        shift: TimeShift,
    ) -> Result<Value, ApiError> {
        direct::shift_lease(&self.shared, namespace, name, shift)
    }

    /// Replace an object's `status`, through `/status` where the type has it,
    /// as another client (`test-setup`) would.
    pub fn set_status(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        status: Value,
    ) -> Result<Value, ApiError> {
        direct::set_status(&self.shared, resource, namespace, name, status)
    }

    /// Set one condition of an object's status as of a given time (see
    /// [`Condition`]), replacing one of the same type.
    pub fn set_condition(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        condition: Condition,
    ) -> Result<Value, ApiError> {
        direct::set_condition(&self.shared, resource, namespace, name, &condition)
    }

    /// One stored object. `resource` is a kind, plural or short name; `namespace`
    /// is ignored for cluster-scoped types.
    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let store = self.shared.store();
        let resource = store.catalogue.resolve(resource)?;
        store
            .get(&store::ObjectKey::new(&resource, namespace, name))
            .map(|object| (*object).clone())
    }

    /// Stored objects of one type, in one namespace or (with `None`) all.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        let store = self.shared.store();
        let Some(resource) = store.catalogue.resolve(resource) else {
            return Vec::new();
        };
        store
            .list(&resource, namespace)
            .map(|(_, object)| (**object).clone())
            .collect()
    }

    /// The current resourceVersion (the global revision counter).
    pub fn resource_version(&self) -> u64 {
        self.shared.store().revision()
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
