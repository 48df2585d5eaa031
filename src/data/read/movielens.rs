//! The header-less MovieLens 100K files: `u.data` (tab-separated ratings), `u.user` and
//! `u.item` (`|`-separated), read as delimited text and given named columns.

use std::path::Path;

use polars::prelude::{Column, DataFrame};

use super::delimited::read_delimited;
use crate::data::error::DataError;
use crate::data::table::RawTable;

/// MovieLens 100K genre names, in the order of the 19 flags of `u.item`.
pub const MOVIELENS_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Reads `u.data`: `user item rating timestamp`, tab-separated.
pub fn read_ratings(path: &Path, text: String) -> Result<RawTable, DataError> {
    let mut table = read_delimited(path, text, b'\t', false)?;
    rename_positional(&mut table, &["user_id", "item_id", "rating", "timestamp"]);
    Ok(table)
}

/// Reads `u.user`: `user age gender occupation zip`, `|`-separated.
pub fn read_users(path: &Path, text: String) -> Result<RawTable, DataError> {
    let mut table = read_delimited(path, text, b'|', false)?;
    rename_positional(&mut table, &["user_id", "age", "gender", "occupation", "zip_code"]);
    Ok(table)
}

/// Reads `u.item`: movie rows with 19 genre flags, `|`-separated.
pub fn read_items(path: &Path, text: String) -> Result<RawTable, DataError> {
    let mut table = read_delimited(path, text, b'|', false)?;
    movielens_items(&mut table);
    Ok(table)
}

fn rename_positional(table: &mut RawTable, names: &[&str]) {
    let old = table.column_names();
    for (old_name, new_name) in old.iter().zip(names) {
        let _ = table.frame.rename(old_name, (*new_name).into());
    }
}

/// Turns the 24 positional `u.item` columns into item_id, title, release_date, imdb_url
/// and a `genres` column (`Action|Comedy`) built from the 19 flags.
fn movielens_items(table: &mut RawTable) {
    let names = table.column_names();
    let text_col = |i: usize| -> Vec<Option<String>> {
        names
            .get(i)
            .and_then(|n| table.cells(n))
            .map(|cells| cells.iter().map(|c| c.as_text().map(|t| t.into_owned())).collect())
            .unwrap_or_else(|| vec![None; table.frame.height()])
    };
    let ids = text_col(0);
    let titles = text_col(1);
    let released = text_col(2);
    let urls = text_col(4);
    let flags: Vec<Vec<Option<String>>> = (5..24).map(text_col).collect();
    let genres: Vec<Option<String>> = (0..table.frame.height())
        .map(|row| {
            let picked: Vec<&str> = MOVIELENS_GENRES
                .iter()
                .zip(&flags)
                .filter(|(_, col)| col.get(row).and_then(|v| v.as_deref()) == Some("1"))
                .map(|(g, _)| *g)
                .collect();
            (!picked.is_empty()).then(|| picked.join("|"))
        })
        .collect();
    let columns = vec![
        Column::new("item_id".into(), ids),
        Column::new("title".into(), titles),
        Column::new("release_date".into(), released),
        Column::new("imdb_url".into(), urls),
        Column::new("genres".into(), genres),
    ];
    if let Ok(frame) = DataFrame::new(table.frame.height(), columns) {
        table.frame = frame;
    }
}
