//! Appending a row (docs/formats.md §12.4): read the log with its revision, append, write back
//! conditionally, retry on a lost race; and reading the whole log.

use super::{APPEND_ATTEMPTS, AuditRow, HEADER, parse_audit};
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
