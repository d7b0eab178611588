//! Hot reload of the config file, on a content change or on SIGHUP.
//!
//! The file is polled and its content compared with the last content seen, instead of being
//! watched with inotify. A ConfigMap volume is updated by swapping a `..data` symlink to a
//! new timestamped directory: a watch on the file itself follows the old target and goes
//! quiet once that directory is deleted, and a watch on the directory sees several events
//! per update. Reading the path on a timer follows whatever the symlinks point to at that
//! moment, sees each swap exactly once as a change of content, and also works where inotify
//! does not (network and overlay filesystems, editors that replace files). The kubelet
//! itself takes up to a minute to publish a ConfigMap change, so a poll every few seconds
//! adds little delay, and reading a small file that often costs nothing measurable.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::Signal;
use tokio::sync::Mutex;
use tokio::time::MissedTickBehavior;

use crate::app::App;
use crate::config::{self, ConfigError};
use crate::routes::RouteTable;

/// What started a reload; shown in its log line.
#[derive(Clone, Copy)]
enum Trigger {
    FileChanged,
    Sighup,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::FileChanged => "file changed",
            Self::Sighup => "SIGHUP",
        }
    }
}

/// Reloads the config file into the app's route table.
pub struct Reloader {
    path: PathBuf,
    app: Arc<App>,
    /// Serialises reloads, and remembers what was last read so that each change is acted on
    /// (and each bad config logged) once.
    seen: Mutex<Seen>,
}

struct Seen {
    content: Vec<u8>,
    read_error: Option<String>,
}

impl Reloader {
    /// `loaded_content` is the content the app's current routes were built from.
    pub fn new(path: PathBuf, app: Arc<App>, loaded_content: Vec<u8>) -> Self {
        Self {
            path,
            app,
            seen: Mutex::new(Seen {
                content: loaded_content,
                read_error: None,
            }),
        }
    }

    /// Reloads when the file's content differs from the content last seen.
    pub async fn reload_if_changed(&self) {
        let mut seen = self.seen.lock().await;
        match tokio::fs::read(&self.path).await {
            Ok(content) => {
                seen.read_error = None;
                if content != seen.content {
                    self.apply(&content, Trigger::FileChanged);
                    seen.content = content;
                }
            }
            Err(err) => {
                // A file that stays unreadable is reported once, not on every poll.
                let message = err.to_string();
                if seen.read_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(
                        file = %self.path.display(),
                        error = %message,
                        "cannot read config file; the previous routes keep serving"
                    );
                    seen.read_error = Some(message);
                }
            }
        }
    }

    /// Reloads unconditionally, as asked for by SIGHUP.
    pub async fn reload_now(&self) {
        let mut seen = self.seen.lock().await;
        match tokio::fs::read(&self.path).await {
            Ok(content) => {
                self.apply(&content, Trigger::Sighup);
                seen.content = content;
                seen.read_error = None;
            }
            Err(err) => {
                self.app.metrics.reload_finished(false);
                tracing::error!(
                    file = %self.path.display(),
                    error = %err,
                    trigger = Trigger::Sighup.as_str(),
                    "cannot read config file; the previous routes keep serving"
                );
            }
        }
    }

    /// Validates `content` and swaps it in, or logs why not and keeps the current routes.
    fn apply(&self, content: &[u8], trigger: Trigger) {
        match config::parse(&self.path, content) {
            Ok(config) => {
                let table = RouteTable::build(&config, &self.app.metrics);
                let routes = table.len();
                self.app.routes.store(Arc::new(table));
                self.app.metrics.routes_loaded(routes);
                self.app.metrics.reload_finished(true);
                tracing::info!(
                    file = %self.path.display(),
                    routes,
                    trigger = trigger.as_str(),
                    "config reloaded"
                );
            }
            Err(err) => {
                self.app.metrics.reload_finished(false);
                log_config_error(
                    &err,
                    Some(trigger.as_str()),
                    "config rejected; the previous routes keep serving",
                );
            }
        }
    }
}

/// Logs a config error with the file, line and column as separate fields.
pub fn log_config_error(err: &ConfigError, trigger: Option<&str>, message: &str) {
    let (line, column) = err.location().unzip();
    tracing::error!(
        file = %err.path().display(),
        line,
        column,
        trigger,
        error = %err,
        "{message}"
    );
}

/// Polls the file every `interval` until the process ends.
pub fn spawn_polling(reloader: Arc<Reloader>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick completes at once; the file was just loaded.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            reloader.reload_if_changed().await;
        }
    });
}

/// Reloads on every SIGHUP received on `hangups` until the process ends.
pub fn spawn_on_sighup(reloader: Arc<Reloader>, mut hangups: Signal) {
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received; reloading config");
            reloader.reload_now().await;
        }
    });
}
