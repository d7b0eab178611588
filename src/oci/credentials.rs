//! Registry credentials in Docker's `config.json`, shared with docker, podman, skopeo
//! (`--authfile`) and Helm.
//!
//! The file is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. For a
//! registry `HOST[:PORT]`, credentials are looked up in this order:
//! 1. `credHelpers[HOST]`: the program `docker-credential-NAME get`;
//! 2. `auths[HOST]`: `auth` (base64 of `user:password`) or `identitytoken`;
//! 3. `credsStore`: the program `docker-credential-NAME get`.
//!
//! A helper answering "credentials not found" means none. `auths` keys written as URLs
//! (`https://HOST/v1/`) match too. `rchart registry login` stores through the helper
//! that step 1 or 3 names, else writes `auths[HOST].auth`; the file is written whole
//! to a temporary file and renamed, with mode 0600, keeping every other key as it was.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::error::OciError;

/// What is sent to a registry or its token service.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A password, sent with HTTP Basic authentication.
    Password(String),
    /// An OAuth2 refresh token, exchanged at the token service for access tokens.
    IdentityToken(String),
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
    /// Where they came from, for messages: the file or the helper.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?} from {})", self.username, self.source)
    }
}

/// Docker's `config.json`, as read; unknown keys are kept when it is written back.
pub struct DockerConfig {
    pub path: PathBuf,
    document: Map<String, Value>,
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_config_path() -> Result<PathBuf, OciError> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            OciError::Credentials(
                "neither DOCKER_CONFIG nor HOME is set; cannot find Docker's config.json".into(),
            )
        })?;
    Ok(PathBuf::from(home).join(".docker/config.json"))
}

impl DockerConfig {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, OciError> {
        let document = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(OciError::Credentials(format!(
                        "{}: expected a JSON object",
                        path.display()
                    )));
                }
                Err(e) => {
                    return Err(OciError::Credentials(format!("{}: {e}", path.display())));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(OciError::io("cannot read", path)(e)),
        };
        Ok(DockerConfig {
            path: path.to_path_buf(),
            document,
        })
    }

    /// The credentials for `registry` (`host[:port]`), or `None` for anonymous access.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, OciError> {
        if let Some(helper) = self.cred_helper(registry) {
            return helper_get(&helper, registry);
        }
        if let Some((_, entry)) = self.auth_entry(registry)
            && let Some(credentials) = self.entry_credentials(registry, entry)?
        {
            return Ok(Some(credentials));
        }
        match self.creds_store() {
            Some(store) => helper_get(&store, registry),
            None => Ok(None),
        }
    }

    /// Stores credentials for `registry`: through its helper, else in `auths`.
    pub fn store(
        &mut self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<(), OciError> {
        if let Some(helper) = self.helper_for(registry) {
            let input = serde_json::json!({
                "ServerURL": registry,
                "Username": username,
                "Secret": password,
            });
            run_helper(&helper, "store", &input.to_string())?;
            return Ok(());
        }
        self.remove_entries(registry);
        let auth = BASE64.encode(format!("{username}:{password}"));
        let auths = self
            .document
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(auths) = auths {
            auths.insert(registry.to_string(), serde_json::json!({ "auth": auth }));
        }
        self.save()
    }

    /// Forgets the credentials for `registry`; false when there were none.
    pub fn erase(&mut self, registry: &str) -> Result<bool, OciError> {
        let mut erased = false;
        if let Some(helper) = self.helper_for(registry) {
            erased = helper_get(&helper, registry)?.is_some();
            if erased {
                run_helper(&helper, "erase", registry)?;
            }
        }
        if self.remove_entries(registry) {
            erased = true;
            self.save()?;
        }
        Ok(erased)
    }

    fn cred_helper(&self, registry: &str) -> Option<String> {
        self.document
            .get("credHelpers")?
            .as_object()?
            .iter()
            .find(|(key, _)| registry_of_key(key) == registry)
            .and_then(|(_, name)| name.as_str())
            .map(str::to_string)
    }

    fn creds_store(&self) -> Option<String> {
        self.document
            .get("credsStore")?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn helper_for(&self, registry: &str) -> Option<String> {
        self.cred_helper(registry).or_else(|| self.creds_store())
    }

    fn auth_entry(&self, registry: &str) -> Option<(&String, &Value)> {
        self.document
            .get("auths")?
            .as_object()?
            .iter()
            .find(|(key, _)| registry_of_key(key) == registry)
    }

    fn entry_credentials(
        &self,
        registry: &str,
        entry: &Value,
    ) -> Result<Option<Credentials>, OciError> {
        let source = self.path.display().to_string();
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(token) = field("identitytoken") {
            return Ok(Some(Credentials {
                username: field("username").unwrap_or("<token>").to_string(),
                secret: Secret::IdentityToken(token.to_string()),
                source,
            }));
        }
        let Some(auth) = field("auth") else {
            return Ok(None);
        };
        let invalid = || {
            OciError::Credentials(format!(
                "{source}: auths[{registry:?}].auth is not base64 of \"user:password\""
            ))
        };
        let decoded = BASE64.decode(auth.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (username, password) = decoded.split_once(':').ok_or_else(invalid)?;
        Ok(Some(Credentials {
            username: username.to_string(),
            secret: Secret::Password(password.to_string()),
            source,
        }))
    }

    fn remove_entries(&mut self, registry: &str) -> bool {
        let Some(Value::Object(auths)) = self.document.get_mut("auths") else {
            return false;
        };
        let before = auths.len();
        auths.retain(|key, _| registry_of_key(key) != registry);
        auths.len() != before
    }

    fn save(&self) -> Result<(), OciError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut text = serde_json::to_string_pretty(&self.document)
            .map_err(|e| OciError::Credentials(e.to_string()))?;
        text.push('\n');
        let mut temp = tempfile::Builder::new()
            .prefix(".config.json.")
            .permissions(private_file())
            .tempfile_in(dir)
            .map_err(OciError::io("cannot write a temporary file in", dir))?;
        temp.write_all(text.as_bytes())
            .map_err(OciError::io("cannot write", temp.path().to_path_buf()))?;
        temp.persist(&self.path)
            .map_err(|e| OciError::io("cannot write", self.path.clone())(e.error))?;
        Ok(())
    }
}

#[cfg(unix)]
fn private_file() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn private_file() -> std::fs::Permissions {
    std::fs::metadata(".").map(|m| m.permissions()).unwrap()
}

fn create_private_dir(dir: &Path) -> Result<(), OciError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(OciError::io("cannot create", dir))
}

