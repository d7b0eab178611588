//! The Tera engine for one chart: its templates, our functions, and the two functions
//! that need the finished engine itself (`include` and `tpl`).

use std::cell::Cell;
use std::sync::{Arc, OnceLock, Weak};

use tera::{Context, Error, Kwargs, State, Tera, TeraResult, Value};

use super::functions;

/// The names a template can read, besides its own `{% set %}` variables. `include` and
/// `tpl` hand the same names on to what they render.
pub const CONTEXT_NAMES: &[&str] = &["values", "release", "chart", "capabilities", "template"];

/// Deep enough for real charts, shallow enough to stop `include` cycles quickly.
const MAX_INCLUDE_DEPTH: usize = 20;

/// A chart's templates compiled with rchart's functions.
pub struct Engine {
    tera: Arc<Tera>,
}

impl Engine {
    /// Compiles every template. Components defined in any file (usually `_helpers.tpl`)
    /// are usable from all of them.
    pub fn new<'a>(templates: impl IntoIterator<Item = (&'a str, &'a str)>) -> TeraResult<Self> {
        let slot: Arc<OnceLock<Weak<Tera>>> = Arc::new(OnceLock::new());
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        functions::register(&mut tera);
        register_include(&mut tera, Arc::clone(&slot));
        register_tpl(&mut tera, Arc::clone(&slot));
        tera.add_raw_templates(templates)?;
        let tera = Arc::new(tera);
        // A weak reference: the engine owns the functions, not the other way round.
        let _ = slot.set(Arc::downgrade(&tera));
        Ok(Self { tera })
    }

    pub fn render(&self, name: &str, context: &Context) -> TeraResult<String> {
        self.tera.render(name, context)
    }
}

/// `{{ include(name="templates/_labels.tpl") }}` renders another template to a string, so
/// it can be piped: `{{ include(name="templates/_labels.tpl") | nindent(width=4) }}`.
/// `with={"component": "web"}` adds variables for the included template.
fn register_include(tera: &mut Tera, slot: Arc<OnceLock<Weak<Tera>>>) {
    tera.register_function(
        "include",
        move |kwargs: Kwargs, state: &State<'_>| -> TeraResult<String> {
            let tera = engine_from(&slot)?;
            let name = kwargs.must_get::<&str>("name")?;
            if !tera.contains_template(name) {
                return Err(Error::message(format!(
                    "include: no template named \"{name}\""
                )));
            }
            let mut context = context_from(state);
            if let Some(extra) = kwargs.get::<tera::Map>("with")? {
                for (key, value) in extra.iter() {
                    context.insert_value(key.to_string(), value.clone());
                }
            }
            with_depth_guard(name, || tera.render(name, &context))
                .map(|text| text.trim_end_matches('\n').to_string())
        },
    );
}

/// `{{ values.annotation | tpl }}` renders a string from values as a template, with the
/// same context, so values can refer to `release.name` and the like.
fn register_tpl(tera: &mut Tera, slot: Arc<OnceLock<Weak<Tera>>>) {
    tera.register_filter(
        "tpl",
        move |text: String, _: Kwargs, state: &State<'_>| -> TeraResult<String> {
            let tera = engine_from(&slot)?;
            let context = context_from(state);
            with_depth_guard("tpl", || tera.render_str(&text, &context, false))
        },
    );
}

fn engine_from(slot: &OnceLock<Weak<Tera>>) -> TeraResult<Arc<Tera>> {
    slot.get()
        .and_then(Weak::upgrade)
        .ok_or_else(|| Error::message("the template engine is not ready"))
}

/// The context names visible at the call site, for rendering something else with them.
fn context_from(state: &State<'_>) -> Context {
    let mut context = Context::new();
    for name in CONTEXT_NAMES {
        if let Ok(Some(value)) = state.get::<Value>(name) {
            context.insert_value(*name, value);
        }
    }
    context
}

thread_local! {
    static INCLUDE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

fn with_depth_guard(name: &str, render: impl FnOnce() -> TeraResult<String>) -> TeraResult<String> {
    let depth = INCLUDE_DEPTH.with(Cell::get);
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(Error::message(format!(
            "include: nested more than {MAX_INCLUDE_DEPTH} levels deep at \"{name}\" (does it include itself?)"
        )));
    }
    INCLUDE_DEPTH.with(|d| d.set(depth + 1));
    let result = render();
    INCLUDE_DEPTH.with(|d| d.set(depth));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(templates: &[(&str, &str)], name: &str) -> Result<String, String> {
        let engine = Engine::new(templates.iter().copied()).map_err(|e| e.to_string())?;
        let mut context = Context::new();
        context.insert(
            "values",
            &serde_json::json!({"app": "web", "note": "for {{ release.name }}"}),
        );
        context.insert("release", &serde_json::json!({"name": "demo"}));
        engine.render(name, &context).map_err(|e| e.to_string())
    }

    #[test]
    fn include_renders_a_partial_to_a_string_that_filters_can_shape() {
        let out = render(
            &[
                (
                    "templates/_labels.tpl",
                    "app: {{ values.app }}\nrelease: {{ release.name }}\n",
                ),
                (
                    "templates/cm.yaml",
                    "labels:{{ include(name=\"templates/_labels.tpl\") | nindent(width=2) }}",
                ),
            ],
            "templates/cm.yaml",
        )
        .unwrap();
        assert_eq!(out, "labels:\n  app: web\n  release: demo");
    }

    #[test]
    fn include_with_adds_variables() {
        let out = render(
            &[
                ("templates/_name.tpl", "{{ release.name }}-{{ component }}"),
                (
                    "templates/x.yaml",
                    "{{ include(name=\"templates/_name.tpl\", with={\"component\": \"db\"}) }}",
                ),
            ],
            "templates/x.yaml",
        )
        .unwrap();
        assert_eq!(out, "demo-db");
    }

    #[test]
    fn include_of_a_missing_template_or_a_cycle_is_an_error() {
        let missing = render(
            &[("templates/x.yaml", "{{ include(name=\"nope\") }}")],
            "templates/x.yaml",
        )
        .unwrap_err();
        assert!(missing.contains("no template named \"nope\""), "{missing}");
        let cycle = render(
            &[(
                "templates/_a.tpl",
                "{{ include(name=\"templates/_a.tpl\") }}",
            )],
            "templates/_a.tpl",
        )
        .unwrap_err();
        assert!(cycle.contains("does it include itself?"), "{cycle}");
    }

    #[test]
    fn tpl_renders_a_value_as_a_template() {
        let out = render(
            &[("templates/x.yaml", "{{ values.note | tpl }}")],
            "templates/x.yaml",
        )
        .unwrap();
        assert_eq!(out, "for demo");
    }

    #[test]
    fn components_from_helpers_are_usable_everywhere() {
        // Components see only their arguments; `@release` takes the caller's `release`.
        let out = render(
            &[
                (
                    "templates/_helpers.tpl",
                    "{% component fullname(suffix, @release) %}{{ release.name }}-{{ suffix }}{% endcomponent fullname %}",
                ),
                ("templates/x.yaml", "name: {{<fullname suffix=\"web\"/>}}"),
            ],
            "templates/x.yaml",
        );
        assert_eq!(out.as_deref(), Ok("name: demo-web"));
    }
}
