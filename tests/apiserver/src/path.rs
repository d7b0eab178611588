//! Parsing of request paths and query strings into what they address.

use std::collections::HashMap;

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/api`
    CoreVersions,
    /// `/api/v1` (or another core version)
    CoreResources(String),
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/apis/<group>/<version>`
    GroupResources(String, String),
    /// `/openapi/v3`
    OpenApiIndex,
    /// A document under `/openapi/v3/` (`/openapi/v2` is not served).
    OpenApiDocument,
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// The coordinates of a resource request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group, empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the URL, if the URL is namespaced.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Object name, absent for collection requests.
    pub name: Option<String>,
    /// Subresource such as `status`.
    pub subresource: Option<String>,
}

impl Route {
    /// Parse an URL path (without query string).
    pub fn parse(path: &str) -> Route {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["version"] => Route::Version,
            ["healthz" | "livez" | "readyz", ..] => Route::Health,
            ["api"] => Route::CoreVersions,
            ["api", version] => Route::CoreResources(version.to_string()),
            ["api", version, rest @ ..] => resource_route("", version, rest),
            ["apis"] => Route::Groups,
            ["apis", group] => Route::Group(group.to_string()),
            ["apis", group, version] => {
                Route::GroupResources(group.to_string(), version.to_string())
            }
            ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
            ["openapi", "v3"] => Route::OpenApiIndex,
            ["openapi", "v3", ..] => Route::OpenApiDocument,
            _ => Route::Unknown,
        }
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let (namespace, rest) = match rest {
        // `namespaces/<name>/status` and `/finalize` are subresources of a Namespace,
        // every other `namespaces/<ns>/<resource>` is a namespaced collection.
        ["namespaces", _, "status" | "finalize"] => (None, rest),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(ns.to_string()), tail),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (resource, None, None),
        [resource, name] => (resource, Some(name.to_string()), None),
        [resource, name, sub] => (resource, Some(name.to_string()), Some(sub.to_string())),
        _ => return Route::Unknown,
    };
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        resource: resource.to_string(),
        name,
        subresource,
    })
}

/// Query parameters; for repeated keys the last value wins.
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parse `a=1&b=2` (a leading `&`, as kube-rs sends, is fine).
    pub fn parse(query: Option<&str>) -> Query {
        let mut params = HashMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(form_decode(key), form_decode(value));
        }
        Query(params)
    }

    /// The value of a parameter, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A parameter that is present and non-empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// A boolean parameter: `true` or `1`.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    /// `dryRun=All` was requested.
    pub fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

fn form_decode(text: &str) -> String {
    percent_decode(&text.replace('+', " "))
}

/// Decode `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> ResourcePath {
        match Route::parse(path) {
            Route::Resource(resource) => resource,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn namespaced_object_paths() {
        let r = resource("/apis/apps/v1/namespaces/prod/deployments/web/status");
        assert_eq!(
            (r.group.as_str(), r.namespace.as_deref()),
            ("apps", Some("prod"))
        );
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref()),
            ("deployments", Some("web"))
        );
        assert_eq!(r.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn namespace_objects_and_their_subresources() {
        let r = resource("/api/v1/namespaces/prod");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("prod"), None)
        );
        let r = resource("/api/v1/namespaces/prod/status");
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("prod"), Some("status"))
        );
        let r = resource("/api/v1/namespaces/prod/configmaps");
        assert_eq!(
            (r.resource.as_str(), r.namespace.as_deref(), r.name),
            ("configmaps", Some("prod"), None)
        );
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(Route::parse("/api"), Route::CoreVersions);
        assert_eq!(
            Route::parse("/apis/apps/v1"),
            Route::GroupResources("apps".into(), "v1".into())
        );
        assert_eq!(Route::parse("/openapi/v3"), Route::OpenApiIndex);
        assert_eq!(
            Route::parse("/openapi/v3/apis/apps/v1"),
            Route::OpenApiDocument
        );
        assert_eq!(Route::parse("/openapi/v2"), Route::Unknown);
        assert_eq!(Route::parse("/nope"), Route::Unknown);
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some("&labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(q.flag("watch"));
        assert!(!q.dry_run());
    }
}