/// `https://host:port/v1/` and `host:port` both key `host:port`.
fn registry_of_key(key: &str) -> String {
    super::reference::parse_registry(key).unwrap_or_else(|_| key.to_string())
}

fn helper_get(helper: &str, registry: &str) -> Result<Option<Credentials>, OciError> {
    let output = match run_helper(helper, "get", registry) {
        Ok(output) => output,
        Err(HelperError::NotFound) => return Ok(None),
        Err(HelperError::Failed(error)) => return Err(error),
    };
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let answer: Answer = serde_json::from_str(&output).map_err(|e| {
        OciError::Credentials(format!(
            "docker-credential-{helper} get: unexpected answer for {registry}: {e}"
        ))
    })?;
    let secret = if answer.username == "<token>" {
        Secret::IdentityToken(answer.secret)
    } else {
        Secret::Password(answer.secret)
    };
    Ok(Some(Credentials {
        username: answer.username,
        secret,
        source: format!("docker-credential-{helper}"),
    }))
}

enum HelperError {
    NotFound,
    Failed(OciError),
}

impl From<HelperError> for OciError {
    fn from(error: HelperError) -> Self {
        match error {
            HelperError::NotFound => OciError::Credentials("credentials not found".into()),
            HelperError::Failed(error) => error,
        }
    }
}

/// Runs `docker-credential-HELPER ACTION` with `input` on stdin; returns stdout.
fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, HelperError> {
    let program = format!("docker-credential-{helper}");
    let failed = |detail: String| {
        HelperError::Failed(OciError::Credentials(format!(
            "credential helper {program} {action}: {detail}"
        )))
    };
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| failed(format!("cannot write to it: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("{e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() {
        return Ok(stdout);
    }
    let message = if stdout.is_empty() {
        String::from_utf8_lossy(&output.stderr).trim().to_string()
    } else {
        stdout
    };
    if message.contains("credentials not found") {
        return Err(HelperError::NotFound);
    }
    Err(failed(format!("{} ({message})", output.status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_entries_match_by_host_and_decode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"https://r.example.com:5000/v1/": {"auth": "dTpwOnc="}}, "other": 1}"#,
        )
        .unwrap();
        let mut config = DockerConfig::load(&path).unwrap();
        let found = config.lookup("r.example.com:5000").unwrap().unwrap();
        assert_eq!(found.username, "u");
        assert!(found.secret == Secret::Password("p:w".into()));
        assert!(config.lookup("r.example.com").unwrap().is_none());

        config.store("127.0.0.1:1", "a", "b").unwrap();
        assert!(config.erase("r.example.com:5000").unwrap());
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["other"], 1);
        assert_eq!(
            written["auths"]["127.0.0.1:1"]["auth"],
            BASE64.encode("a:b")
        );
        assert!(
            written["auths"]
                .get("https://r.example.com:5000/v1/")
                .is_none()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
