//! The `audit.csv` codec (docs/formats.md §12.1, §12.2): one row, the quoting rule, and a tolerant
//! reader that finds columns by their header names.

use super::COLUMNS;

/// One audit row. All fields are plain text; empty means absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRow {
    /// `ISO_TS` of the event.
    pub ts: String,
    /// `pull`, `push`, `import`, `export`, `rotate` (and `sync` here).
    pub action: String,
    /// `BUNDLE_TS` read or written; empty for import/export.
    pub version_ts: String,
    /// Host name.
    pub hostname: String,
    /// First non-loopback address.
    pub local_ip: String,
    /// `$USER` / `$USERNAME`.
    pub os_user: String,
    /// `git config user.email`.
    pub git_email: String,
    /// This tool's version.
    pub vsync_version: String,
    /// Upstream's JS runtime version; we write it empty (docs/formats.md §17 item 16).
    pub bun_version: String,
    /// Compact JSON object or empty (see [`MetaBuilder`]).
    pub meta: String,
    /// Columns after the known ten (name, value), as read; written in order.
    pub extra: Vec<(String, String)>,
}

impl AuditRow {
    /// The ten known fields in header order (what the chain MAC covers).
    pub(super) fn fields(&self) -> [&str; 10] {
        [
            &self.ts,
            &self.action,
            &self.version_ts,
            &self.hostname,
            &self.local_ip,
            &self.os_user,
            &self.git_email,
            &self.vsync_version,
            &self.bun_version,
            &self.meta,
        ]
    }

    /// The CSV line for this row, terminated by `\n` (extra columns are not written: the file's
    /// header has ten columns).
    pub fn to_csv_line(&self) -> String {
        let mut line = self
            .fields()
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",");
        line.push('\n');
        line
    }

    /// The CSV line for this row under a file header naming `columns` (any order): known columns
    /// get their field, others the [`AuditRow::extra`] value of that name, or empty.
    pub fn to_csv_line_for(&self, columns: &[String]) -> String {
        let fields = self.fields();
        let mut line = columns
            .iter()
            .map(|c| match COLUMNS.iter().position(|k| k == c) {
                Some(i) => csv_field(fields[i]),
                None => csv_field(self.extra_value(c)),
            })
            .collect::<Vec<_>>()
            .join(",");
        line.push('\n');
        line
    }

    /// Empty every known field that `columns` has no column for, and drop extra values that
    /// have none (what a write under that header and a read back would give).
    pub fn keep_only(&mut self, columns: &[String]) {
        let has = |name: &str| columns.iter().any(|c| c == name);
        let slots: [&mut String; 10] = [
            &mut self.ts,
            &mut self.action,
            &mut self.version_ts,
            &mut self.hostname,
            &mut self.local_ip,
            &mut self.os_user,
            &mut self.git_email,
            &mut self.vsync_version,
            &mut self.bun_version,
            &mut self.meta,
        ];
        for (slot, name) in slots.into_iter().zip(COLUMNS) {
            if !has(name) {
                slot.clear();
            }
        }
        self.extra.retain(|(k, _)| has(k));
    }

    fn extra_value(&self, name: &str) -> &str {
        self.extra
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The `chain` cell (docs/audit-chain.md); empty when the writer did not chain.
    pub fn chain(&self) -> &str {
        self.extra_value(super::CHAIN_COLUMN)
    }

    /// Set the `chain` cell.
    pub fn set_chain(&mut self, cell: String) {
        match self
            .extra
            .iter_mut()
            .find(|(k, _)| k == super::CHAIN_COLUMN)
        {
            Some(slot) => slot.1 = cell,
            None => self.extra.push((super::CHAIN_COLUMN.to_owned(), cell)),
        }
    }
}

/// Quote one CSV field like upstream: wrap in `"` (inner `"` doubled) when it contains `"`, `,`,
/// LF or CR; otherwise raw (an empty field stays empty).
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['"', ',', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Parse CSV text into records (RFC 4180, tolerant: CR, LF and CRLF end a record; a record that
/// is a single empty field is skipped; a stray quote inside an unquoted field is kept).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut field_started = false;
    let end_record =
        |record: &mut Vec<String>, field: &mut String, records: &mut Vec<Vec<String>>| {
            record.push(std::mem::take(field));
            let r = std::mem::take(record);
            if !(r.len() == 1 && r[0].is_empty()) {
                records.push(r);
            }
        };
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                in_quotes = true;
                field_started = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                end_record(&mut record, &mut field, &mut records);
                field_started = false;
            }
            '\n' => {
                end_record(&mut record, &mut field, &mut records);
                field_started = false;
            }
            other => {
                field.push(other);
                field_started = true;
            }
        }
    }
    if field_started || !field.is_empty() || !record.is_empty() {
        end_record(&mut record, &mut field, &mut records);
    }
    records
}

