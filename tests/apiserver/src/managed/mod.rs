//! `metadata.managedFields`: field ownership per manager, maintained on
//! every write, and server-side apply built on top of it.
//!
//! The algorithm follows structured-merge-diff, the library the real server
//! uses: updates take ownership of what they change; an apply owns exactly
//! the fields of its configuration, removes fields it applied before and no
//! longer applies (unless another applier owns them), and conflicts when it
//! would change a field someone else owns.

mod fieldset;
mod walk;

use serde_json::{Map, Value};

pub use fieldset::{FieldSet, display_path};
pub use walk::{Scope, Walker};

use crate::status::{ApiError, Cause};

/// Who performed a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer<'a> {
    /// `fieldManager`, e.g. `rchart` or `kubectl-client-side-apply`.
    pub manager: &'a str,
    /// `apiVersion` the request used.
    pub api_version: &'a str,
    /// `status` for status-subresource writes.
    pub subresource: Option<&'a str>,
    /// RFC 3339 time of the write.
    pub time: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: FieldSet,
}

impl Entry {
    /// Appliers are one manager whatever the version they apply;
    /// updaters are told apart by version too.
    fn is(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// How conflict messages name the manager.
    fn describe(&self) -> String {
        let mut text = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            text.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == Operation::Update {
            text.push_str(&format!(" using {}", self.api_version));
        }
        text
    }

    fn from_json(value: &Value) -> Option<Entry> {
        let operation = match value.get("operation")?.as_str()? {
            "Apply" => Operation::Apply,
            _ => Operation::Update,
        };
        Some(Entry {
            manager: value.get("manager")?.as_str()?.to_string(),
            operation,
            api_version: value
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            time: value
                .get("time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            subresource: value
                .get("subresource")
                .and_then(Value::as_str)
                .map(str::to_string),
            fields: value
                .get("fieldsV1")
                .map(FieldSet::from_fields_v1)
                .unwrap_or_default(),
        })
    }

    fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("manager".into(), self.manager.clone().into());
        entry.insert("operation".into(), self.operation.as_str().into());
        entry.insert("apiVersion".into(), self.api_version.clone().into());
        entry.insert("time".into(), self.time.clone().into());
        entry.insert("fieldsType".into(), "FieldsV1".into());
        entry.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(sub) = &self.subresource {
            entry.insert("subresource".into(), sub.clone().into());
        }
        Value::Object(entry)
    }
}

/// The managed-fields entries of one object.
#[derive(Debug, Clone, Default)]
struct Managers {
    entries: Vec<Entry>,
}

impl Managers {
    fn read(object: &Value) -> Managers {
        let entries = object
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Entry::from_json).collect())
            .unwrap_or_default();
        Managers { entries }
    }

    fn write(mut self, object: &mut Value) {
        self.entries.retain(|entry| !entry.fields.is_empty());
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        if self.entries.is_empty() {
            metadata.shift_remove("managedFields");
        } else {
            metadata.insert(
                "managedFields".into(),
                self.entries.iter().map(Entry::to_json).collect(),
            );
        }
    }

    fn position(&self, writer: &Writer<'_>, operation: Operation) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.is(
                writer.manager,
                operation,
                writer.api_version,
                writer.subresource,
            )
        })
    }

    /// Replace or append the writer's entry.
    fn set(&mut self, writer: &Writer<'_>, operation: Operation, fields: FieldSet) {
        let entry = Entry {
            manager: writer.manager.to_string(),
            operation,
            api_version: writer.api_version.to_string(),
            time: writer.time.to_string(),
            subresource: writer.subresource.map(str::to_string),
            fields,
        };
        match self.position(writer, operation) {
            Some(index) => self.entries[index] = entry,
            None => self.entries.push(entry),
        }
    }
}

/// Record ownership for a create, update or non-apply patch: the writer
/// takes every field it changed, from whoever owned it.
pub fn record_update(walker: &Walker<'_>, old: &Value, new: &mut Value, writer: &Writer<'_>) {
    let mut managers = Managers::read(old);
    let comparison = walker.compare(old, new);
    let changed = comparison.changed();
    if changed.is_empty() && comparison.removed.is_empty() {
        managers.write(new);
        return;
    }
    let mine = managers.position(writer, Operation::Update);
    for (index, entry) in managers.entries.iter_mut().enumerate() {
        if Some(index) != mine {
            entry.fields = entry
                .fields
                .difference(&changed)
                .difference(&comparison.removed);
        }
    }
    let previous = mine
        .map(|i| managers.entries[i].fields.clone())
        .unwrap_or_default();
    let fields = previous.union(&changed).difference(&comparison.removed);
    managers.set(writer, Operation::Update, fields);
    managers.write(new);
}

