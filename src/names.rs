//! The names rchart checks before using them: release names and namespaces. Both end up
//! in object names, labels and URLs, so both follow the rules of a DNS label.

/// Release names become object name prefixes and Secret names: DNS labels, short enough
/// to leave room for suffixes.
pub const MAX_RELEASE_NAME: usize = 53;

/// Namespaces are DNS labels (RFC 1123).
const MAX_NAMESPACE: usize = 63;

/// Why `name` cannot be a release name, or `None` when it can. An all-digit name is
/// refused so that `rchart rollback 2` can only mean revision 2.
pub fn release_name_problem(name: &str) -> Option<String> {
    if !is_dns_label(name, MAX_RELEASE_NAME) {
        return Some(format!(
            "release name \"{name}\" is invalid: use at most {MAX_RELEASE_NAME} lowercase letters, digits and '-', starting and ending with a letter or digit"
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!(
            "release name \"{name}\" is all digits, which `rchart rollback {name}` would read as a revision: use a name with a letter in it"
        ));
    }
    None
}

/// Why `name` cannot be a namespace, or `None` when it can.
pub fn namespace_problem(name: &str) -> Option<String> {
    (!is_dns_label(name, MAX_NAMESPACE)).then(|| {
        format!(
            "namespace \"{name}\" is invalid: use at most {MAX_NAMESPACE} lowercase letters, digits and '-', starting and ending with a letter or digit"
        )
    })
}

fn is_dns_label(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_dns_labels_with_a_letter() {
        assert!(release_name_problem("multiroute").is_none());
        assert!(release_name_problem("web-2").is_none());
        assert!(release_name_problem("2web").is_none());
        assert!(release_name_problem("Web_1").unwrap().contains("invalid"));
        assert!(release_name_problem("-web").is_some());
        assert!(release_name_problem(&"a".repeat(54)).is_some());
        assert!(release_name_problem("123").unwrap().contains("all digits"));
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(namespace_problem("backend-dev").is_none());
        assert!(namespace_problem("123").is_none());
        assert!(namespace_problem(&"a".repeat(63)).is_none());
        assert!(namespace_problem(&"a".repeat(64)).is_some());
        assert!(namespace_problem("Backend").is_some());
        assert!(namespace_problem("").is_some());
    }
}
