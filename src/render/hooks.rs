//! Hooks: objects a chart asks to run around an operation, instead of deploying them
//! with the release.
//!
//! A document is a hook when it carries the annotation `rchart.io/hook` (or Helm's
//! `helm.sh/hook`, read as an alias so ported charts keep their meaning):
//!
//! - `rchart.io/hook`: a comma list of events, [`HookEvent`];
//! - `rchart.io/hook-weight`: an integer in a string, `"-5"`; hooks of one event run in
//!   groups of equal weight, lowest first (default 0);
//! - `rchart.io/hook-delete-policy`: a comma list of [`DeletePolicy`]; without it,
//!   `before-hook-creation`.
//!
//! An `rchart.io/` annotation wins over its `helm.sh/` alias. Everything that would make a
//! hook misbehave is an error naming the object and its template: an unknown event or
//! policy, a weight that is not an integer, and a Pod that would never complete
//! (`restartPolicy: Always`, the default).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RenderError;
use super::manifest::Manifest;
use super::order::install_rank;

pub const HOOK_ANNOTATION: &str = "rchart.io/hook";
pub const WEIGHT_ANNOTATION: &str = "rchart.io/hook-weight";
pub const DELETE_POLICY_ANNOTATION: &str = "rchart.io/hook-delete-policy";

/// Helm's spellings, read when the `rchart.io/` one is absent.
const ALIASES: [(&str, &str); 3] = [
    (HOOK_ANNOTATION, "helm.sh/hook"),
    (WEIGHT_ANNOTATION, "helm.sh/hook-weight"),
    (DELETE_POLICY_ANNOTATION, "helm.sh/hook-delete-policy"),
];

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    PreDelete,
    PostDelete,
    /// Run by `rchart test`, never by an operation.
    Test,
}

impl HookEvent {
    pub const ALL: [HookEvent; 9] = [
        HookEvent::PreInstall,
        HookEvent::PostInstall,
        HookEvent::PreUpgrade,
        HookEvent::PostUpgrade,
        HookEvent::PreRollback,
        HookEvent::PostRollback,
        HookEvent::PreDelete,
        HookEvent::PostDelete,
        HookEvent::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::Test => "test",
        }
    }

    /// An event as annotated; `test-success` is Helm 2's name for `test`.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "test-success" {
            return Some(HookEvent::Test);
        }
        HookEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == text)
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a hook's object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletePolicy {
    /// Before the hook runs again, the object of its last run is deleted (the default).
    BeforeHookCreation,
    /// Once every hook of the event succeeded.
    HookSucceeded,
    /// When it failed, once its log has been read.
    HookFailed,
}

impl DeletePolicy {
    const ALL: [DeletePolicy; 3] = [
        DeletePolicy::BeforeHookCreation,
        DeletePolicy::HookSucceeded,
        DeletePolicy::HookFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeletePolicy::BeforeHookCreation => "before-hook-creation",
            DeletePolicy::HookSucceeded => "hook-succeeded",
            DeletePolicy::HookFailed => "hook-failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        DeletePolicy::ALL
            .into_iter()
            .find(|policy| policy.as_str() == text)
    }
}

impl fmt::Display for DeletePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook: its document and when and how it runs.
#[derive(Debug, Clone)]
pub struct Hook {
    pub manifest: Manifest,
    /// Never empty.
    pub events: Vec<HookEvent>,
    pub weight: i64,
    /// As annotated; empty means the default, `before-hook-creation`.
    pub delete_policies: Vec<DeletePolicy>,
}

impl Hook {
    pub fn runs_on(&self, event: HookEvent) -> bool {
        self.events.contains(&event)
    }

    /// Whether the object is deleted on `policy`'s occasion.
    pub fn deletes_on(&self, policy: DeletePolicy) -> bool {
        if self.delete_policies.is_empty() {
            policy == DeletePolicy::BeforeHookCreation
        } else {
            self.delete_policies.contains(&policy)
        }
    }

