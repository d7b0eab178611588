//! YAML parser messages in plain words.
//!
//! serde-saphyr's messages sometimes speak to the programmer rather than to the person
//! who wrote the file: a parse budget prints a Rust value (`limits breached: Depth {
//! depth: 65 }`), and some messages name parser options or Rust types (`set
//! ignore_binary_tag_for_string in Options`, `use Option<String>`). [`PlainYamlMessages`]
//! says instead what is wrong with the document; every other message keeps the wording
//! of serde-saphyr's user-facing formatter. It serves values files and `Chart.yaml`.

use std::borrow::Cow;

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, Error, MessageFormatter, UserMessageFormatter};

use crate::chart::files::format_size;

/// A serde-saphyr message formatter that words every message for the file's author.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainYamlMessages;

impl MessageFormatter for PlainYamlMessages {
    fn format_message<'a>(&self, err: &'a Error) -> Cow<'a, str> {
        match err {
            Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => {
                Cow::Owned(self.format_message(error).into_owned())
            }
            Error::Budget { breach, .. } => Cow::Owned(budget_message(breach)),
            Error::AliasReplayCounterOverflow { .. }
            | Error::AliasReplayLimitExceeded { .. }
            | Error::AliasExpansionLimitExceeded { .. }
            | Error::AliasReplayStackDepthExceeded { .. } => {
                Cow::Borrowed("aliases (*name) expand to more values than rchart reads")
            }
            Error::BinaryNotUtf8 { .. } => {
                Cow::Borrowed("a !!binary value here must be UTF-8 text")
            }
            Error::NullIntoString { .. } | Error::InvalidCharNull { .. } => {
                Cow::Borrowed("expected text here, found null")
            }
            Error::CannotBorrowTransformedString { .. } => {
                Cow::Borrowed("this value cannot be read as written")
            }
            Error::MultipleDocuments { .. } => {
                Cow::Borrowed("expected one YAML document, found several (separated by ---)")
            }
            Error::IOError { cause } => Cow::Owned(format!("cannot read the input: {cause}")),
            _ => UserMessageFormatter.format_message(err),
        }
    }
}

/// The message of `error` in plain words, without its position.
pub fn plain_yaml_message(error: &Error) -> String {
    PlainYamlMessages.format_message(error).into_owned()
}

/// Says which limit a document broke, with the limit.
fn budget_message(breach: &BudgetBreach) -> String {
    let limits = Budget::default();
    match breach {
        BudgetBreach::Depth { .. } => {
            format!("nesting deeper than {} levels", limits.max_depth)
        }
        BudgetBreach::Nodes { .. } => {
            format!("more than {} values in one document", limits.max_nodes)
        }
        BudgetBreach::Events { .. } => format!(
            "more than {} YAML elements in one document",
            limits.max_events
        ),
        BudgetBreach::Aliases { .. } => {
            format!("more than {} aliases (*name)", limits.max_aliases)
        }
        BudgetBreach::Anchors { .. } => {
            format!("more than {} anchors (&name)", limits.max_anchors)
        }
        BudgetBreach::Documents { .. } => {
            format!("more than {} documents", limits.max_documents)
        }
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} of text in one document",
            format_size(limits.max_total_scalar_bytes as u64)
        ),
        BudgetBreach::MergeKeys { .. } => {
            format!("more than {} merge keys (<<)", limits.max_merge_keys)
        }
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases (*name) for {anchors} anchors (&name): aliases that expand this much are refused"
        ),
        BudgetBreach::SequenceUnbalanced => "a list or map ends that never started".to_owned(),
        BudgetBreach::InputBytes { .. } => "the document is too large".to_owned(),
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
            "anchors (&name) hold more data than rchart reads".to_owned()
        }
        _ => "the document is too large or too deeply nested".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        let error = serde_saphyr::from_str::<serde_json::Value>(text).unwrap_err();
        plain_yaml_message(&error)
    }

    #[test]
    fn budgets_are_named_with_their_limit() {
        let deep = format!("a: {}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(message(&deep), "nesting deeper than 64 levels");

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h"])
        {
            let items = vec![format!("*{prev}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let said = message(&bomb);
        assert!(!said.contains('{'), "{said}");
        assert!(
            said.starts_with("more than ") || said.contains("aliases (*name)"),
            "{said}"
        );
    }

    #[test]
    fn options_and_rust_types_are_not_mentioned() {
        let said = message("a: !!binary \"//79\"\n");
        assert_eq!(said, "a !!binary value here must be UTF-8 text");
        let said = serde_saphyr::from_str::<String>("!!str\n")
            .map(|_| String::new())
            .unwrap_or_else(|error| plain_yaml_message(&error));
        assert!(!said.contains("Option<"), "{said}");
    }

    #[test]
    fn other_messages_keep_their_wording() {
        assert_eq!(message("a: *nope\n"), "reference to unknown value");
    }
}
