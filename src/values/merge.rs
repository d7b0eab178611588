//! Deep merge of values trees.
//!
//! Maps merge key by key; lists, scalars and `null` replace what was there. User sources
//! are folded together with [`merge_values`], which keeps `null`s as "delete this key"
//! markers; [`coalesce`] then lays the result over the chart defaults and removes them.

use serde_json::Value;

use super::Values;

/// Lays `overlay` over `base`: maps merge deeply, everything else replaces.
///
/// A `null` in `overlay` is stored as `null`, so that [`coalesce`] can later delete the
/// key from the chart defaults. Keys keep the position they had in `base`; new keys are
/// appended in `overlay`'s order.
pub fn merge_values(base: &mut Values, overlay: Values) {
    for (key, value) in overlay {
        match value {
            Value::Object(incoming) => match base.get_mut(&key) {
                Some(Value::Object(existing)) => merge_values(existing, incoming),
                _ => {
                    base.insert(key, Value::Object(incoming));
                }
            },
            other => {
                base.insert(key, other);
            }
        }
    }
}

/// Computes the values templates see: the chart `defaults` with the `user` values laid
/// over them, and every key whose value is `null` removed.
///
/// A user `null` therefore deletes a chart default, and a user `null` for a key the chart
/// does not have is dropped. `null` items inside lists are kept, because removing
/// them would shift the positions of the others.
pub fn coalesce(defaults: &Values, user: &Values) -> Values {
    let mut merged = defaults.clone();
    merge_values(&mut merged, user.clone());
    remove_nulls(&mut merged);
    merged
}

/// Removes every key whose value is `null`, at any depth (maps inside lists included).
pub fn remove_nulls(map: &mut Values) {
    map.retain(|_, value| !value.is_null());
    map.values_mut().for_each(remove_nested_nulls);
}

fn remove_nested_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => remove_nulls(map),
        Value::Array(items) => items.iter_mut().for_each(remove_nested_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(value: Value) -> Values {
        match value {
            Value::Object(map) => map,
            other => panic!("test values must be a map, got {other}"),
        }
    }

    fn coalesced(defaults: Value, user: Value) -> Value {
        Value::Object(coalesce(&values(defaults), &values(user)))
    }

    #[test]
    fn maps_merge_deeply() {
        let merged = coalesced(
            json!({"image": {"repository": "nginx", "tag": "1.0"}, "replicas": 1}),
            json!({"image": {"tag": "2.0", "pullPolicy": "Always"}}),
        );
        assert_eq!(
            merged,
            json!({"image": {"repository": "nginx", "tag": "2.0", "pullPolicy": "Always"}, "replicas": 1})
        );
    }

    #[test]
    fn lists_and_scalars_replace() {
        let merged = coalesced(
            json!({"hosts": ["a", "b", "c"], "port": 80, "tls": {"enabled": false}}),
            json!({"hosts": ["z"], "port": "http", "tls": true}),
        );
        assert_eq!(merged, json!({"hosts": ["z"], "port": "http", "tls": true}));
    }

    #[test]
    fn user_null_deletes_a_default_key() {
        let merged = coalesced(
            json!({"resources": {"limits": {"cpu": "1"}}, "replicas": 1}),
            json!({"resources": null}),
        );
        assert_eq!(merged, json!({"replicas": 1}));
    }

    #[test]
    fn nested_user_null_deletes_only_that_key() {
        let merged = coalesced(
            json!({"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}),
            json!({"resources": {"limits": {"cpu": null}}}),
        );
        assert_eq!(merged, json!({"resources": {"limits": {"memory": "1Gi"}}}));
    }

    #[test]
    fn user_null_for_a_key_absent_from_defaults_is_dropped() {
        let merged = coalesced(json!({"a": 1}), json!({"b": null, "c": {"d": null}}));
        assert_eq!(merged, json!({"a": 1, "c": {}}));
    }

    #[test]
    fn null_defaults_are_removed_but_null_list_items_stay() {
        let merged = coalesced(
            json!({"nodeSelector": null, "list": [null, {"x": null, "y": 1}]}),
            json!({}),
        );
        assert_eq!(merged, json!({"list": [null, {"y": 1}]}));
    }

    #[test]
    fn merge_values_keeps_nulls_for_later() {
        let mut user = values(json!({"a": {"b": 1, "c": 2}}));
        merge_values(&mut user, values(json!({"a": {"b": null}, "d": null})));
        assert_eq!(
            Value::Object(user),
            json!({"a": {"b": null, "c": 2}, "d": null})
        );
    }

    #[test]
    fn key_order_follows_defaults_then_new_user_keys() {
        let merged = coalesce(
            &values(json!({"z": 1, "a": 2, "m": 3})),
            &values(json!({"b": 4, "a": 5})),
        );
        let keys: Vec<&str> = merged.keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m", "b"]);
    }
}
