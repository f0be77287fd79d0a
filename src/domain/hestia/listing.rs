//! Hestia's listings in its four output formats (hestia-protocol.md A.11, B.1): `json` (an
//! object keyed by the object's name, fields in a fixed order, every value a string, `{`
//! and `}` on two lines when empty), `plain` (tab-separated, one object a line, no header),
//! `csv` (a header line, then rows) and `shell` (a human table, the default). The face's own
//! listings (access keys, API profiles) render through the same code.

/// An output format, named by the command's FORMAT argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Plain,
    Csv,
    Shell,
}

impl Format {
    /// The format a FORMAT argument asks for: absent means `shell` (scripts use
    /// `${N-shell}`); only exactly `json`, `plain`, `csv` or `shell` is taken; anything else,
    /// the empty string included, is `None`: the script's `case` matches nothing and prints
    /// nothing.
    pub fn parse(arg: Option<&str>) -> Option<Format> {
        match arg {
            None => Some(Format::Shell),
            Some("json") => Some(Format::Json),
            Some("plain") => Some(Format::Plain),
            Some("csv") => Some(Format::Csv),
            Some("shell") => Some(Format::Shell),
            Some(_) => None,
        }
    }
}

/// One field's value: a string (every Hestia field), or a list (the access keys'
/// PERMISSIONS and the API profiles' COMMANDS, JSON arrays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    List(Vec<String>),
}

impl From<String> for Field {
    fn from(s: String) -> Self {
        Field::Text(s)
    }
}

impl From<&str> for Field {
    fn from(s: &str) -> Self {
        Field::Text(s.to_owned())
    }
}

impl Field {
    /// The value as one line of text (a list joined with commas).
    fn flat(&self) -> String {
        match self {
            Field::Text(s) => s.clone(),
            Field::List(v) => v.join(","),
        }
    }
}

/// One object: its name (the JSON key) and its fields in order.
pub type Row = (String, Vec<(&'static str, Field)>);

/// How a listing is laid out besides its fields.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// The name of the key column in `plain`, `csv` and `shell` (`USER`, `DOMAIN`, `ID`...).
    pub key: &'static str,
    /// Whether `plain`, `csv` and `shell` print the key column first (not for the single
    /// wrappers `sysinfo` and `config`).
    pub keyed: bool,
    /// The fields the `shell` table shows (after the key column, if keyed); empty: all.
    pub shell: &'static [&'static str],
}