    /// The order hooks of one event run in: by weight, then install order of their kinds,
    /// then name.
    pub fn run_order(&self) -> (i64, usize, &str, &str) {
        let kind = &self.manifest.id.kind;
        (
            self.weight,
            install_rank(kind),
            kind,
            &self.manifest.id.name,
        )
    }
}

/// Splits rendered manifests into the ordinary objects of the release and its hooks,
/// both in the order they came.
pub fn split(manifests: Vec<Manifest>) -> Result<(Vec<Manifest>, Vec<Hook>), RenderError> {
    let mut ordinary = Vec::with_capacity(manifests.len());
    let mut hooks = Vec::new();
    for manifest in manifests {
        // Only a document that mentions a hook annotation is read again.
        if !manifest.text.contains("/hook") {
            ordinary.push(manifest);
            continue;
        }
        let object = manifest.object()?;
        match read(&manifest, &object)? {
            Some((events, weight, delete_policies)) => hooks.push(Hook {
                manifest,
                events,
                weight,
                delete_policies,
            }),
            None => ordinary.push(manifest),
        }
    }
    Ok((ordinary, hooks))
}

type HookSettings = (Vec<HookEvent>, i64, Vec<DeletePolicy>);

/// The hook settings of one object, or `None` when it is no hook.
fn read(manifest: &Manifest, object: &Value) -> Result<Option<HookSettings>, RenderError> {
    let error = |message: String| RenderError::Hook {
        template: manifest.source.clone(),
        object: format!("{} {}", manifest.id.kind, manifest.id.name),
        message,
    };
    let annotations = object.pointer("/metadata/annotations");
    let annotation = |key| annotation(annotations, key).map_err(&error);
    let Some((name, events_text)) = annotation(HOOK_ANNOTATION)? else {
        return Ok(None);
    };
    let mut events = Vec::new();
    for entry in list(events_text) {
        let event = HookEvent::parse(&entry).ok_or_else(|| {
            error(format!(
                "unknown hook event \"{entry}\" in annotation {name} (known: {})",
                HookEvent::ALL.map(HookEvent::as_str).join(", ")
            ))
        })?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(error(format!(
            "annotation {name} names no event (known: {})",
            HookEvent::ALL.map(HookEvent::as_str).join(", ")
        )));
    }
    let weight = match annotation(WEIGHT_ANNOTATION)? {
        None => 0,
        Some((name, text)) => text.trim().parse().map_err(|_| {
            error(format!(
                "annotation {name} must be an integer such as \"-5\", not \"{text}\""
            ))
        })?,
    };
    let mut delete_policies = Vec::new();
    if let Some((name, text)) = annotation(DELETE_POLICY_ANNOTATION)? {
        for entry in list(text) {
            let policy = DeletePolicy::parse(&entry).ok_or_else(|| {
                error(format!(
                    "unknown delete policy \"{entry}\" in annotation {name} (known: {})",
                    DeletePolicy::ALL.map(DeletePolicy::as_str).join(", ")
                ))
            })?;
            if !delete_policies.contains(&policy) {
                delete_policies.push(policy);
            }
        }
    }
    if manifest.id.kind == "Pod" && manifest.id.group().is_empty() {
        let restart = object
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always");
        if restart == "Always" {
            return Err(error(
                "a hook Pod must run to completion: set spec.restartPolicy to Never or OnFailure (Always, the default, never completes)"
                    .to_string(),
            ));
        }
    }
    Ok(Some((events, weight, delete_policies)))
}

/// The annotation `key`, or its Helm alias when it is absent: which one, and its text.
fn annotation<'a>(
    annotations: Option<&'a Value>,
    key: &'static str,
) -> Result<Option<(&'static str, &'a str)>, String> {
    let alias = ALIASES
        .iter()
        .find(|(own, _)| *own == key)
        .map_or(key, |(_, alias)| alias);
    for name in [key, alias] {
        match annotations.and_then(|a| a.get(name)) {
            None => continue,
            Some(Value::String(text)) => return Ok(Some((name, text.as_str()))),
            Some(other) => {
                return Err(format!(
                    "annotation {name} must be a string, not {other} (quote it)"
                ));
            }
        }
    }
    Ok(None)
}