/// Server-side apply of `config` onto `live` (`{}` when the object is new).
/// Returns the new object with its managed fields, or a 409 apply conflict.
pub fn apply(
    walker: &Walker<'_>,
    live: &Value,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Value, ApiError> {
    let mut managers = Managers::read(live);
    let mine = managers.position(writer, Operation::Apply);
    let applied = walker.applied_fields(config);
    let mut object = walker.merge(live, config);

    // Drop what this manager applied last time and no longer applies,
    // unless another applier still claims it.
    if let Some(index) = mine {
        let mut claimed = applied.clone();
        for (i, entry) in managers.entries.iter().enumerate() {
            if i != index && entry.operation == Operation::Apply {
                claimed = claimed.union(&entry.fields);
            }
        }
        let dropped = managers.entries[index].fields.difference(&applied);
        for path in dropped.iter().rev() {
            if !claimed.covers(path) {
                walker.remove_at(&mut object, path);
            }
        }
    }

    let comparison = walker.compare(live, &object);
    let changed = comparison.changed();
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for (index, entry) in managers.entries.iter_mut().enumerate() {
        if Some(index) == mine {
            continue;
        }
        let contested = entry.fields.intersection(&changed);
        conflicts.extend(
            contested
                .iter()
                .map(|path| (entry.describe(), display_path(path))),
        );
        entry.fields = entry
            .fields
            .difference(&contested)
            .difference(&comparison.removed);
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(conflicts));
    }
    managers.set(writer, Operation::Apply, applied);
    managers.write(&mut object);
    Ok(object)
}

/// The 409 the real server answers for apply conflicts.
fn conflict_error(mut conflicts: Vec<(String, String)>) -> ApiError {
    conflicts.sort_by(|a, b| a.0.cmp(&b.0));
    let causes = conflicts
        .iter()
        .map(|(manager, path)| Cause {
            reason: "FieldManagerConflict".to_string(),
            message: format!("conflict with {manager}"),
            field: path.clone(),
        })
        .collect();
    let message = if let [(manager, path)] = conflicts.as_slice() {
        format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
    } else {
        let mut lines = Vec::new();
        let mut current: Option<&str> = None;
        for (manager, path) in &conflicts {
            if current != Some(manager.as_str()) {
                lines.push(format!("conflicts with {manager}:"));
                current = Some(manager);
            }
            lines.push(format!("- {path}"));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::conflict(message, causes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            subresource: None,
            time: "2026-01-01T00:00:00Z",
        }
    }

    fn config_map(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": data})
    }

    fn walker() -> Walker<'static> {
        Walker::new("ConfigMap", Scope::Everything)
    }

    #[test]
    fn create_records_an_update_entry_owning_every_field() {
        let mut object = config_map(json!({"a": "1"}));
        record_update(
            &walker(),
            &json!({}),
            &mut object,
            &writer("kubectl-create"),
        );
        assert_eq!(
            object["metadata"]["managedFields"],
            json!([{
                "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}}}
            }])
        );
    }

    #[test]
    fn apply_removes_fields_dropped_since_the_last_apply() {
        let first = apply(
            &walker(),
            &json!({}),
            &config_map(json!({"a": "1", "b": "2"})),
            &writer("rchart"),
            false,
        )
        .unwrap();
        let second = apply(
            &walker(),
            &first,
            &config_map(json!({"a": "1"})),
            &writer("rchart"),
            false,
        )
        .unwrap();
        assert_eq!(second["data"], json!({"a": "1"}));
        assert_eq!(
            second["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:a": {}}})
        );
    }

    #[test]
    fn apply_conflicts_with_another_owner_unless_forced() {
        let mut live = config_map(json!({"a": "1"}));
        record_update(&walker(), &json!({}), &mut live, &writer("kubectl-edit"));
        let error = apply(
            &walker(),
            &live,
            &config_map(json!({"a": "2"})),
            &writer("rchart"),
            false,
        )
        .unwrap_err();
        assert_eq!(error.code, 409);
        assert_eq!(
            error.message,
            r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a"#
        );

        // Same value: shared ownership, no conflict.
        assert!(
            apply(
                &walker(),
                &live,
                &config_map(json!({"a": "1"})),
                &writer("rchart"),
                false
            )
            .is_ok()
        );

        let forced = apply(
            &walker(),
            &live,
            &config_map(json!({"a": "2"})),
            &writer("rchart"),
            true,
        )
        .unwrap();
        assert_eq!(forced["data"]["a"], "2");
        let managers: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["kubectl-edit", "rchart"]);
    }

    #[test]
    fn conflicts_with_several_fields_are_listed_per_manager() {
        let mut live = config_map(json!({"a": "1", "b": "1"}));
        record_update(&walker(), &json!({}), &mut live, &writer("helm"));
        let error = apply(
            &walker(),
            &live,
            &config_map(json!({"a": "2", "b": "2"})),
            &writer("rchart"),
            false,
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "Apply failed with 2 conflicts: conflicts with \"helm\" using v1:\n- .data.a\n- .data.b"
        );
    }
}
