//! Appending a row (docs/formats.md §12.4): read the log with its revision, append, write back
//! conditionally, retry on a lost race; and reading the whole log.
//!
//! A chained append (docs/audit-chain.md) computes the new row's chain cell from the log text it
//! read, inside the retry loop: the conditional write only lands if nobody appended since that
//! read, so the cell always links to the row that really precedes it.

use super::chain::{ChainKey, chain_row};
use super::csv_codec::header_line_end;
use super::{
    APPEND_ATTEMPTS, AuditRow, CHAIN_COLUMN, HEADER, header_columns, parse_audit, parse_csv,
};
use crate::error::StoreError;
use crate::store::{Bucket, Expected};

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
    append_chained(bucket, key, row, None).await
}

/// [`append`], chaining the row under `chain` when given (the chain cell is recomputed from the
/// log read on every attempt).
pub async fn append_chained(
    bucket: &Bucket,
    key: &str,
    row: &AuditRow,
    chain: Option<&ChainKey>,
) -> AppendOutcome {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = match bucket.get(key).await {
            Ok(c) => c,
            Err(StoreError::AccessDenied { .. }) => return AppendOutcome::Forbidden,
            Err(e) => return AppendOutcome::Failed(e),
        };
        let (body, expected) = match current {
            None => (appended_body(None, row, chain), Expected::Absent),
            Some(f) => {
                let text = appended_body(Some(&String::from_utf8_lossy(&f.bytes)), row, chain);
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

/// The log text after appending `row` to `existing` (`None`: the log does not exist yet).
///
/// Unchained, this is upstream's rule: the header when new, a line break if the text lacks its
/// last one, the ten fields. Chained, the header gains a `chain` column on the right when it
/// lacks one (upstream's reader finds columns by name and ignores it), and the row is written
/// in the header's column order with its chain cell computed over the rows read.
pub fn appended_body(existing: Option<&str>, row: &AuditRow, chain: Option<&ChainKey>) -> String {
    let Some(key) = chain else {
        return match existing {
            None => format!("{HEADER}\n{}", row.to_csv_line()),
            Some(text) => {
                let mut text = text.to_owned();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&row.to_csv_line());
                text
            }
        };
    };
    let mut row = row.clone();
    // A log with no header record (absent, empty, blank lines) starts over with one.
    let existing = existing.filter(|t| !parse_csv(t).is_empty());
    let Some(text) = existing else {
        chain_row(key, &[], &mut row);
        let columns: Vec<String> = HEADER
            .split(',')
            .chain([CHAIN_COLUMN])
            .map(str::to_owned)
            .collect();
        return format!("{HEADER},{CHAIN_COLUMN}\n{}", row.to_csv_line_for(&columns));
    };
    let mut columns = header_columns(text);
    let mut body = text.to_owned();
    if !columns.iter().any(|c| c == CHAIN_COLUMN)
        && let Some(end) = header_line_end(&body)
    {
        body.insert_str(end, &format!(",{CHAIN_COLUMN}"));
        columns.push(CHAIN_COLUMN.to_owned());
    }
    // Chain off the rows as they read under the header being written (a stray 11th field of an
    // old row becomes its chain cell once the header names the column), and MAC the row as it
    // will read back: a field the header has no column for is not written.
    let rows = parse_audit(&body);
    row.keep_only(&columns);
    chain_row(key, &rows, &mut row);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&row.to_csv_line_for(&columns));
    body
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
    use crate::audit::{ChainKey, walk};

    fn row(action: &str) -> AuditRow {
        AuditRow {
            ts: "2026-05-23T11:42:03.120Z".into(),
            action: action.into(),
            hostname: "laptop, 7".into(),
            ..Default::default()
        }
    }

    #[test]
    fn unchained_body_is_upstreams() {
        let first = appended_body(None, &row("push"), None);
        assert_eq!(
            first,
            format!("{HEADER}\n2026-05-23T11:42:03.120Z,push,,\"laptop, 7\",,,,,,\n")
        );
        let second = appended_body(Some(first.trim_end()), &row("pull"), None);
        assert!(second.ends_with(",\n2026-05-23T11:42:03.120Z,pull,,\"laptop, 7\",,,,,,\n"));
    }

    #[test]
    fn chained_body_upgrades_an_upstream_header() {
        let key = ChainKey::derive(&[9; 32]);
        // An upstream log without a final line break, then a CRLF one.
        for upstream in [
            format!("{HEADER}\n2026-01-01T00:00:00.000Z,pull,,h,,,,,,"),
            format!("{HEADER}\r\n2026-01-01T00:00:00.000Z,pull,,h,,,,,,\r\n"),
            format!("\u{FEFF}{HEADER}\n2026-01-01T00:00:00.000Z,pull,,h,,,,,,\n"),
        ] {
            let body = appended_body(Some(&upstream), &row("push"), Some(&key));
            let header = header_columns(&body);
            assert_eq!(header.last().map(String::as_str), Some(CHAIN_COLUMN));
            assert_eq!(header.len(), 11);
            let rows = parse_audit(&body);
            assert_eq!(rows.len(), 2, "{body:?}");
            assert_eq!(rows[0].action, "pull");
            assert_eq!(rows[0].chain(), "");
            assert_eq!(rows[1].hostname, "laptop, 7");
            assert!(rows[1].chain().starts_with("c1."));
            let w = walk(&key, &rows);
            assert!(w.findings.is_empty(), "{:?}", w.findings);
            // The header is upgraded once.
            let again = appended_body(Some(&body), &row("pull"), Some(&key));
            assert_eq!(again.matches(CHAIN_COLUMN).count(), 1);
            assert!(walk(&key, &parse_audit(&again)).findings.is_empty());
        }
        // An old row with a stray 11th field: once the header names `chain`, that field is its
        // (malformed) cell, and the new row links to it, so the new row still verifies.
        let odd = format!("{HEADER}\nT,pull,,h,,,,,,,stray\n");
        let body = appended_body(Some(&odd), &row("push"), Some(&key));
        let w = walk(&key, &parse_audit(&body));
        assert_eq!(w.rows[1], crate::audit::RowCheck::Verified);
        // A header with a quoted line break is left alone (the row is written unchained).
        let quoted = "\"ts\nx\",action\nT,pull\n";
        let body = appended_body(Some(quoted), &row("push"), Some(&key));
        assert!(body.starts_with(quoted));
        // A log that is only blank lines starts over with a header.
        let body = appended_body(Some("\n\n"), &row("push"), Some(&key));
        assert!(body.starts_with(&format!("{HEADER},{CHAIN_COLUMN}\n")));
        assert_eq!(parse_audit(&body).len(), 1);
    }

    #[test]
    fn chained_rows_follow_a_reordered_header() {
        let key = ChainKey::derive(&[9; 32]);
        let text = "action,ts,chain,meta\npull,T1,,\n";
        let body = appended_body(Some(text), &row("push"), Some(&key));
        let rows = parse_audit(&body);
        assert_eq!(rows[1].action, "push");
        assert_eq!(rows[1].ts, "2026-05-23T11:42:03.120Z");
        assert!(walk(&key, &rows).findings.is_empty());
    }
}
