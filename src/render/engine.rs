//! The Tera engine for one chart: its templates, our functions, and the two functions
//! that need the finished engine itself (`include` and `tpl`).
//!
//! Templates are registered under their names escaped for messages
//! ([`escape_name`]), so a chart-supplied name never reaches a code frame raw.
//!
//! An error inside an `include` or `tpl` is reported once: its message, then the code
//! frame where it happened, then the frame of each call on the way out, innermost
//! first. (Left to Tera, each level would repeat the whole report under its own
//! `error:`.) A cycle is reported as the cycle (`a.tpl → b.tpl → a.tpl`), one lap of
//! frames, and the frames that lead into it.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::sync::{Arc, OnceLock, Weak};

use tera::{Context, Error, ErrorKind, Kwargs, State, Tera, TeraResult, Value};

use super::RenderError;
use super::functions;
use super::output_cap::OutputCap;
use crate::chart::escape::escape_name;
use crate::chart::tree::ChartNode;

/// The names a template can read, besides its own `{% set %}` variables. `include` and
/// `tpl` hand the same names on to what they render.
pub const CONTEXT_NAMES: &[&str] = &["values", "release", "chart", "capabilities", "template"];

/// Deep enough for real charts, and for a partial that includes itself a bounded number
/// of times; shallow enough to stop `include` cycles quickly.
const MAX_INCLUDE_DEPTH: usize = 20;

/// The name Tera gives the text `tpl` renders; frames show [`TPL_FRAME_NAME`] instead.
const TERA_ONE_OFF_NAME: &str = "__tera_one_off";
const TPL_FRAME_NAME: &str = "<tpl value>";

/// How much of a `tpl` text names it in a cycle.
const TPL_LABEL_CHARS: usize = 40;

/// A chart's templates compiled with rchart's functions.
pub struct Engine {
    tera: Arc<Tera>,
}

impl Engine {
    /// Compiles every template. Components defined in any file (usually `_helpers.tpl`)
    /// are usable from all of them.
    #[cfg(test)]
    pub fn new<'a>(templates: impl IntoIterator<Item = (&'a str, &'a str)>) -> TeraResult<Self> {
        Self::with_top("", templates)
    }

    /// The engine of one chart of a tree: its own templates, and those of the library
    /// charts it depends on (and theirs), each under its [`display_name`].
    pub fn for_chart(node: &ChartNode<'_>) -> Result<Self, RenderError> {
        let mut templates: Vec<(String, &str)> = node
            .chart
            .templates()
            .map(|t| (display_name(&node.chain, &t.path), t.source.as_str()))
            .collect();
        let mut libraries: Vec<&ChartNode<'_>> = node.children.iter().collect();
        while let Some(library) = libraries.pop() {
            if !library.chart.is_library() {
                continue;
            }
            for template in library.chart.templates() {
                check_library_components(library, &template.path, &template.source)?;
                templates.push((
                    display_name(&library.chain, &template.path),
                    template.source.as_str(),
                ));
            }
            libraries.extend(library.children.iter());
        }
        Self::with_top(
            &node.chain[0],
            templates
                .iter()
                .map(|(name, source)| (name.as_str(), *source)),
        )
        .map_err(RenderError::Template)
    }

    fn with_top<'a>(
        top: &str,
        templates: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> TeraResult<Self> {
        let slot: Arc<OnceLock<Weak<Tera>>> = Arc::new(OnceLock::new());
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        functions::register(&mut tera);
        register_include(&mut tera, Arc::clone(&slot), top.to_string());
        register_tpl(&mut tera, Arc::clone(&slot));
        tera.add_raw_templates(
            templates
                .into_iter()
                .map(|(name, source)| (escape_name(name), source)),
        )?;
        let tera = Arc::new(tera);
        // A weak reference: the engine owns the functions, not the other way round.
        let _ = slot.set(Arc::downgrade(&tera));
        Ok(Self { tera })
    }

    /// Renders the template at chart path `name`, counting what it writes against `cap`
    /// as it goes: rendering stops as soon as the cap is passed (`Ok(None)`), so a
    /// template that loops too long never fills memory. What an `include` or `tpl`
    /// builds before the template writes it is held to the same limit.
    pub fn render_within(
        &self,
        name: &str,
        context: &Context,
        cap: &OutputCap,
    ) -> TeraResult<Option<String>> {
        let name = escape_name(name);
        CALLS.with_borrow_mut(|calls| calls.start(&name));
        LIMIT_PASSED.set(false);
        let previous_limit = NESTED_LIMIT.replace(cap.limit());
        let mut out = LimitedBuffer::counted_by(cap);
        let result = self.tera.render_to(&name, context, &mut out);
        NESTED_LIMIT.set(previous_limit);
        let failure = CALLS.with_borrow_mut(Calls::finish);
        if LIMIT_PASSED.replace(false) {
            return Ok(None);
        }
        result.map_err(|error| report(error, failure))?;
        String::from_utf8(out.bytes)
            .map(Some)
            .map_err(|e| Error::message(format!("the output is not UTF-8: {e}")))
    }
}

