//! `audit.csv` (docs/formats.md §12): the row, CSV quoting, the `meta` cell, a tolerant reader, and the
//! append protocol with ETag-conditional writes and retries.

use serde_json::Value;

use crate::error::StoreError;
use crate::store::{Bucket, Expected};

/// The header row, exactly (without the newline).
pub const HEADER: &str =
    "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta";

/// The column names in order.
pub const COLUMNS: [&str; 10] = [
    "ts",
    "action",
    "version_ts",
    "hostname",
    "local_ip",
    "os_user",
    "git_email",
    "vsync_version",
    "bun_version",
    "meta",
];

/// Maximum UTF-8 length of the meta cell before it is replaced by `{"_truncated":true}`.
pub const META_CAP: usize = 2048;

/// The cell written when the meta JSON exceeds [`META_CAP`].
pub const META_TRUNCATED: &str = r#"{"_truncated":true}"#;

/// How many times the append protocol tries (docs/formats.md §12.4).
pub const APPEND_ATTEMPTS: u32 = 3;

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
    fn fields(&self) -> [&str; 10] {
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

// ---------------------------------------------------------------------------------------------
// meta cell (docs/formats.md §12.3)

/// A warning produced while building the meta cell (printed by the caller on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaWarning {
    /// `$VSYNC_AUDIT_META` is not a JSON object; ignored.
    EnvMetaInvalid,
    /// The cell exceeded 2048 bytes and was replaced by `{"_truncated":true}`.
    Truncated {
        /// The size it would have had.
        bytes: usize,
    },
}

impl std::fmt::Display for MetaWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EnvMetaInvalid => {
                f.write_str("VSYNC_AUDIT_META is not a JSON object; ignoring it")
            }
            Self::Truncated { bytes } => write!(
                f,
                "audit meta is {bytes} bytes (max {META_CAP}); recorded as {META_TRUNCATED}"
            ),
        }
    }
}

/// A `--meta` argument without `=` or with an empty key (a usage error, exit before anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--meta expects key=value with a non-empty key")]
pub struct MetaUsageError;

/// Builds the meta cell: an insertion-ordered map where setting an existing key replaces its
/// value in place.
#[derive(Debug, Clone, Default)]
pub struct MetaBuilder {
    map: Vec<(String, Value)>,
    warnings: Vec<MetaWarning>,
}

/// JavaScript `JSON.stringify` of a value, compact (integral floats without a fraction).
pub fn js_stringify(v: &Value) -> String {
    fn fix(v: &Value) -> Value {
        match v {
            Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e21 && f.abs() < 9.2e18 => {
                    Value::from(f as i64)
                }
                _ => v.clone(),
            },
            Value::Array(a) => Value::Array(a.iter().map(fix).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), fix(v))).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&fix(v)).unwrap_or_default()
}