/// The listing's text in a format, newline-terminated as the script prints it.
pub fn render(format: Format, listing: &Listing, rows: &[Row]) -> String {
    match format {
        Format::Json => json(rows),
        Format::Plain => {
            let mut out = String::new();
            for (name, fields) in rows {
                let mut cells: Vec<String> = Vec::new();
                if listing.keyed {
                    cells.push(name.clone());
                }
                cells.extend(fields.iter().map(|(_, v)| v.flat()));
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
            out
        }
        Format::Csv => {
            let mut out = String::new();
            let mut head: Vec<&str> = Vec::new();
            if listing.keyed {
                head.push(listing.key);
            }
            if let Some((_, fields)) = rows.first() {
                head.extend(fields.iter().map(|(k, _)| *k));
            }
            out.push_str(&head.join(","));
            out.push('\n');
            for (name, fields) in rows {
                let mut cells: Vec<String> = Vec::new();
                if listing.keyed {
                    cells.push(csv_cell(name));
                }
                cells.extend(fields.iter().map(|(_, v)| csv_cell(&v.flat())));
                out.push_str(&cells.join(","));
                out.push('\n');
            }
            out
        }
        Format::Shell => shell(listing, rows),
    }
}

/// A CSV cell, quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A JSON string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The JSON layout of Hestia's `json_list`: four spaces before each object's key, eight
/// before its fields, a comma after each but the last.
fn json(rows: &[Row]) -> String {
    let mut out = String::from("{\n");
    for (i, (name, fields)) in rows.iter().enumerate() {
        out.push_str(&format!("    {}: {{\n", quoted(name)));
        for (j, (k, v)) in fields.iter().enumerate() {
            let value = match v {
                Field::Text(s) => quoted(s),
                Field::List(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|s| quoted(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            out.push_str(&format!("        {}: {value}", quoted(k)));
            out.push_str(if j + 1 < fields.len() { ",\n" } else { "\n" });
        }
        out.push_str("    }");
        out.push_str(if i + 1 < rows.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

/// A table as `column -t` lays it out: a header, a line of dashes, the rows; each column
/// as wide as its widest cell, two spaces between columns.
fn shell(listing: &Listing, rows: &[Row]) -> String {
    let pick = |fields: &[(&'static str, Field)]| -> Vec<(&'static str, String)> {
        fields
            .iter()
            .filter(|(k, _)| listing.shell.is_empty() || listing.shell.contains(k))
            .map(|(k, v)| (*k, v.flat()))
            .collect()
    };
    let mut head: Vec<String> = Vec::new();
    if listing.keyed {
        head.push(listing.key.to_owned());
    }
    match rows.first() {
        Some((_, fields)) => head.extend(pick(fields).into_iter().map(|(k, _)| k.to_owned())),
        None => head.extend(listing.shell.iter().map(|k| (*k).to_owned())),
    }
    let mut table: Vec<Vec<String>> = vec![
        head.clone(),
        head.iter().map(|h| "-".repeat(h.len().max(1))).collect(),
    ];
    for (name, fields) in rows {
        let mut line: Vec<String> = Vec::new();
        if listing.keyed {
            line.push(name.clone());
        }
        // An empty cell would make `column` shift the row left; Hestia's tables show none.
        line.extend(pick(fields).into_iter().map(|(_, v)| v));
        table.push(line);
    }
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            table
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &table {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            text.push_str(cell);
            if c + 1 < line.len() {
                let pad = widths[c] - cell.chars().count() + 2;
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Listing = Listing {
        key: "USER",
        keyed: true,
        shell: &["NAME"],
    };

    fn rows() -> Vec<Row> {
        vec![
            (
                "admin".into(),
                vec![("NAME", "System Admin".into()), ("U_DISK", "12".into())],
            ),
            (
                "bob".into(),
                vec![("NAME", "Bob, Jr".into()), ("U_DISK", "0".into())],
            ),
        ]
    }

    #[test]
    fn a_format_argument_is_taken_only_when_exact() {
        assert_eq!(Format::parse(None), Some(Format::Shell));
        assert_eq!(Format::parse(Some("json")), Some(Format::Json));
        assert_eq!(Format::parse(Some("csv")), Some(Format::Csv));
        assert_eq!(Format::parse(Some("JSON")), None);
        assert_eq!(Format::parse(Some("")), None);
        assert_eq!(Format::parse(Some("xml")), None);
    }

    #[test]
    fn json_is_hestias_layout_with_every_value_a_string() {
        let out = render(Format::Json, &L, &rows());
        assert_eq!(
            out,
            "{\n    \"admin\": {\n        \"NAME\": \"System Admin\",\n        \"U_DISK\": \"12\"\n    },\n    \"bob\": {\n        \"NAME\": \"Bob, Jr\",\n        \"U_DISK\": \"0\"\n    }\n}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid json");
        assert_eq!(v["admin"]["U_DISK"], "12");
    }

    #[test]
    fn an_empty_json_listing_is_two_braces_on_two_lines() {
        assert_eq!(render(Format::Json, &L, &[]), "{\n}\n");
    }

    #[test]
    fn lists_are_json_arrays_and_comma_joined_elsewhere() {
        let rows: Vec<Row> = vec![(
            "k".into(),
            vec![("PERMISSIONS", Field::List(vec!["a".into(), "b".into()]))],
        )];
        assert!(render(Format::Json, &L, &rows).contains("\"PERMISSIONS\": [\"a\", \"b\"]"));
        assert_eq!(render(Format::Plain, &L, &rows), "k\ta,b\n");
    }

    #[test]
    fn plain_is_tab_separated_and_csv_has_a_header() {
        assert_eq!(
            render(Format::Plain, &L, &rows()),
            "admin\tSystem Admin\t12\nbob\tBob, Jr\t0\n"
        );
        assert_eq!(
            render(Format::Csv, &L, &rows()),
            "USER,NAME,U_DISK\nadmin,System Admin,12\nbob,\"Bob, Jr\",0\n"
        );
    }

    #[test]
    fn shell_is_an_aligned_table_of_the_chosen_columns() {
        assert_eq!(
            render(Format::Shell, &L, &rows()),
            "USER   NAME\n----   ----\nadmin  System Admin\nbob    Bob, Jr\n"
        );
        assert_eq!(render(Format::Shell, &L, &[]), "USER  NAME\n----  ----\n");
    }
}
