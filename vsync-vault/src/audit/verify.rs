//! Checking an audit log against its chain and against the heads sealed in bundles
//! (docs/audit-chain.md): which rows are verified, which cannot be (written by a tool that does
//! not chain, or under another key), and where the log was edited, cut or added to.

use super::AuditRow;
use super::chain::{ChainCell, ChainKey, SealedHead};

/// What the walk says about one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowCheck {
    /// Chained under this key, and the MAC holds.
    Verified,
    /// No chain cell: written by a tool that does not chain (upstream, older vsync). The next
    /// chained row covers it.
    Unchained,
    /// Chained under another key (before a key rotation): cannot be checked with this one.
    OtherKey,
    /// Part of a [`Finding`].
    Broken,
}

impl RowCheck {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unchained => "unverified",
            Self::OtherKey => "other-key",
            Self::Broken => "broken",
        }
    }
}

/// Rows are numbered from 1, header excluded.
pub type RowNo = usize;

/// Evidence of tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The row's MAC does not hold though it sits where it was written: the row was edited (or,
    /// when `covers` is set, one of the unverified rows its MAC covers).
    Edited {
        /// The row.
        row: RowNo,
        /// Unverified rows (first, last) covered by its MAC.
        covers: Option<(RowNo, RowNo)>,
    },
    /// The row was written as a later row number: rows before it were removed.
    Removed {
        /// The first row after the gap.
        row: RowNo,
        /// How many rows are missing.
        missing: u64,
    },
    /// The row was written as an earlier row number: it, or rows before it, were inserted.
    Inserted {
        /// The row.
        row: RowNo,
        /// How many rows too many precede it.
        extra: u64,
        /// Unverified rows (first, last) just before it, suspects.
        covers: Option<(RowNo, RowNo)>,
    },
    /// A chain cell that is not in the form vsync writes.
    Malformed {
        /// The row.
        row: RowNo,
    },
    /// A bundle sealed more rows than the log has now: rows at the end were removed.
    Truncated {
        /// The bundle version.
        version: String,
        /// Rows it sealed.
        sealed_rows: u64,
        /// Rows the log has.
        rows: usize,
    },
    /// The log's first `sealed_rows` rows do not end in the chain cell the bundle sealed.
    HeadMismatch {
        /// The bundle version.
        version: String,
        /// Rows it sealed.
        sealed_rows: u64,
    },
}

impl Finding {
    /// A short machine-readable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Edited { .. } => "edited",
            Self::Removed { .. } => "removed",
            Self::Inserted { .. } => "inserted",
            Self::Malformed { .. } => "malformed",
            Self::Truncated { .. } => "truncated",
            Self::HeadMismatch { .. } => "head-mismatch",
        }
    }

    /// The row it names, if any.
    pub fn row(&self) -> Option<RowNo> {
        match self {
            Self::Edited { row, .. }
            | Self::Removed { row, .. }
            | Self::Inserted { row, .. }
            | Self::Malformed { row } => Some(*row),
            Self::Truncated { .. } | Self::HeadMismatch { .. } => None,
        }
    }

    /// The bundle version it names, if any.
    pub fn version(&self) -> Option<&str> {
        match self {
            Self::Truncated { version, .. } | Self::HeadMismatch { version, .. } => Some(version),
            _ => None,
        }
    }
}

fn covers_text(covers: Option<(RowNo, RowNo)>) -> String {
    match covers {
        Some((a, b)) if a == b => format!(" (or unverified row {a} before it)"),
        Some((a, b)) => format!(" (or one of the unverified rows {a}-{b} before it)"),
        None => String::new(),
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { row, covers } => {
                write!(f, "row {row} was edited{}", covers_text(*covers))
            }
            Self::Removed { row, missing } => write!(
                f,
                "{missing} row(s) were removed before row {row} (it was written as row {})",
                *row as u64 + missing
            ),
            Self::Inserted { row, extra, covers } => write!(
                f,
                "row {row} was inserted, or {extra} row(s) before it were{}",
                covers_text(*covers)
            ),
            Self::Malformed { row } => write!(f, "row {row} has a chain cell vsync never writes"),
            Self::Truncated {
                version,
                sealed_rows,
                rows,
            } => write!(
                f,
                "rows were removed from the end: version {version} sealed {sealed_rows} rows, the log has {rows}"
            ),
            Self::HeadMismatch {
                version,
                sealed_rows,
            } => write!(
                f,
                "the first {sealed_rows} rows differ from what version {version} sealed (rows removed, replaced or re-chained)"
            ),
        }
    }
}