/// The header's column names (trimmed), as [`parse_audit`] sees them; empty when the text has no
/// header record.
pub fn header_columns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    parse_csv(text)
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_owned())
        .collect()
}

/// The byte offset where the header record ends, when the header is one physical line (a header
/// with a quoted line break has none: nothing can be added to it safely).
pub(super) fn header_line_end(text: &str) -> Option<usize> {
    let bom = if text.starts_with('\u{FEFF}') {
        '\u{FEFF}'.len_utf8()
    } else {
        0
    };
    let end = text[bom..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| i + bom);
    let line = parse_csv(&text[bom..end]).into_iter().next();
    (line.is_some() && line == parse_csv(&text[bom..]).into_iter().next()).then_some(end)
}

/// Parse `audit.csv` into rows; columns are located by header name, missing columns read as
/// empty, unknown columns land in [`AuditRow::extra`]. Text without a header gives no rows.
pub fn parse_audit(text: &str) -> Vec<AuditRow> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut records = parse_csv(text).into_iter();
    let Some(header) = records.next() else {
        return Vec::new();
    };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    let idx = |name: &str| header.iter().position(|h| h == name);
    let cols: Vec<Option<usize>> = COLUMNS.iter().map(|c| idx(c)).collect();
    let extra_cols: Vec<(usize, &String)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !COLUMNS.contains(&h.as_str()))
        .collect();
    records
        .map(|r| {
            let get = |i: Option<usize>| i.and_then(|i| r.get(i)).cloned().unwrap_or_default();
            AuditRow {
                ts: get(cols[0]),
                action: get(cols[1]),
                version_ts: get(cols[2]),
                hostname: get(cols[3]),
                local_ip: get(cols[4]),
                os_user: get(cols[5]),
                git_email: get(cols[6]),
                vsync_version: get(cols[7]),
                bun_version: get(cols[8]),
                meta: get(cols[9]),
                extra: extra_cols
                    .iter()
                    .map(|(i, h)| ((*h).clone(), r.get(*i).cloned().unwrap_or_default()))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::HEADER;

    #[test]
    fn quoting() {
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("plain text"), "plain text");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("l1\nl2"), "\"l1\nl2\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn upstream_example_rows() {
        let row = AuditRow {
            ts: "2026-05-23T11:42:03.120Z".into(),
            action: "push".into(),
            version_ts: "20260523-114201".into(),
            hostname: "laptop-7".into(),
            local_ip: "192.168.1.20".into(),
            os_user: "alice".into(),
            git_email: "alice@example.com".into(),
            vsync_version: "0.17.0".into(),
            bun_version: "1.3.0".into(),
            meta: r#"{"note":"hotfix for #1423"}"#.into(),
            extra: vec![],
        };
        let line = row.to_csv_line();
        assert_eq!(
            line,
            "2026-05-23T11:42:03.120Z,push,20260523-114201,laptop-7,192.168.1.20,alice,alice@example.com,0.17.0,1.3.0,\"{\"\"note\"\":\"\"hotfix for #1423\"\"}\"\n"
        );
        let export = "2026-05-23T12:00:10.004Z,export,,laptop-7,192.168.1.20,alice,alice@example.com,0.17.0,1.3.0,\n";
        let text = format!("{HEADER}\n{line}{export}");
        let rows = parse_audit(&text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], row);
        assert_eq!(rows[1].action, "export");
        assert_eq!(rows[1].version_ts, "");
        assert_eq!(rows[1].meta, "");
    }

    #[test]
    fn tolerant_reader() {
        // CRLF and CR endings, blank lines, reordered and missing columns, extra column,
        // embedded newline in a quoted field.
        let text = "action,ts,meta,new_col\r\npush,T1,\"{\"\"a\"\":\"\"x\ny\"\"}\",N\r\r\npull,T2\rrotate,T3,,Z,EXTRA\n\n";
        let rows = parse_audit(text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].action, "push");
        assert_eq!(rows[0].ts, "T1");
        assert_eq!(rows[0].meta, "{\"a\":\"x\ny\"}");
        assert_eq!(rows[0].extra, vec![("new_col".to_owned(), "N".to_owned())]);
        assert_eq!(rows[1].ts, "T2");
        assert_eq!(rows[1].meta, "");
        assert_eq!(rows[2].extra[0].1, "Z");
        assert_eq!(rows[1].hostname, "");
        assert!(parse_audit("").is_empty());
        assert!(parse_audit(HEADER).is_empty());
        // A stray quote inside an unquoted field is kept.
        assert_eq!(
            parse_csv("a\"b,c\n"),
            vec![vec!["a\"b".to_owned(), "c".to_owned()]]
        );
        // Unterminated quote: takes the rest.
        assert_eq!(parse_csv("\"abc"), vec![vec!["abc".to_owned()]]);
    }
}