/// `{{ include(name="templates/_labels.tpl") }}` renders another template to a string, so
/// it can be piped: `{{ include(name="templates/_labels.tpl") | nindent(width=4) }}`.
/// `with={"component": "web"}` adds variables for the included template.
///
/// A name is read relative to the chart of the template that calls `include`:
/// `templates/_x.tpl` is that chart's own, and `charts/common/templates/_x.tpl` is a
/// template of its library dependency `common`.
fn register_include(tera: &mut Tera, slot: Arc<OnceLock<Weak<Tera>>>, top: String) {
    tera.register_function(
        "include",
        move |kwargs: Kwargs, state: &State<'_>| -> TeraResult<String> {
            let tera = engine_from(&slot)?;
            let requested = escape_name(kwargs.must_get::<&str>("name")?).into_owned();
            let caller = CALLS.with_borrow(|calls| calls.current_template().map(str::to_owned));
            let name = resolve_include(caller.as_deref().unwrap_or_default(), &requested, &top);
            if !tera.contains_template(&name) {
                return Err(Error::message(format!(
                    "include: no template named \"{requested}\""
                )));
            }
            let mut context = context_from(state);
            if let Some(extra) = kwargs.get::<tera::Map>("with")? {
                for (key, value) in extra.iter() {
                    context.insert_value(key.to_string(), value.clone());
                }
            }
            nested(name.clone(), || {
                let mut out = LimitedBuffer::nested();
                tera.render_to(&name, &context, &mut out)?;
                out.into_string()
            })
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
            nested(tpl_label(&text), || {
                let mut out = LimitedBuffer::nested();
                tera.render_str_to(&text, &context, false, &mut out)?;
                out.into_string()
            })
        },
    );
}

/// How an engine names a template of the chart reached by `chain` (from the top chart):
/// the top chart's own templates by their path, `templates/x.yaml`, and any other chart's
/// by the chain, then the path: `multiroute → common → templates/_labels.tpl`. Code
/// frames show this name, so an error in a subchart names the chain.
pub fn display_name(chain: &[String], path: &str) -> String {
    if chain.len() <= 1 {
        path.to_string()
    } else {
        format!("{} → {path}", chain.join(" → "))
    }
}

/// The engine name of the template `requested` names when `caller` includes it.
fn resolve_include(caller: &str, requested: &str, top: &str) -> String {
    let mut chain: Vec<String> = match caller.rsplit_once(" → ") {
        Some((charts, _)) => charts.split(" → ").map(str::to_string).collect(),
        None => vec![top.to_string()],
    };
    let mut rest = requested;
    while let Some((name, after)) = rest
        .strip_prefix("charts/")
        .and_then(|inner| inner.split_once('/'))
    {
        chain.push(name.to_string());
        rest = after;
    }
    display_name(&chain, rest)
}

