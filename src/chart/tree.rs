//! A chart with its dependencies, ready to render: which subcharts are on, and the values
//! each one sees.
//!
//! For each chart, from the top down:
//! 1. Its values before imports are its `values.yaml`, then what its parent hands it
//!    (the parent's `values.<alias or name>`; for the top chart, the user's values), a
//!    `null` deleting a default as everywhere else. `global` is then the chart's own
//!    `global`, with the parent's laid over it: globals flow down only, so a subchart can
//!    never change what its parent or its siblings see (Helm leaks them up, helm#9332).
//! 2. Tags and conditions decide which dependencies are on. Tags are read from the top
//!    chart's `tags:` map: a dependency is on when one of its tags is true, off when
//!    all the tags it names are false, and on when none is set. A condition is read
//!    relative to the chart's values; its first path that is set decides and overrides
//!    the tags. A condition path set to anything but `true` or `false` is an error (Helm
//!    warns and keeps the chart).
//! 3. Each dependency that is on is resolved the same way, recursively. One that is off
//!    is dropped with everything below it.
//! 4. `import-values` copies values up: a subchart's `exports.NAME` (or the map at a
//!    `child` path) into the parent. Imported values override the parent's
//!    `values.yaml`, and what the parent's parent or the user set overrides both, which
//!    is the order Helm's documentation describes (Helm itself has changed it several
//!    times, helm#12480).
//! 5. The chart's final values are its defaults, then the imports, then what it was
//!    handed, then `global`; `values.<alias or name>` holds each subchart's final
//!    values, so a parent's templates can read them.
//!
//! Each chart's values are then checked against its own `values.schema.json`.

use serde_json::Value;

use super::Chart;
use super::dependency::{Dependency, ImportValue};
use super::escape::escape_name;
use super::metadata::json_type;
use super::subcharts::DependencyError;
use crate::values::{Values, ValuesError, merge_values, remove_nulls};

/// The name values that every chart shares, flowing from parent to child.
pub const GLOBAL: &str = "global";
/// The top chart's map of tag names to booleans.
pub const TAGS: &str = "tags";
const EXPORTS: &str = "exports";

/// One chart of the tree that renders, with its values.
pub struct ChartNode<'a> {
    pub chart: &'a Chart,
    /// The name it renders under (`chart.name` in its templates): the alias, else its name.
    pub name: String,
    /// The names from the top chart down to this one.
    pub chain: Vec<String>,
    /// Where its files sit relative to the top chart: `""`, `charts/redis/`, …
    pub dir: String,
    pub values: Values,
    /// The dependencies that are on, in `dependencies:` order.
    pub children: Vec<ChartNode<'a>>,
}

impl ChartNode<'_> {
    /// `multiroute → redis`: how messages name this chart.
    pub fn chain_text(&self) -> String {
        self.chain.join(" → ")
    }

    /// Every chart of the tree, this one first, depth first.
    pub fn walk(&self) -> Vec<&ChartNode<'_>> {
        let mut nodes = vec![self];
        let mut index = 0;
        while index < nodes.len() {
            let node = nodes[index];
            nodes.splice(index + 1..index + 1, node.children.iter());
            index += 1;
        }
        nodes
    }
}

/// Why a tree of charts cannot be rendered; each message names the chart chain.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Dependency(#[from] DependencyError),
    #[error(
        "{chain}: dependency \"{}\": condition {} is {found}; it must be true or false",
        escape_name(dependency),
        escape_name(path)
    )]
    Condition {
        chain: String,
        dependency: String,
        path: String,
        found: &'static str,
    },
    #[error(
        "{chain}: dependency \"{}\": import-values: {problem}",
        escape_name(dependency)
    )]
    Import {
        chain: String,
        dependency: String,
        problem: String,
    },
    /// The top chart's own values: reported as they are without dependencies.
    #[error(transparent)]
    Values(ValuesError),
    #[error("{chain}: {error}")]
    SubchartValues { chain: String, error: ValuesError },
}