/// The result of walking a log.
#[derive(Debug, Clone, Default)]
pub struct ChainWalk {
    /// One check per row, in order.
    pub rows: Vec<RowCheck>,
    /// Breaks in the chain, in row order. After each the walk resynchronises on the row that
    /// broke, so one edit is one finding.
    pub findings: Vec<Finding>,
}

/// Walk `rows` under `key`.
pub fn walk(key: &ChainKey, rows: &[AuditRow]) -> ChainWalk {
    let mut out = ChainWalk::default();
    let mut prev = "";
    let mut pending: Vec<&AuditRow> = Vec::new();
    let mut pending_from: RowNo = 1;
    // Written row number minus position, as established by the last removal/insertion found.
    let mut offset: i128 = 0;
    for (i, row) in rows.iter().enumerate() {
        let no = i + 1;
        let text = row.chain();
        if text.is_empty() {
            if pending.is_empty() {
                pending_from = no;
            }
            pending.push(row);
            out.rows.push(RowCheck::Unchained);
            continue;
        }
        let covers = (!pending.is_empty()).then_some((pending_from, no - 1));
        let check = match ChainCell::parse(text) {
            None => {
                out.findings.push(Finding::Malformed { row: no });
                RowCheck::Broken
            }
            Some(cell) if cell.key_id != key.id() => RowCheck::OtherKey,
            Some(cell) => {
                let expected = no as i128 + offset;
                let seq = i128::from(cell.seq);
                if seq == expected && key.verifies(prev, &cell, &pending, row) {
                    RowCheck::Verified
                } else {
                    let gap = u64::try_from((seq - expected).unsigned_abs()).unwrap_or(u64::MAX);
                    out.findings.push(if seq == expected {
                        Finding::Edited { row: no, covers }
                    } else if seq > expected {
                        Finding::Removed {
                            row: no,
                            missing: gap,
                        }
                    } else {
                        Finding::Inserted {
                            row: no,
                            extra: gap,
                            covers,
                        }
                    });
                    offset = seq - no as i128;
                    RowCheck::Broken
                }
            }
        };
        out.rows.push(check);
        prev = text;
        pending.clear();
    }
    out
}

