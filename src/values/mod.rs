//! Values: loading, merging, `--set` parsing and schema validation.