/// Resolves `chart` and its dependencies for the user's values `user` (with the `null`s
/// that delete defaults).
pub fn resolve<'a>(chart: &'a Chart, user: &Values) -> Result<ChartNode<'a>, TreeError> {
    let tags = match user.get(TAGS).or_else(|| chart.default_values.get(TAGS)) {
        Some(Value::Object(_)) => {
            let mut tags = chart.default_values.clone();
            merge_values(&mut tags, user.clone());
            match tags.remove(TAGS) {
                Some(Value::Object(map)) => map,
                _ => Values::new(),
            }
        }
        _ => Values::new(),
    };
    let name = chart.name().to_string();
    let resolver = Resolver { tags: &tags };
    let node = resolver.node(chart, name.clone(), vec![name], String::new(), user, None)?;
    check_schemas(&node)?;
    Ok(node)
}

struct Resolver<'t> {
    tags: &'t Values,
}

impl Resolver<'_> {
    fn node<'a>(
        &self,
        chart: &'a Chart,
        name: String,
        chain: Vec<String>,
        dir: String,
        handed: &Values,
        parent_global: Option<&Values>,
    ) -> Result<ChartNode<'a>, TreeError> {
        let chain_text = chain.join(" → ");
        // Before imports, with nulls kept: they delete subchart defaults further down.
        let mut before = chart.default_values.clone();
        merge_values(&mut before, handed.clone());
        let global = merged_global(&before, parent_global);
        // What conditions read: these values, with the globals from above
        let mut seen = before.clone();
        if !global.is_empty() {
            seen.insert(GLOBAL.to_string(), Value::Object(global.clone()));
        }
        remove_nulls(&mut seen);

        let mut children = Vec::new();
        let mut imported = Values::new();
        for used in chart.dependency_charts()? {
            if let Some(dependency) = used.dependency
                && !self.enabled(dependency, &seen, &chain_text)?
            {
                continue;
            }
            let child_handed = match before.get(&used.key) {
                Some(Value::Object(map)) => map.clone(),
                _ => Values::new(),
            };
            let mut child_chain = chain.clone();
            child_chain.push(used.key.clone());
            let child_dir = format!("{dir}charts/{}/", used.key);
            let child = self.node(
                &used.found.chart,
                used.key.clone(),
                child_chain,
                child_dir,
                &child_handed,
                Some(&global),
            )?;
            if let Some(dependency) = used.dependency {
                import(dependency, &child.values, &mut imported).map_err(|problem| {
                    TreeError::Import {
                        chain: chain_text.clone(),
                        dependency: dependency.key().to_string(),
                        problem,
                    }
                })?;
            }
            children.push(child);
        }

        let mut values = chart.default_values.clone();
        merge_values(&mut values, imported);
        merge_values(&mut values, handed.clone());
        remove_nulls(&mut values);
        if !global.is_empty() || values.contains_key(GLOBAL) {
            let mut global = global;
            remove_nulls(&mut global);
            values.insert(GLOBAL.to_string(), Value::Object(global));
        }
        for child in &children {
            // A subchart without values (a library, typically) adds no empty key that
            // a strict schema of the parent would refuse
            if !child.values.is_empty() || values.contains_key(&child.name) {
                values.insert(child.name.clone(), Value::Object(child.values.clone()));
            }
        }
        Ok(ChartNode {
            chart,
            name,
            chain,
            dir,
            values,
            children,
        })
    }

    fn enabled(
        &self,
        dependency: &Dependency,
        values: &Values,
        chain: &str,
    ) -> Result<bool, TreeError> {
        let mut enabled = true;
        let tag_values: Vec<bool> = dependency
            .tags
            .iter()
            .filter_map(|tag| self.tags.get(tag).and_then(Value::as_bool))
            .collect();
        if !tag_values.is_empty() {
            enabled = tag_values.contains(&true);
        }
        for path in dependency.condition.split(',').map(str::trim) {
            match get_dotted(values, path) {
                None | Some(Value::Null) => continue,
                Some(Value::Bool(on)) => return Ok(*on),
                Some(other) => {
                    return Err(TreeError::Condition {
                        chain: chain.to_string(),
                        dependency: dependency.key().to_string(),
                        path: path.to_string(),
                        found: json_type(other),
                    });
                }
            }
        }
        Ok(enabled)
    }
}

/// The chart's own `global` with the parent's laid over it.
fn merged_global(values: &Values, parent_global: Option<&Values>) -> Values {
    let mut global = match values.get(GLOBAL) {
        Some(Value::Object(own)) => own.clone(),
        _ => Values::new(),
    };
    if let Some(parent) = parent_global {
        merge_values(&mut global, parent.clone());
    }
    global
}

