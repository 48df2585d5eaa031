//! JSON Lines (and JSON arrays of records) into a `RawTable`: the reader lives in
//! [`read::jsonl`](super::read::jsonl) and is re-exported here under its old path.

pub use super::read::jsonl::{read_json_records, read_json_text};