/// A library's components must be named `LIBRARY.NAME`: the charts using it name the
/// library when they call one, and cannot collide with it.
fn check_library_components(
    library: &ChartNode<'_>,
    path: &str,
    source: &str,
) -> Result<(), RenderError> {
    let prefix = format!("{}.", library.chart.name());
    for tag in source.split("{%").skip(1) {
        let tag = tag.trim_start_matches(['-', '+']).trim_start();
        let Some(rest) = tag.strip_prefix("component") else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        if !name.is_empty() && !name.starts_with(&prefix) {
            return Err(RenderError::LibraryComponent {
                chain: library.chain.join(" → "),
                template: path.to_string(),
                component: name,
                library: library.chart.name().to_string(),
            });
        }
    }
    Ok(())
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

/// How a `tpl` call is named in a cycle: `tpl "{{ values.a | tpl }}"`.
fn tpl_label(text: &str) -> String {
    let mut shown: String = text.chars().take(TPL_LABEL_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("tpl \"{}\"", escape_name(&shown))
}

thread_local! {
    /// The most an `include` or `tpl` on this thread may build: the output limit of the
    /// template rendering here.
    static NESTED_LIMIT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Set when a write was refused for passing a limit, so the error it causes is
    /// reported as the limit, not as a template error.
    static LIMIT_PASSED: Cell<bool> = const { Cell::new(false) };
}

/// Keeps what a render writes, refusing bytes past a limit.
struct LimitedBuffer<'c> {
    bytes: Vec<u8>,
    limit: Limit<'c>,
}

enum Limit<'c> {
    /// The chart's whole output, shared by the threads that render.
    Shared(&'c OutputCap),
    /// One `include` or `tpl`, on its own.
    Local(u64),
}

impl<'c> LimitedBuffer<'c> {
    fn counted_by(cap: &'c OutputCap) -> Self {
        Self {
            bytes: Vec::new(),
            limit: Limit::Shared(cap),
        }
    }

    fn nested() -> Self {
        Self {
            bytes: Vec::new(),
            limit: Limit::Local(NESTED_LIMIT.get()),
        }
    }

    fn into_string(self) -> TeraResult<String> {
        String::from_utf8(self.bytes)
            .map_err(|e| Error::message(format!("the output is not UTF-8: {e}")))
    }
}

impl Write for LimitedBuffer<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let fits = match self.limit {
            Limit::Shared(cap) => cap.take(buf.len()),
            Limit::Local(limit) => (self.bytes.len() + buf.len()) as u64 <= limit,
        };
        if !fits {
            LIMIT_PASSED.set(true);
            return Err(std::io::Error::other("the output limit was passed"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The renders under way on this thread. A template renders on one thread, and
    /// `include` and `tpl` run on the thread of the template that calls them.
    static CALLS: RefCell<Calls> = RefCell::default();
}

/// The renders under way (the template, then each `include` and `tpl` inside it) and
/// the error on its way out of them, if any.
#[derive(Default)]
struct Calls {
    /// What each render is: a template name or a [`tpl_label`].
    stack: Vec<String>,
    failure: Option<Failure>,
}

/// An error passing out through nested renders.
struct Failure {
    /// The message, without Tera's `error:` and frame.
    message: String,
    /// Code frames, innermost first: where the error happened, then each call site.
    frames: Vec<String>,
    /// For a cycle: frames per lap, and how many renders led into the cycle.
    cycle: Option<(usize, usize)>,
}

impl Calls {
    /// The template being rendered (or included) innermost, past any `tpl` text.
    fn current_template(&self) -> Option<&str> {
        self.stack
            .iter()
            .rev()
            .map(String::as_str)
            .find(|entry| !entry.starts_with("tpl \""))
    }

    fn start(&mut self, template: &str) {
        self.stack.clear();
        self.stack.push(template.to_owned());
        self.failure = None;
    }

    fn finish(&mut self) -> Option<Failure> {
        self.stack.clear();
        self.failure.take()
    }

    /// Records an error leaving the render of the top of the stack, keeping its frame
    /// and dropping Tera's copy of the message; returns the message alone.
    fn pass_up(&mut self, error: &Error) -> String {
        let (message, frame) = split_report(error);
        let continues = self
            .failure
            .as_ref()
            .is_some_and(|failure| failure.message == message);
        if !continues {
            self.failure = Some(Failure {
                message: message.clone(),
                frames: Vec::new(),
                cycle: None,
            });
        }
        if let (Some(failure), Some(frame)) = (&mut self.failure, frame) {
            failure.frames.push(frame);
        }
        message
    }

    /// The error for one `include` or `tpl` too many: the cycle when the stack holds
    /// one, else the depth.
    fn too_deep(&mut self, label: &str) -> String {
        let depth = self.stack.len();
        let Some(start) = self.stack.iter().rposition(|entry| entry == label) else {
            let message = format!(
                "include and tpl nested more than {MAX_INCLUDE_DEPTH} levels deep at {label}"
            );
            self.failure = Some(Failure {
                message: message.clone(),
                frames: Vec::new(),
                cycle: None,
            });
            return message;
        };
        let lap = depth - start;
        let mut path = self.stack[start..].to_vec();
        path.push(label.to_owned());
        // The renders before the first one that repeats with the cycle's period
        let mut entry = start;
        while entry > 0 && self.stack[entry - 1] == self.stack[entry - 1 + lap] {
            entry -= 1;
        }
        let kind = if path.iter().any(|entry| entry.starts_with("tpl \"")) {
            "tpl"
        } else {
            "include"
        };
        let message = format!(
            "{kind} cycle: {} (stopped after {MAX_INCLUDE_DEPTH} nested calls)",
            path.join(" → ")
        );
        self.failure = Some(Failure {
            message: message.clone(),
            frames: Vec::new(),
            cycle: Some((lap, entry)),
        });
        message
    }
}

/// Runs one `include` or `tpl` render named `label`, within the depth bound.
fn nested(label: String, render: impl FnOnce() -> TeraResult<String>) -> TeraResult<String> {
    let refused = CALLS.with_borrow_mut(|calls| {
        if calls.stack.len() > MAX_INCLUDE_DEPTH {
            return Some(calls.too_deep(&label));
        }
        calls.stack.push(label);
        None
    });
    if let Some(message) = refused {
        return Err(Error::message(message));
    }
    let result = render();
    CALLS.with_borrow_mut(|calls| {
        calls.stack.pop();
        result.map_err(|error| Error::message(calls.pass_up(&error)))
    })
}

/// Tera's report split into its message and its code frame (with any notes).
fn split_report(error: &Error) -> (String, Option<String>) {
    match error.kind() {
        ErrorKind::RenderingError(report) | ErrorKind::SyntaxError(report) => {
            let message = report.message().to_owned();
            let full = error.to_string();
            let frame = full
                .strip_prefix(&format!("error: {message}\n"))
                .map(|frame| frame.replace(TERA_ONE_OFF_NAME, TPL_FRAME_NAME));
            (message, frame)
        }
        _ => (error.to_string(), None),
    }
}

/// The error of a whole render: Tera's own when nothing nested failed, else the message
/// once and every frame, innermost first, with the repeated laps of a cycle left out.
fn report(error: Error, failure: Option<Failure>) -> Error {
    let Some(failure) = failure else {
        return error;
    };
    let (message, frame) = split_report(&error);
    if message != failure.message {
        return error;
    }
    let mut frames = failure.frames;
    frames.extend(frame);
    let mut text = format!("error: {message}");
    let total = frames.len();
    for (index, frame) in frames.iter().enumerate() {
        if let Some((lap, entry)) = failure.cycle {
            let repeats = index >= lap && index < total.saturating_sub(entry);
            if repeats {
                if index == lap {
                    let skipped = total - entry - lap;
                    text.push_str(&format!(
                        "\n   ... {skipped} more frames around the same cycle"
                    ));
                }
                continue;
            }
        }
        text.push('\n');
        text.push_str(frame);
    }
    Error::message(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(templates: &[(&str, &str)], name: &str) -> Result<String, String> {
        let engine = Engine::new(templates.iter().copied()).map_err(|e| e.to_string())?;
        let mut context = Context::new();
        context.insert(
            "values",
            &serde_json::json!({
                "app": "web",
                "note": "for {{ release.name }}",
                "loop": "{{ values.loop | tpl }}"
            }),
        );
        context.insert("release", &serde_json::json!({"name": "demo"}));
        let cap = OutputCap::new(u64::MAX);
        engine
            .render_within(name, &context, &cap)
            .map(|output| output.expect("no limit"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_limit_stops_a_template_and_an_include_as_soon_as_it_is_passed() {
        let templates = [
            (
                "templates/big.yaml",
                "{% for i in range(end=10000) %}{% for j in range(end=10000) %}line {{ i }} {{ j }}\n{% endfor %}{% endfor %}",
            ),
            (
                "templates/wrapper.yaml",
                "{{ include(name=\"templates/big.yaml\") }}",
            ),
        ];
        let engine = Engine::new(templates.iter().copied()).unwrap();
        for name in ["templates/big.yaml", "templates/wrapper.yaml"] {
            let cap = OutputCap::new(1 << 20);
            let output = engine.render_within(name, &Context::new(), &cap).unwrap();
            assert!(output.is_none(), "{name}: stopped at the limit");
        }
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
    fn include_of_a_missing_template_is_an_error() {
        let missing = render(
            &[("templates/x.yaml", "{{ include(name=\"nope\") }}")],
            "templates/x.yaml",
        )
        .unwrap_err();
        assert!(missing.contains("no template named \"nope\""), "{missing}");
    }

    #[test]
    fn an_include_cycle_is_reported_once_with_one_lap_of_frames() {
        let cycle = render(
            &[
                (
                    "templates/_a.tpl",
                    "a {{ include(name=\"templates/_b.tpl\") }}",
                ),
                (
                    "templates/_b.tpl",
                    "b {{ include(name=\"templates/_a.tpl\") }}",
                ),
                (
                    "templates/x.yaml",
                    "x {{ include(name=\"templates/_a.tpl\") }}",
                ),
            ],
            "templates/x.yaml",
        )
        .unwrap_err();
        let frames: Vec<&str> = cycle.lines().filter(|l| l.starts_with(" --> ")).collect();
        assert_eq!(
            cycle.lines().next(),
            Some(
                "error: include cycle: templates/_a.tpl → templates/_b.tpl → templates/_a.tpl \
                 (stopped after 20 nested calls)"
            ),
            "{cycle}"
        );
        assert_eq!(cycle.matches("error").count(), 1, "{cycle}");
        assert_eq!(
            frames,
            [
                " --> templates/_b.tpl:1:6",
                " --> templates/_a.tpl:1:6",
                " --> templates/x.yaml:1:6"
            ],
            "{cycle}"
        );
        assert!(
            cycle.contains("   ... 18 more frames around the same cycle"),
            "{cycle}"
        );
    }

    #[test]
    fn bounded_recursion_through_include_with_still_renders() {
        let out = render(
            &[
                (
                    "templates/_count.tpl",
                    "{{ n }}{% if n > 0 %} {{ include(name=\"templates/_count.tpl\", with={\"n\": n - 1}) }}{% endif %}",
                ),
                (
                    "templates/x.yaml",
                    "{{ include(name=\"templates/_count.tpl\", with={\"n\": 5}) }}",
                ),
            ],
            "templates/x.yaml",
        );
        assert_eq!(out.as_deref(), Ok("5 4 3 2 1 0"));
    }

    #[test]
    fn an_error_in_a_partial_names_it_then_the_include() {
        let error = render(
            &[
                ("templates/_l.tpl", "x: {{ values.nope }}"),
                (
                    "templates/x.yaml",
                    "{{ include(name=\"templates/_l.tpl\") }}",
                ),
            ],
            "templates/x.yaml",
        )
        .unwrap_err();
        assert!(
            error.starts_with("error: Field `nope` is not defined."),
            "{error}"
        );
        assert_eq!(error.matches("error").count(), 1, "{error}");
        let frames: Vec<&str> = error.lines().filter(|l| l.starts_with(" --> ")).collect();
        assert_eq!(
            frames,
            [" --> templates/_l.tpl:1:14", " --> templates/x.yaml:1:4"],
            "{error}"
        );
    }

    #[test]
    fn a_tpl_cycle_names_the_text_not_teras_internal_name() {
        let error = render(
            &[("templates/x.yaml", "{{ values.loop | tpl }}")],
            "templates/x.yaml",
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "error: tpl cycle: tpl \"{{ values.loop | tpl }}\" → tpl \"{{ values.loop | tpl }}\""
            ),
            "{error}"
        );
        assert!(error.contains(" --> <tpl value>:1:"), "{error}");
        assert!(!error.contains("__tera"), "{error}");
    }

    #[test]
    fn template_names_are_escaped_in_code_frames() {
        let error = render(
            &[("templates/a\u{1b}[2Jb.yaml", "{{ values.nope }}")],
            "templates/a\u{1b}[2Jb.yaml",
        )
        .unwrap_err();
        assert!(
            error.contains(" --> templates/a\\u{1b}[2Jb.yaml:1:11"),
            "{error}"
        );
        assert!(!error.contains('\u{1b}'), "{error}");
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
