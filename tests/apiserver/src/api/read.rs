//! GET of one object and of lists, with selectors and pagination.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::Target;
use crate::objects;
use crate::path::Query;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::Store;
use crate::table::{self, RowObject};

/// GET one object.
pub fn get(store: &Store, target: &Target) -> Result<Value, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    store
        .get(&target.key(name))
        .map(|object| (*object).clone())
        .ok_or_else(|| ApiError::not_found(&target.resource.group, &target.resource.plural, name))
}

/// Label and field selectors of a list, watch or delete-collection request.
pub struct Selection {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selection {
    /// Parse `labelSelector` and `fieldSelector`.
    pub fn from_query(query: &Query, kind: &str) -> Result<Selection, ApiError> {
        Ok(Selection {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or_default())?,
            fields: FieldSelector::parse(query.get("fieldSelector").unwrap_or_default(), kind)?,
        })
    }

    /// Whether an object is selected.
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

/// GET a list: `{kind: XList, apiVersion, metadata: {resourceVersion}, items}`.
pub fn list(store: &Store, target: &Target, query: &Query) -> Result<Value, ApiError> {
    let selection = Selection::from_query(query, &target.resource.kind)?;
    let limit = query
        .non_empty("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let start = match query.non_empty("continue") {
        Some(token) => Some(decode_continue(token)?),
        None => None,
    };
    let revision = store.revision();
    let keep_type_meta = target.resource.custom;
    let mut items = Vec::new();
    let mut next_start = None;
    let mut remaining = 0usize;
    for (key, object) in store.list(&target.resource, target.namespace.as_deref()) {
        let position = (key.namespace.as_str(), key.name.as_str());
        let before_start = start
            .as_ref()
            .is_some_and(|(ns, name)| position <= (ns.as_str(), name.as_str()));
        if before_start || !selection.matches(object) {
            continue;
        }
        if limit.is_some_and(|limit| items.len() == limit) {
            remaining += 1;
            if next_start.is_none() {
                next_start = items.last().and_then(|item: &Value| {
                    Some(format!(
                        "{}/{}",
                        objects::meta_str(item, "namespace").unwrap_or_default(),
                        objects::meta_str(item, "name")?
                    ))
                });
            }
            continue;
        }
        items.push(if keep_type_meta {
            (**object).clone()
        } else {
            objects::without_type_meta(object)
        });
    }
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), revision.to_string().into());
    if let Some(start) = next_start {
        metadata.insert("continue".into(), encode_continue(&start, revision).into());
        metadata.insert("remainingItemCount".into(), remaining.into());
    }
    Ok(list_body(target, metadata, items))
}

/// The body as a Table when one was asked for: one row per list item, or
/// one row for a single object.
pub fn as_table(target: &Target, body: Value, table: Option<RowObject>) -> Value {
    let Some(include) = table else {
        return body;
    };
    let is_list = body.get("items").is_some()
        && body
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"));
    if is_list {
        let metadata = body["metadata"].as_object().cloned().unwrap_or_default();
        let items: Vec<&Value> = body["items"]
            .as_array()
            .map(|items| items.iter().collect())
            .unwrap_or_default();
        table::table(&target.resource, &items, metadata, include)
    } else {
        let mut metadata = Map::new();
        if let Some(version) = body.pointer("/metadata/resourceVersion") {
            metadata.insert("resourceVersion".into(), version.clone());
        }
        table::table(&target.resource, &[&body], metadata, include)
    }
}

/// A list response body.
pub fn list_body(target: &Target, metadata: Map<String, Value>, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("{}List", target.resource.kind),
        "apiVersion": target.resource.api_version(),
        "metadata": metadata,
        "items": items,
    })
}

fn encode_continue(start: &str, revision: u64) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

/// The `(namespace, name)` a continue token resumes after.
fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let invalid =
        |detail: &str| ApiError::bad_request(format!("continue key is not valid: {detail}"));
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid("unable to parse"))?;
    let start = value
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing start"))?;
    let start = start.trim_end_matches('\u{0}');
    let (namespace, name) = start
        .split_once('/')
        .ok_or_else(|| invalid("malformed start"))?;
    Ok((namespace.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue("default/b", 7);
        assert_eq!(
            decode_continue(&token).unwrap(),
            ("default".to_string(), "b".to_string())
        );
        assert_eq!(decode_continue("!!").unwrap_err().code, 400);
    }
}
