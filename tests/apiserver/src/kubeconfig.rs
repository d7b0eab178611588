//! Kubeconfig files pointing at the server, including deliberately broken ones.

use std::path::{Path, PathBuf};

/// Variations of the generated kubeconfig.
///
/// ```
/// use rchart_test_apiserver::KubeconfigOptions;
/// let wrong = KubeconfigOptions::default().wrong_token().namespace("prod");
/// # let _ = wrong;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeconfigOptions {
    token: TokenChoice,
    namespace: Option<String>,
    unreachable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum TokenChoice {
    #[default]
    Right,
    Wrong,
    Custom(String),
    None,
}

impl KubeconfigOptions {
    /// Use a token the server rejects with 401.
    pub fn wrong_token(mut self) -> Self {
        self.token = TokenChoice::Wrong;
        self
    }

    /// Use this token.
    pub fn token(mut self, token: &str) -> Self {
        self.token = TokenChoice::Custom(token.to_string());
        self
    }

    /// Send no credentials at all.
    pub fn no_token(mut self) -> Self {
        self.token = TokenChoice::None;
        self
    }

    /// Set the context's namespace.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Point at an address where nothing listens (connections are refused).
    pub fn unreachable(mut self) -> Self {
        self.unreachable = true;
        self
    }

    /// Parse the query form used by `GET /__test/kubeconfig`:
    /// `token=wrong|none|<value>`, `namespace=<ns>`, `unreachable=true`.
    pub fn from_query(query: &crate::path::Query) -> Self {
        let mut options = KubeconfigOptions::default();
        match query.get("token") {
            Some("wrong") => options = options.wrong_token(),
            Some("none") => options = options.no_token(),
            Some(token) if !token.is_empty() => options = options.token(token),
            _ => {}
        }
        if let Some(namespace) = query.non_empty("namespace") {
            options = options.namespace(namespace);
        }
        if query.flag("unreachable") {
            options = options.unreachable();
        }
        options
    }
}

/// The kubeconfig text for a server.
pub fn render(
    port: u16,
    token: &str,
    default_namespace: &str,
    options: &KubeconfigOptions,
) -> String {
    // Port 1 is privileged and never served on loopback, so connecting is refused at once.
    let server = if options.unreachable {
        "http://127.0.0.1:1".to_string()
    } else {
        format!("http://127.0.0.1:{port}")
    };
    let namespace = options.namespace.as_deref().unwrap_or(default_namespace);
    let user = match &options.token {
        TokenChoice::Right => format!("    token: {}\n", quoted(token)),
        TokenChoice::Wrong => format!("    token: {}\n", quoted(&format!("wrong-{token}"))),
        TokenChoice::Custom(custom) => format!("    token: {}\n", quoted(custom)),
        TokenChoice::None => String::new(),
    };
    let user = if user.is_empty() {
        "  user: {}\n".to_string()
    } else {
        format!("  user:\n{user}")
    };
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: rchart-test\n  cluster:\n    server: {server}\n\
         contexts:\n\
         - name: rchart-test\n  context:\n    cluster: rchart-test\n    user: rchart-test\n    namespace: {namespace}\n\
         current-context: rchart-test\n\
         users:\n\
         - name: rchart-test\n{user}\
         preferences: {{}}\n",
        namespace = quoted(namespace),
    )
}

/// Write a kubeconfig into `dir` under `file_name`.
pub fn write(dir: &Path, file_name: &str, contents: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(file_name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_complete_kubeconfig() {
        let text = render(8080, "secret", "default", &KubeconfigOptions::default());
        assert!(text.contains("server: http://127.0.0.1:8080\n"), "{text}");
        assert!(text.contains("token: \"secret\"\n"), "{text}");
        assert!(text.contains("namespace: \"default\"\n"), "{text}");
        assert!(text.contains("current-context: rchart-test\n"), "{text}");
    }

    #[test]
    fn variations() {
        let text = render(
            8080,
            "secret",
            "default",
            &KubeconfigOptions::default()
                .wrong_token()
                .namespace("prod")
                .unreachable(),
        );
        assert!(text.contains("token: \"wrong-secret\""), "{text}");
        assert!(text.contains("namespace: \"prod\""), "{text}");
        assert!(text.contains("server: http://127.0.0.1:1\n"), "{text}");
        let text = render(
            8080,
            "secret",
            "default",
            &KubeconfigOptions::default().no_token(),
        );
        assert!(text.contains("  user: {}\n"), "{text}");
    }
}