impl MetaBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` (in place if present).
    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        match self.map.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.map.push((key.to_owned(), value)),
        }
        self
    }

    /// Source 1: `$VSYNC_AUDIT_META` text. Non-string values become their JSON text; invalid
    /// JSON or a non-object is ignored with a warning.
    pub fn env_meta(&mut self, text: &str) -> &mut Self {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => {
                for (k, v) in o {
                    let v = match v {
                        Value::String(s) => Value::String(s),
                        other => Value::String(js_stringify(&other)),
                    };
                    self.set(&k, v);
                }
            }
            _ => self.warnings.push(MetaWarning::EnvMetaInvalid),
        }
        self
    }

    /// Sources 2 and 4: a non-empty note (`$VSYNC_AUDIT_NOTE`, `--note`).
    pub fn note(&mut self, note: &str) -> &mut Self {
        if !note.is_empty() {
            self.set("note", Value::String(note.to_owned()));
        }
        self
    }

    /// Source 3: one `--meta key=value`.
    pub fn pair(&mut self, arg: &str) -> Result<&mut Self, MetaUsageError> {
        match arg.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(self.set(k, Value::String(v.to_owned()))),
            _ => Err(MetaUsageError),
        }
    }

    /// Collect the standard sources in priority order: `$VSYNC_AUDIT_META`, `$VSYNC_AUDIT_NOTE`,
    /// the `--meta` pairs, `--note`.
    pub fn from_sources(
        env_meta: Option<&str>,
        env_note: Option<&str>,
        pairs: &[String],
        note: Option<&str>,
    ) -> Result<Self, MetaUsageError> {
        let mut b = Self::new();
        // Validate pairs first: a usage error must happen before anything else.
        for p in pairs {
            if !matches!(p.split_once('='), Some((k, _)) if !k.is_empty()) {
                return Err(MetaUsageError);
            }
        }
        if let Some(m) = env_meta {
            b.env_meta(m);
        }
        if let Some(n) = env_note {
            b.note(n);
        }
        for p in pairs {
            b.pair(p)?;
        }
        if let Some(n) = note {
            b.note(n);
        }
        Ok(b)
    }

    /// Warnings so far.
    pub fn warnings(&self) -> &[MetaWarning] {
        &self.warnings
    }

    fn json(map: &[(String, Value)]) -> String {
        let obj: serde_json::Map<String, Value> = map.iter().cloned().collect();
        js_stringify(&Value::Object(obj))
    }

    /// The cell: empty when nothing was supplied, else compact JSON, capped at 2048 bytes.
    pub fn build(&mut self) -> String {
        if self.map.is_empty() {
            return String::new();
        }
        let s = Self::json(&self.map);
        if s.len() > META_CAP {
            self.warnings
                .push(MetaWarning::Truncated { bytes: s.len() });
            return META_TRUNCATED.to_owned();
        }
        s
    }

    /// The cell of a `rotate` row: the user map with `event:"rotate"`, `gen`, `prev_gen` merged
    /// on top (in place); the cap is not re-applied to the merged map (docs/formats.md §12.3).
    pub fn build_rotate(&mut self, gen_: u64, prev_gen: u64) -> String {
        let user = self.build();
        let mut map: Vec<(String, Value)> = if user == META_TRUNCATED {
            vec![("_truncated".to_owned(), Value::Bool(true))]
        } else {
            self.map.clone()
        };
        for (k, v) in [
            ("event", Value::from("rotate")),
            ("gen", Value::from(gen_)),
            ("prev_gen", Value::from(prev_gen)),
        ] {
            match map.iter_mut().find(|(mk, _)| mk == k) {
                Some(slot) => slot.1 = v,
                None => map.push((k.to_owned(), v)),
            }
        }
        Self::json(&map)
    }
}

// ---------------------------------------------------------------------------------------------
// append (docs/formats.md §12.4)

/// What happened to an append (it is best effort: the caller only warns).
#[derive(Debug)]
#[non_exhaustive]
pub enum AppendOutcome {
    /// The row is in the log.
    Appended {
        /// Attempts used (1–3).
        attempts: u32,
    },
    /// The credentials may not read or write the log (403): skipped silently.
    Forbidden,
    /// Failed; warn with this error.
    Failed(StoreError),
}

/// Append one row to `<P>audit.csv` (docs/formats.md §12.4): read the log with its ETag, append, write
/// with `If-Match` (or create-only with the header when absent), retry up to 3 times on conflict.
pub async fn append(bucket: &Bucket, key: &str, row: &AuditRow) -> AppendOutcome {
    let line = row.to_csv_line();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = match bucket.get(key).await {
            Ok(c) => c,
            Err(StoreError::AccessDenied { .. }) => return AppendOutcome::Forbidden,
            Err(e) => return AppendOutcome::Failed(e),
        };
        let (body, expected) = match current {
            None => (format!("{HEADER}\n{line}"), Expected::Absent),
            Some(f) => {
                let mut text = String::from_utf8_lossy(&f.bytes).into_owned();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&line);
                match f.etag {
                    Some(e) => (text, Expected::Etag(e)),
                    None => {
                        return AppendOutcome::Failed(StoreError::Unsupported {
                            store: bucket.label().to_owned(),
                            what: "ETags on GET (needed for audit appends)",
                        });
                    }
                }
            }
        };
        match bucket
            .put_swap_typed(key, body.into_bytes(), expected, Some("text/csv"))
            .await
        {
            Ok(_) => return AppendOutcome::Appended { attempts: attempt },
            Err(StoreError::AccessDenied { .. }) => return AppendOutcome::Forbidden,
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. })
                if attempt < APPEND_ATTEMPTS =>
            {
                continue;
            }
            Err(e) => return AppendOutcome::Failed(e),
        }
    }
}

/// Read and parse the audit log; `Ok(vec![])` when it does not exist.
pub async fn read(bucket: &Bucket, key: &str) -> Result<Vec<AuditRow>, StoreError> {
    Ok(match bucket.get(key).await? {
        Some(f) => parse_audit(&String::from_utf8_lossy(&f.bytes)),
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn meta_cell() {
        let mut b = MetaBuilder::from_sources(
            Some(r#"{"note":"env","n":1,"f":2.0,"o":{"k":[1,"x"]},"b":true,"z":null}"#),
            Some("from env note"),
            &[
                "ticket=OPS-1".to_owned(),
                "note=from pair".to_owned(),
                "eq=a=b".to_owned(),
            ],
            Some("final note"),
        )
        .unwrap();
        assert_eq!(
            b.build(),
            r#"{"note":"final note","n":"1","f":"2","o":"{\"k\":[1,\"x\"]}","b":"true","z":"null","ticket":"OPS-1","eq":"a=b"}"#
        );
        assert!(b.warnings().is_empty());
        assert_eq!(MetaBuilder::new().build(), "");
        let mut b = MetaBuilder::from_sources(Some("[1]"), None, &[], None).unwrap();
        assert_eq!(b.build(), "");
        assert_eq!(b.warnings(), &[MetaWarning::EnvMetaInvalid]);
        assert!(MetaBuilder::from_sources(None, None, &["noequals".to_owned()], None).is_err());
        assert!(MetaBuilder::from_sources(None, None, &["=v".to_owned()], None).is_err());
        // Empty notes are ignored.
        assert_eq!(
            MetaBuilder::from_sources(None, Some(""), &[], Some(""))
                .unwrap()
                .build(),
            ""
        );
    }

    #[test]
    fn meta_cap() {
        // {"note":"<x>"} is 11 bytes of overhead.
        let exact = "x".repeat(META_CAP - 11);
        let mut b = MetaBuilder::new();
        b.note(&exact);
        assert_eq!(b.build().len(), META_CAP);
        let mut b = MetaBuilder::new();
        b.note(&format!("{exact}y"));
        assert_eq!(b.build(), META_TRUNCATED);
        assert_eq!(
            b.warnings(),
            &[MetaWarning::Truncated {
                bytes: META_CAP + 1
            }]
        );
        // Multi-byte characters count in bytes.
        let mut b = MetaBuilder::new();
        b.note(&"é".repeat(1100));
        assert_eq!(b.build(), META_TRUNCATED);
    }

    #[test]
    fn rotate_meta() {
        let mut b = MetaBuilder::new();
        b.note("n").set("gen", Value::from("user"));
        assert_eq!(
            b.build_rotate(4, 3),
            r#"{"note":"n","gen":4,"event":"rotate","prev_gen":3}"#
        );
        assert_eq!(
            MetaBuilder::new().build_rotate(1, 0),
            r#"{"event":"rotate","gen":1,"prev_gen":0}"#
        );
    }
}
