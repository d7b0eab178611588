//! The rendered lines an error points at, numbered.

/// A document of a template's output: its text and the output line it starts on.
pub struct DocumentLines<'a> {
    pub text: &'a str,
    /// 1-based line of the document's first line within the output.
    pub first_line: usize,
}

/// Lines `line - 2 ..= line + 1` of `output`, the one at `line` marked with `>`.
pub fn excerpt(output: &str, _documents: &[DocumentLines<'_>], line: usize) -> String {
    let first = line.saturating_sub(2).max(1);
    output
        .lines()
        .enumerate()
        .map(|(i, text)| (i + 1, text))
        .filter(|(n, _)| (first..=line + 1).contains(n))
        .map(|(n, text)| {
            let marker = if n == line { ">" } else { " " };
            format!("{marker}{n:>5} | {text}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