/// The entries of a comma list, trimmed and lower-cased, empty ones left out.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::manifest::parse_template_output;

    fn split_one(annotations: &str, rest: &str) -> Result<(Vec<Manifest>, Vec<Hook>), String> {
        let text = format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n{annotations}{rest}"
        );
        let manifests = parse_template_output("templates/job.yaml", &text).unwrap();
        split(manifests).map_err(|e| e.to_string())
    }

    #[test]
    fn hooks_are_read_from_either_spelling() {
        let (ordinary, hooks) = split_one(
            "    helm.sh/hook: pre-upgrade, Pre-Install\n    helm.sh/hook-weight: \"-5\"\n    rchart.io/hook-delete-policy: hook-succeeded,hook-failed\n",
            "",
        )
        .unwrap();
        assert!(ordinary.is_empty());
        let hook = &hooks[0];
        assert_eq!(
            hook.events,
            [HookEvent::PreUpgrade, HookEvent::PreInstall],
            "order kept, case ignored"
        );
        assert_eq!(hook.weight, -5);
        assert!(hook.deletes_on(DeletePolicy::HookSucceeded));
        assert!(!hook.deletes_on(DeletePolicy::BeforeHookCreation));
    }

    #[test]
    fn the_own_annotation_wins_and_the_default_policy_is_before_hook_creation() {
        let (_, hooks) = split_one(
            "    rchart.io/hook: post-install\n    helm.sh/hook: pre-install\n",
            "",
        )
        .unwrap();
        assert_eq!(hooks[0].events, [HookEvent::PostInstall]);
        assert!(hooks[0].deletes_on(DeletePolicy::BeforeHookCreation));
        assert_eq!(hooks[0].weight, 0);
    }

    #[test]
    fn mistakes_name_the_object_and_the_template() {
        for (annotations, expected) in [
            (
                "    helm.sh/hook: crd-install\n",
                "templates/job.yaml: Job migrate: unknown hook event \"crd-install\" in annotation helm.sh/hook (known: pre-install,",
            ),
            (
                "    rchart.io/hook: test\n    rchart.io/hook-weight: heavy\n",
                "annotation rchart.io/hook-weight must be an integer such as \"-5\", not \"heavy\"",
            ),
            (
                "    rchart.io/hook: test\n    rchart.io/hook-delete-policy: always\n",
                "unknown delete policy \"always\"",
            ),
            ("    rchart.io/hook: \" , \"\n", "names no event"),
            (
                "    rchart.io/hook: test\n    rchart.io/hook-weight: 5\n",
                "annotation rchart.io/hook-weight must be a string, not 5 (quote it)",
            ),
        ] {
            let error = split_one(annotations, "").unwrap_err();
            assert!(error.contains(expected), "{expected}\n{error}");
        }
    }

    #[test]
    fn a_hook_pod_must_run_to_completion() {
        let pod = |policy: &str| {
            let text = format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: check\n  annotations:\n    rchart.io/hook: test\nspec:\n{policy}  containers: []\n"
            );
            split(parse_template_output("templates/test.yaml", &text).unwrap())
                .map(|(_, hooks)| hooks.len())
                .map_err(|e| e.to_string())
        };
        assert!(
            pod("")
                .unwrap_err()
                .contains("set spec.restartPolicy to Never")
        );
        assert!(pod("  restartPolicy: Always\n").is_err());
        assert_eq!(pod("  restartPolicy: Never\n"), Ok(1));
    }

    #[test]
    fn documents_without_the_annotation_stay_ordinary() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  note: see example.com/hooks\n";
        let (ordinary, hooks) =
            split(parse_template_output("templates/cm.yaml", text).unwrap()).unwrap();
        assert_eq!((ordinary.len(), hooks.len()), (1, 0));
    }
}
