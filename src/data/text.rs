//! Cleaning of text values: HTML fragments, prices written as text, category lists.

use super::table::LIST_SEPARATOR;

/// Longest text value kept (characters); longer values are truncated and reported.
pub const MAX_TEXT_CHARS: usize = 100_000;

/// Removes HTML tags, decodes HTML entities (every named and numeric entity, through
/// `html-escape`) and collapses runs of whitespace into one space.
pub fn strip_html(s: &str) -> String {
    let untagged = if s.contains('<') { remove_tags(s) } else { s.to_owned() };
    let decoded =
        if untagged.contains('&') { html_escape::decode_html_entities(&untagged).into_owned() } else { untagged };
    // A decoded `&nbsp;` is U+00A0, which `split_whitespace` treats as whitespace too.
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces each `<…>` tag by a space (a tag separates words); a `<` that opens no tag
/// (`"< 5 kg"`, `"a<b"`) is kept.
fn remove_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('<') {
        out.push_str(rest.get(..pos).unwrap_or(""));
        let tail = rest.get(pos..).unwrap_or("");
        let opens_tag = tail.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match tail.find('>').filter(|_| opens_tag) {
            Some(end) => {
                out.push(' ');
                rest = tail.get(end + 1..).unwrap_or("");
            }
            None => {
                out.push('<');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

/// Longest title taken from the start of a description when the title is empty.
pub const TITLE_FROM_DESCRIPTION_CHARS: usize = 80;

/// The start of a (cleaned) description as a title: at most
/// [`TITLE_FROM_DESCRIPTION_CHARS`] characters, cut at a word boundary, with "…" when cut.
pub fn title_from_description(description: &str) -> String {
    let d = description.trim();
    if d.chars().count() <= TITLE_FROM_DESCRIPTION_CHARS {
        return d.to_owned();
    }
    let head: String = d.chars().take(TITLE_FROM_DESCRIPTION_CHARS).collect();
    let cut = head.rfind(' ').filter(|&p| p > 0).map_or(head.as_str(), |p| head.get(..p).unwrap_or(&head));
    format!("{}…", cut.trim_end())
}

/// Why a price value was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// Not a number (`N/A`, `NaN`, free text).
    NotNumeric,
    /// Below zero.
    Negative,
}

/// Parses a price: plain numbers, currency symbols and thousands separators
/// (`"$1,025.00"`, `"£3"`, `"25.00 EUR"`), and ranges (`"$10.00 - $20.00"` → midpoint).
pub fn parse_price(text: &str) -> Result<f32, PriceError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(PriceError::NotNumeric);
    }
    if let Some((a, b)) = split_range(t) {
        // Each side is a single price: a value with several dashes ("1-2-3") is not a
        // range, and must not recurse once per dash (a long one overflowed the stack).
        let lo = parse_single_price(a)?;
        let hi = parse_single_price(b)?;
        return Ok(lo / 2.0 + hi / 2.0);
    }
    parse_single_price(t)
}

/// One price without a range: currency symbols, thousands separators and unit words
/// around a number.
fn parse_single_price(t: &str) -> Result<f32, PriceError> {
    let cleaned: String = t.chars().filter(|c| !matches!(c, '$' | '£' | '€' | '¥' | ',' | ' ' | '\u{a0}')).collect();
    let cleaned = cleaned.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let cleaned = cleaned.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    match cleaned.parse::<f64>() {
        // Finite in f64 but beyond f32 (1e39) would become infinity: not a usable price.
        Ok(v) if v.is_finite() && (v as f32).is_finite() && v >= 0.0 => Ok(v as f32),
        Ok(v) if v.is_finite() && (v as f32).is_finite() => Err(PriceError::Negative),
        _ => Err(PriceError::NotNumeric),
    }
}

fn split_range(t: &str) -> Option<(&str, &str)> {
    // A '-' that is not a leading sign separates a range.
    let idx = t.char_indices().skip(1).find(|&(_, c)| c == '-' || c == '–').map(|(i, _)| i)?;
    let (a, b) = t.split_at(idx);
    let b = b.get(b.chars().next()?.len_utf8()..)?;
    (!a.trim().is_empty() && !b.trim().is_empty()).then_some((a.trim(), b.trim()))
}

/// Splits a category value into labels.
///
/// - A list (JSON array, Parquet list) is a hierarchy: one label, `A > B > C`.
/// - `A > B > C` is one hierarchical label.
/// - `A|B` or `A, B`-free multi-label values (`|` separated) are several labels.
pub fn category_labels(value: &str) -> Vec<String> {
    let v = value.trim();
    if v.is_empty() {
        return Vec::new();
    }
    if v.contains(LIST_SEPARATOR) {
        let path: Vec<String> =
            v.split(LIST_SEPARATOR).map(|p| strip_html(p.trim())).filter(|p| !p.is_empty()).collect();
        return if path.is_empty() { Vec::new() } else { vec![path.join(" > ")] };
    }
    if v.contains('>') {
        let path: Vec<&str> = v.split('>').map(str::trim).filter(|p| !p.is_empty()).collect();
        return vec![path.join(" > ")];
    }
    if v.contains('|') {
        return v.split('|').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    }
    vec![v.to_owned()]
}

/// Joins a list cell into prose (list items become sentences).
pub fn join_list_text(value: &str) -> String {
    if value.contains(LIST_SEPARATOR) {
        value.split(LIST_SEPARATOR).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
    } else {
        value.to_owned()
    }
}

/// The first element of a list cell (image URL lists).
pub fn first_of_list(value: &str) -> &str {
    value.split(LIST_SEPARATOR).next().unwrap_or("").trim()
}

/// Truncates to [`MAX_TEXT_CHARS`]; returns whether it cut.
pub fn limit_text(s: String) -> (String, bool) {
    if s.len() <= MAX_TEXT_CHARS {
        return (s, false);
    }
    let cut: String = s.chars().take(MAX_TEXT_CHARS).collect();
    let was_cut = cut.len() < s.len();
    (cut, was_cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html() {
        assert_eq!(strip_html("<span class=\"a\">Tom &amp; Jerry</span> &#39;Box&#39;"), "Tom & Jerry 'Box'");
        assert_eq!(strip_html("AT&T phone"), "AT&T phone");
        assert_eq!(strip_html("<b>Red&amp;Blue</b>  mug"), "Red&Blue mug");
        assert_eq!(strip_html("Caf&eacute; &mdash; 2 &lt; 3"), "Café — 2 < 3");
        assert_eq!(strip_html("  plain \t text\n "), "plain text");
        assert_eq!(strip_html("weight < 5 kg"), "weight < 5 kg");
        assert_eq!(title_from_description("short one"), "short one");
        let long = "word ".repeat(30);
        let t = title_from_description(&long);
        assert!(t.ends_with("word…") && t.chars().count() <= TITLE_FROM_DESCRIPTION_CHARS + 1, "{t}");
    }

    #[test]
    fn prices() {
        assert_eq!(parse_price("$25.00"), Ok(25.0));
        assert_eq!(parse_price("$1,025.50"), Ok(1025.5));
        assert_eq!(parse_price("$10.00 - $20.00"), Ok(15.0));
        assert_eq!(parse_price("2.55"), Ok(2.55));
        assert_eq!(parse_price("N/A"), Err(PriceError::NotNumeric));
        assert_eq!(parse_price("NaN"), Err(PriceError::NotNumeric));
        assert_eq!(parse_price("-4"), Err(PriceError::Negative));
        assert_eq!(parse_price("1e39"), Err(PriceError::NotNumeric));
        assert_eq!(parse_price("$1 - $2 - $3"), Err(PriceError::NotNumeric));
        // A long dashed value used to recurse once per dash and overflow the stack.
        assert_eq!(parse_price(&"1-".repeat(200_000)), Err(PriceError::NotNumeric));
    }

    #[test]
    fn categories() {
        assert_eq!(category_labels("A > B > C"), vec!["A > B > C"]);
        assert_eq!(category_labels("Action|Comedy"), vec!["Action", "Comedy"]);
        let list = format!("Clothing{LIST_SEPARATOR}Women{LIST_SEPARATOR}Dresses");
        assert_eq!(category_labels(&list), vec!["Clothing > Women > Dresses"]);
    }
}
