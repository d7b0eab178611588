//! The non-apply PATCH flavours: JSON patch, JSON merge patch and strategic merge patch.

use serde_json::{Map, Value};

use crate::schema;

/// The patch types the server accepts, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type for a request `Content-Type` (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// Apply an RFC 6902 JSON patch.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    let operations: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| e.to_string())?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &operations).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Apply an RFC 7386 merge patch.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// Apply a strategic merge patch: like a merge patch, but lists with a patch
/// merge key (containers, env, ports, volumes, ...) merge item by item, and
/// the `$patch`, `$retainKeys`, `$setElementOrder/` and
/// `$deleteFromPrimitiveList/` directives are honoured.
pub fn strategic_merge(kind: &str, target: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Object(patch_map) = patch else {
        return Err("strategic merge patch must be a JSON object".to_string());
    };
    let target_map = target.as_object().cloned().unwrap_or_default();
    let merged = Strategic { kind }.merge_map(&target_map, patch_map, &mut Vec::new());
    Ok(Value::Object(merged.unwrap_or_default()))
}

struct Strategic<'k> {
    kind: &'k str,
}

impl Strategic<'_> {
    /// `None` means the map itself is deleted (`$patch: delete`).
    fn merge_map<'p>(
        &self,
        target: &Map<String, Value>,
        patch: &'p Map<String, Value>,
        names: &mut Vec<&'p str>,
    ) -> Option<Map<String, Value>> {
        match patch.get("$patch").and_then(Value::as_str) {
            Some("delete") => return None,
            Some("replace") => return Some(clean_map(patch)),
            _ => {}
        }
        let mut out = target.clone();
        let mut orders: Vec<(&str, &Vec<Value>)> = Vec::new();
        for (key, value) in patch {
            if let Some(field) = key.strip_prefix("$setElementOrder/") {
                if let Some(order) = value.as_array() {
                    orders.push((field, order));
                }
                continue;
            }
            if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
                if let (Some(Value::Array(items)), Some(remove)) =
                    (out.get_mut(field), value.as_array())
                {
                    items.retain(|item| !remove.contains(item));
                }
                continue;
            }
            if key.starts_with('$') {
                continue;
            }
            names.push(key);
            let merged = match (out.get(key), value) {
                (_, Value::Null) => None,
                (Some(Value::Object(existing)), Value::Object(patch_child))
                    if !schema::is_atomic_map(self.kind, names) =>
                {
                    self.merge_map(existing, patch_child, names)
                        .map(Value::Object)
                }
                (_, Value::Object(patch_child)) => {
                    match patch_child.get("$patch").and_then(Value::as_str) {
                        Some("delete") => None,
                        _ => Some(Value::Object(clean_map(patch_child))),
                    }
                }
                (existing, Value::Array(items)) => Some(self.merge_list(existing, items, names)),
                (_, scalar) => Some(scalar.clone()),
            };
            names.pop();
            match merged {
                Some(value) => {
                    out.insert(key.clone(), value);
                }
                None => {
                    out.shift_remove(key);
                }
            }
        }
        if let Some(Value::Array(retain)) = patch.get("$retainKeys") {
            out.retain(|key, _| retain.iter().any(|r| r.as_str() == Some(key)));
        }
        for (field, order) in orders {
            names.push(field);
            if let Some(Value::Array(items)) = out.get_mut(field) {
                let merge_key = schema::list_schema(self.kind, names).merge_key;
                reorder(items, order, merge_key);
            }
            names.pop();
        }
        Some(out)
    }

    fn merge_list(&self, existing: Option<&Value>, patch: &[Value], names: &[&str]) -> Value {
        let list = schema::list_schema(self.kind, names);
        let existing = existing
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(merge_key) = list.merge_key {
            if patch
                .iter()
                .any(|item| item.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                return Value::Array(
                    patch
                        .iter()
                        .filter(|item| item.get("$patch").is_none())
                        .map(clean)
                        .collect(),
                );
            }
            let mut out = existing;
            for item in patch {
                let key = item.get(merge_key);
                let position = out
                    .iter()
                    .position(|candidate| key.is_some() && candidate.get(merge_key) == key);
                match (item.get("$patch").and_then(Value::as_str), position) {
                    (Some("delete"), Some(index)) => {
                        out.remove(index);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(index)) => {
                        if let (Some(target), Some(patch_item)) =
                            (out[index].as_object(), item.as_object())
                        {
                            let mut names: Vec<&str> = names.to_vec();
                            let merged = self
                                .merge_map(target, patch_item, &mut names)
                                .unwrap_or_default();
                            out[index] = Value::Object(merged);
                        }
                    }
                    (_, None) => out.push(clean(item)),
                }
            }
            Value::Array(out)
        } else if list.merge_scalars {
            let mut out = existing;
            out.extend(
                patch
                    .iter()
                    .filter(|item| !out.contains(item))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            Value::Array(out)
        } else {
            Value::Array(patch.iter().map(clean).collect())
        }
    }
}

