//! Global text helpers for flows: `join`, `table` and `human_size`, so that no flow joins
//! strings with `reduce` or pads columns by hand, and every table brrt prints looks the same.

use crate::script::api_doc::ModuleBuilder;
use crate::script::convert::{runtime_error, RhaiResult};
use rhai::{Array, Dynamic};

/// A value as a table cell or a joined item: strings as they are, anything else as Rhai shows it.
fn text_of(value: &Dynamic) -> String {
    if value.is_string() {
        value.clone().into_string().unwrap_or_default()
    } else if value.is_unit() {
        String::new()
    } else {
        value.to_string()
    }
}

/// The items joined by `separator`.
pub fn join(items: &Array, separator: &str) -> String {
    items
        .iter()
        .map(text_of)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Rows of cells as aligned columns, two spaces apart; the last column is not padded, so no
/// line ends in spaces. Widths count characters, not bytes.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if c + 1 < row.len() {
                    let pad = widths[c].saturating_sub(cell.chars().count());
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect();
    lines.join("\n")
}

/// `1536` → `1.5 KiB`; a negative count (unknown) is `?`.
pub fn human_size(bytes: i64) -> String {
    u64::try_from(bytes).map_or_else(|_| "?".to_string(), crate::ops::human_bytes)
}

pub fn register(m: &mut ModuleBuilder<'_>) {
    m.func(
        "join",
        &["items: Array", "separator: String"],
        "String",
        "The items as text, joined by `separator`: join([\"a\", 1], \", \") is \"a, 1\".",
        |items: Array, separator: &str| -> String { join(&items, separator) },
    );
    m.func(
        "table",
        &["rows: Array"],
        "String",
        "Rows (arrays of cells) as aligned columns, two spaces apart, one line per row; print \
         it. The first row is usually the header: table([[\"what\", \"action\"], [\"cache\", \
         \"created\"]]).",
        |rows: Array| -> RhaiResult<String> {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    row.as_array_ref()
                        .map(|cells| cells.iter().map(text_of).collect())
                        .map_err(|t| {
                            runtime_error(format!("table: row {i} is a {t}, not an array of cells"))
                        })
                })
                .collect::<Result<_, _>>()?;
            Ok(table(&rows))
        },
    );
    m.func(
        "human_size",
        &["bytes: int"],
        "String",
        "A byte count for people: human_size(1536) is \"1.5 KiB\"; a negative count is \"?\".",
        |bytes: i64| -> String { human_size(bytes) },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_characters_and_end_without_spaces() {
        let rows = vec![
            vec!["what".to_string(), "name".to_string(), "action".to_string()],
            vec![
                "cache".to_string(),
                "kind-registry-docker-io".to_string(),
                "created".to_string(),
            ],
            vec![
                "node → x".to_string(),
                "n".to_string(),
                "updated".to_string(),
            ],
        ];
        assert_eq!(
            table(&rows),
            "what      name                     action\n\
             cache     kind-registry-docker-io  created\n\
             node → x  n                        updated"
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(8 << 20), "8.0 MiB");
        assert_eq!(human_size(-1), "?");
    }
}
