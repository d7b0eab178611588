//! Building the object a document describes, as kubectl builds it. The walker decides
//! what every scalar and key means and checks everything that could fail, so building
//! cannot fail: a document `rchart template` accepts is one `rchart install` can send.

use foldhash::HashMap;
use serde_json::{Map, Value};

/// The object under construction: one open collection per level.
#[derive(Default)]
pub struct Builder {
    stack: Vec<Open>,
    /// The value of each anchor, for the aliases that repeat it.
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
}

enum Open {
    Mapping {
        map: Map<String, Value>,
        key: Option<Key>,
        anchor: usize,
    },
    Sequence {
        items: Vec<Value>,
        anchor: usize,
    },
}

enum Key {
    Text(String),
    /// `<<`: the value's mappings are merged in.
    Merge,
}

impl Builder {
    pub fn start_mapping(&mut self, anchor: usize) {
        self.stack.push(Open::Mapping {
            map: Map::new(),
            key: None,
            anchor,
        });
    }

    pub fn start_sequence(&mut self, anchor: usize) {
        self.stack.push(Open::Sequence {
            items: Vec::new(),
            anchor,
        });
    }

    pub fn end(&mut self) {
        let (value, anchor) = match self.stack.pop() {
            Some(Open::Mapping { map, anchor, .. }) => (Value::Object(map), anchor),
            Some(Open::Sequence { items, anchor }) => (Value::Array(items), anchor),
            None => return,
        };
        self.value(value, anchor);
    }

    pub fn key(&mut self, text: String) {
        self.set_key(Key::Text(text));
    }

    pub fn merge_key(&mut self) {
        self.set_key(Key::Merge);
    }

    fn set_key(&mut self, new: Key) {
        if let Some(Open::Mapping { key, .. }) = self.stack.last_mut() {
            *key = Some(new);
        }
    }

    /// The value of an anchor defined on a key.
    pub fn remember(&mut self, anchor: usize, value: Value) {
        self.anchors.insert(anchor, value);
    }

    /// An alias: the anchored value again.
    pub fn alias(&mut self, anchor: usize) {
        let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
        self.value(value, 0);
    }

    /// A finished value: into the open collection, or the document's root.
    pub fn value(&mut self, value: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Open::Sequence { items, .. }) => items.push(value),
            Some(Open::Mapping { map, key, .. }) => match key.take() {
                Some(Key::Text(key)) => {
                    map.insert(key, value);
                }
                // go-yaml v2 merges into the map as it stands: merged keys replace those
                // before `<<`, keys after it replace merged ones, and in a list of
                // mappings the earlier ones win.
                Some(Key::Merge) => match value {
                    Value::Object(merged) => map.extend(merged),
                    Value::Array(list) => {
                        for item in list.into_iter().rev() {
                            if let Value::Object(merged) = item {
                                map.extend(merged);
                            }
                        }
                    }
                    _ => {}
                },
                None => {}
            },
        }
    }

    pub fn finish(self) -> Value {
        self.root.unwrap_or(Value::Null)
    }
}