/// Order `items` as `order` lists them (by merge key, or by value for scalars);
/// items not listed keep their relative order at the end.
fn reorder(items: &mut [Value], order: &[Value], merge_key: Option<&str>) {
    let rank = |item: &Value| {
        order.iter().position(|wanted| match merge_key {
            Some(key) => wanted.get(key).is_some() && wanted.get(key) == item.get(key),
            None => wanted == item,
        })
    };
    items.sort_by_key(|item| rank(item).unwrap_or(usize::MAX));
}

fn clean(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(clean_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
        other => other.clone(),
    }
}

/// Drop directive keys from a value inserted as a whole.
fn clean_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(key, _)| !key.starts_with('$'))
        .map(|(key, value)| (key.clone(), clean(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_spec(containers: Value) -> Value {
        json!({"spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn merges_containers_by_name() {
        let target = pod_spec(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let patch = pod_spec(json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]));
        let out = strategic_merge("Deployment", &target, &patch).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}])
        );
    }

    #[test]
    fn honours_delete_and_replace_directives() {
        let target = pod_spec(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let patch = pod_spec(json!([{"name": "a", "$patch": "delete"}]));
        let out = strategic_merge("Deployment", &target, &patch).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "y"}])
        );

        let patch = json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}}});
        let target = json!({"metadata": {"labels": {"a": "1"}}});
        assert_eq!(
            strategic_merge("ConfigMap", &target, &patch).unwrap(),
            json!({"metadata": {"labels": {"only": "this"}}})
        );
    }

    #[test]
    fn null_removes_and_plain_lists_are_replaced() {
        let target = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"tolerations": [{"key": "x"}]}});
        let patch =
            json!({"metadata": {"labels": {"a": null}}, "spec": {"tolerations": [{"key": "y"}]}});
        let out = strategic_merge("Pod", &target, &patch).unwrap();
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"b": "2"}}, "spec": {"tolerations": [{"key": "y"}]}})
        );
    }

    #[test]
    fn finalizers_merge_as_a_set_and_can_be_deleted() {
        let target = json!({"metadata": {"finalizers": ["a"]}});
        let out = strategic_merge(
            "ConfigMap",
            &target,
            &json!({"metadata": {"finalizers": ["b"]}}),
        )
        .unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
        let out = strategic_merge("ConfigMap", &out, &patch).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn json_and_merge_patches() {
        let target = json!({"data": {"a": "1"}});
        let patched = json_patch(
            &target,
            &json!([{"op": "add", "path": "/data/b", "value": "2"}]),
        )
        .unwrap();
        assert_eq!(patched, json!({"data": {"a": "1", "b": "2"}}));
        assert!(json_patch(&target, &json!([{"op": "remove", "path": "/data/zz"}])).is_err());
        assert_eq!(
            merge_patch(&target, &json!({"data": {"a": null}})),
            json!({"data": {}})
        );
    }
}