/// Adds what `dependency` imports from its final values `child` to `imported`.
fn import(dependency: &Dependency, child: &Values, imported: &mut Values) -> Result<(), String> {
    for item in &dependency.import_values {
        match item {
            ImportValue::Exports(name) => {
                let path = format!("{EXPORTS}.{name}");
                match get_dotted(child, &path) {
                    Some(Value::Object(map)) => merge_values(imported, map.clone()),
                    Some(other) => {
                        return Err(format!(
                            "\"{}\": the subchart's {} is {}, not a map",
                            escape_name(name),
                            escape_name(&path),
                            json_type(other)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "\"{}\": the subchart has no {} in its values",
                            escape_name(name),
                            escape_name(&path)
                        ));
                    }
                }
            }
            ImportValue::Path {
                child: from,
                parent,
            } => {
                let value = if from == "." {
                    Some(Value::Object(child.clone()))
                } else {
                    get_dotted(child, from).cloned()
                };
                let Some(value) = value else {
                    return Err(format!(
                        "child {}: the subchart has no such value",
                        escape_name(from)
                    ));
                };
                if parent == "." {
                    let Value::Object(map) = value else {
                        return Err(format!(
                            "child {} is {}; only a map can be imported into the parent's top level (parent: .)",
                            escape_name(from),
                            json_type(&value)
                        ));
                    };
                    merge_values(imported, map);
                } else {
                    let mut nested = Values::new();
                    set_dotted(&mut nested, parent, value);
                    merge_values(imported, nested);
                }
            }
        }
    }
    Ok(())
}

/// The value at a dotted path (`redis.enabled`).
pub fn get_dotted<'v>(values: &'v Values, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = values.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn set_dotted(values: &mut Values, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            values.insert(path.to_string(), value);
        }
        Some((first, rest)) => {
            let entry = values
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Values::new()));
            if !entry.is_object() {
                *entry = Value::Object(Values::new());
            }
            if let Value::Object(map) = entry {
                set_dotted(map, rest, value);
            }
        }
    }
}

/// Checks each chart's values against its own `values.schema.json`.
fn check_schemas(root: &ChartNode<'_>) -> Result<(), TreeError> {
    for node in root.walk() {
        let Some(schema) = &node.chart.schema else {
            continue;
        };
        if let Err(error) = schema.validate(&node.values) {
            return Err(if node.chain.len() == 1 {
                TreeError::Values(error)
            } else {
                TreeError::SubchartValues {
                    chain: node.chain_text(),
                    error,
                }
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::ChartFiles;
    use serde_json::json;

    /// A chart from (path, text) pairs; `charts/…` entries make subcharts.
    fn chart(files: &[(&str, &str)]) -> Chart {
        let mut chart_files = ChartFiles::new();
        for (path, text) in files {
            chart_files.insert(*path, text.as_bytes()).unwrap();
        }
        Chart::from_files(chart_files, "test").unwrap()
    }

    fn values(value: serde_json::Value) -> Values {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_nested_condition_reads_the_globals_from_above() {
        let app = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
            ("values.yaml", "global:\n  leafOn: false\n"),
            (
                "charts/mid/Chart.yaml",
                "apiVersion: v2\nname: mid\nversion: 1.0.0\ndependencies:\n  - name: leaf\n    condition: global.leafOn\n",
            ),
            (
                "charts/mid/charts/leaf/Chart.yaml",
                "apiVersion: v2\nname: leaf\nversion: 1.0.0\n",
            ),
        ]);
        let off = resolve(&app, &Values::new()).unwrap();
        assert!(off.children[0].children.is_empty());
        let on = resolve(&app, &values(json!({"global": {"leafOn": true}}))).unwrap();
        assert_eq!(on.children[0].children[0].chain, ["app", "mid", "leaf"]);
    }

    #[test]
    fn a_user_null_deletes_a_subchart_default_and_globals_stay_below() {
        let app = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
            (
                "charts/db/Chart.yaml",
                "apiVersion: v2\nname: db\nversion: 1.0.0\n",
            ),
            (
                "charts/db/values.yaml",
                "password: default\nport: 5432\nglobal:\n  fromDb: x\n",
            ),
        ]);
        let tree = resolve(&app, &values(json!({"db": {"password": null}}))).unwrap();
        assert_eq!(
            serde_json::Value::Object(tree.values.clone()),
            json!({"db": {"port": 5432, "global": {"fromDb": "x"}}})
        );
        assert!(!tree.values.contains_key(GLOBAL));
    }
}