/// Check the log against one bundle's sealed head: the log must still have the rows it sealed,
/// and the last chain cell among them must be the one sealed.
pub fn check_head(rows: &[AuditRow], version: &str, head: &SealedHead) -> Option<Finding> {
    let sealed = usize::try_from(head.rows).unwrap_or(usize::MAX);
    if rows.len() < sealed {
        return Some(Finding::Truncated {
            version: version.to_owned(),
            sealed_rows: head.rows,
            rows: rows.len(),
        });
    }
    let last = super::chain::tail(&rows[..sealed]).0;
    (last != head.head).then(|| Finding::HeadMismatch {
        version: version.to_owned(),
        sealed_rows: head.rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::appended_body;
    use crate::audit::parse_audit;

    fn row(n: usize) -> AuditRow {
        AuditRow {
            ts: format!("2026-05-23T11:42:{n:02}.000Z"),
            action: "push".into(),
            version_ts: format!("20260523-1142{n:02}"),
            hostname: "h, with comma".into(),
            meta: format!(r#"{{"note":"n{n}"}}"#),
            ..Default::default()
        }
    }

    /// A log text of `n` rows, chained under `key` where `chained(i)`.
    fn log(key: &ChainKey, n: usize, chained: impl Fn(usize) -> bool) -> String {
        let mut text: Option<String> = None;
        for i in 1..=n {
            let k = chained(i).then_some(key);
            text = Some(appended_body(text.as_deref(), &row(i), k));
        }
        text.unwrap_or_default()
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    /// What walking the log made of `lines` finds.
    fn findings(key: &ChainKey, lines: &[String]) -> Vec<Finding> {
        walk(key, &parse_audit(&lines.join("\n"))).findings
    }

    #[test]
    fn clean_chain_and_mixed_rows() {
        let key = ChainKey::derive(&[3; 32]);
        let rows = parse_audit(&log(&key, 5, |_| true));
        let w = walk(&key, &rows);
        assert_eq!(w.rows, vec![RowCheck::Verified; 5]);
        assert!(w.findings.is_empty());
        // Upstream rows first, between and last: unverified, not tampering.
        let rows = parse_audit(&log(&key, 6, |i| i % 2 == 0));
        let w = walk(&key, &rows);
        assert!(w.findings.is_empty(), "{:?}", w.findings);
        assert_eq!(w.rows[0], RowCheck::Unchained);
        assert_eq!(w.rows[1], RowCheck::Verified);
        assert_eq!(w.rows[4], RowCheck::Unchained);
        // Another key's rows (before a rotation), then ours again.
        let old = ChainKey::derive(&[4; 32]);
        let mut text = log(&old, 3, |_| true);
        text = appended_body(Some(&text), &row(4), Some(&key));
        let w = walk(&key, &parse_audit(&text));
        assert_eq!(
            w.rows,
            vec![
                RowCheck::OtherKey,
                RowCheck::OtherKey,
                RowCheck::OtherKey,
                RowCheck::Verified
            ]
        );
        assert!(w.findings.is_empty());
    }

    #[test]
    fn edit_remove_insert_are_named() {
        let key = ChainKey::derive(&[3; 32]);
        let text = log(&key, 5, |_| true);
        let l = lines(&text);
        // Edit a field of row 3 (line 3 after the header).
        let mut edited = l.clone();
        edited[3] = edited[3].replace("n3", "n9");
        assert_eq!(
            findings(&key, &edited),
            [Finding::Edited {
                row: 3,
                covers: None
            }]
        );
        // Remove row 3.
        let mut removed = l.clone();
        removed.remove(3);
        assert_eq!(
            findings(&key, &removed),
            [Finding::Removed { row: 3, missing: 1 }]
        );
        // Insert a forged row carrying a copy of row 2's cell.
        let mut inserted = l.clone();
        inserted.insert(3, l[2].replace("n2", "forged"));
        assert_eq!(
            findings(&key, &inserted),
            [Finding::Inserted {
                row: 3,
                extra: 1,
                covers: None
            }]
        );
        // An unchained forged row: the next chained row catches it.
        let mut inserted = l.clone();
        inserted.insert(3, "2026-01-01T00:00:00.000Z,push,,x,,,,,,".to_owned());
        assert_eq!(
            findings(&key, &inserted),
            [Finding::Inserted {
                row: 4,
                extra: 1,
                covers: Some((3, 3))
            }]
        );
        // Blanking a chain cell breaks the link of the next row.
        let mut blanked = l.clone();
        let cell = parse_audit(&text)[2].chain().to_owned();
        blanked[3] = blanked[3].replace(&cell, "");
        assert_eq!(
            findings(&key, &blanked),
            [Finding::Edited {
                row: 4,
                covers: Some((3, 3))
            }]
        );
        // A malformed cell.
        let mut bad = l;
        bad[2] = bad[2].replace(&parse_audit(&text)[1].chain().to_owned(), "c1.zz");
        assert_eq!(findings(&key, &bad)[0], Finding::Malformed { row: 2 });
        // Editing an unverified row is caught by the chained row after it.
        let text = log(&key, 4, |i| i != 2);
        let mut l = lines(&text);
        l[2] = l[2].replace("n2", "nX");
        assert_eq!(
            findings(&key, &l),
            [Finding::Edited {
                row: 3,
                covers: Some((2, 2))
            }]
        );
    }

    #[test]
    fn sealed_heads() {
        let key = ChainKey::derive(&[3; 32]);
        let text = log(&key, 4, |_| true);
        let rows = parse_audit(&text);
        let head = SealedHead::of(&rows[..3]);
        assert_eq!(check_head(&rows, "v", &head), None);
        assert_eq!(check_head(&rows[..3], "v", &head), None);
        assert_eq!(
            check_head(&rows[..2], "v", &head),
            Some(Finding::Truncated {
                version: "v".into(),
                sealed_rows: 3,
                rows: 2
            })
        );
        let other = parse_audit(&log(&key, 4, |i| i != 3));
        assert!(matches!(
            check_head(&other, "v", &head),
            Some(Finding::HeadMismatch { .. })
        ));
        let empty = SealedHead::of(&[]);
        assert_eq!(check_head(&rows, "v", &empty), None);
    }
}
