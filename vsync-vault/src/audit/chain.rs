//! The audit chain (docs/audit-chain.md): each row vsync writes carries, in a trailing `chain`
//! column, an HMAC-SHA256 over the previous chain cell, its own row number, the rows written since
//! that cell by tools that do not chain, and its own ten fields. The key is derived from the
//! vault key under its own label, so only holders of the vault key can extend the chain.
//!
//! Writer and verifier agree on the link purely from the text of the log: "previous" is the last
//! row with a non-empty chain cell, whoever wrote it; the rows after it are covered.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::AuditRow;

type HmacSha256 = Hmac<Sha256>;

/// The header name of the chain column (appended on the right of upstream's ten).
pub const CHAIN_COLUMN: &str = "chain";

/// The label the chain key is derived under: `HMAC-SHA256(vault key, label)`.
pub const CHAIN_LABEL: &str = "vsync-audit-chain-v1";

/// The label of the key id (which key chained a row, so a rotated key is told from tampering).
const KEY_ID_LABEL: &str = "vsync-audit-chain-key-id-v1";

/// The version tag every chain cell starts with.
const CELL_TAG: &str = "c1";

/// The key that chains rows, derived from the vault key. Zeroized on drop; never printed.
pub struct ChainKey {
    mac_key: Zeroizing<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn hmac_once(key: &[u8], msg: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    Zeroizing::new(m.finalize().into_bytes().into())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl ChainKey {
    /// Derive the chain key and its id from the vault key bytes.
    pub fn derive(vault_key: &[u8]) -> Self {
        let mac_key = hmac_once(vault_key, CHAIN_LABEL.as_bytes());
        let id = hex(&hmac_once(vault_key, KEY_ID_LABEL.as_bytes())[..4]);
        Self { mac_key, id }
    }

    /// The 8-hex-digit key id written into each cell (a PRF output: reveals nothing of the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, prev: &str, seq: u64, covered: &[&AuditRow], row: &AuditRow) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&*self.mac_key).expect("any key length");
        m.update(&canonical(prev, seq, covered, row));
        m
    }

    /// The chain cell of `row` as row number `seq` after `prev`, covering `covered`.
    pub fn cell(&self, prev: &str, seq: u64, covered: &[&AuditRow], row: &AuditRow) -> ChainCell {
        let mac = self
            .mac(prev, seq, covered, row)
            .finalize()
            .into_bytes()
            .into();
        ChainCell {
            key_id: self.id.clone(),
            seq,
            mac,
        }
    }

    /// Whether `cell` is the MAC of `row` after `prev` (constant-time comparison).
    pub fn verifies(
        &self,
        prev: &str,
        cell: &ChainCell,
        covered: &[&AuditRow],
        row: &AuditRow,
    ) -> bool {
        self.mac(prev, cell.seq, covered, row)
            .verify_slice(&cell.mac)
            .is_ok()
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u64).to_be_bytes());
    out.extend_from_slice(field);
}

fn put_row(out: &mut Vec<u8>, row: &AuditRow) {
    for f in row.fields() {
        put(out, f.as_bytes());
    }
}

/// The bytes a chain MAC is computed over: every variable-length item is prefixed by its
/// length (u64 big-endian), so no choice of field contents can make two different rows encode
/// alike (a comma-joined encoding could). Layout: tag, previous cell, row number (u64 BE),
/// number of covered rows (u64 BE), each covered row's ten fields, this row's ten fields.
pub fn canonical(prev: &str, seq: u64, covered: &[&AuditRow], row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    put(&mut out, CELL_TAG.as_bytes());
    put(&mut out, prev.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(covered.len() as u64).to_be_bytes());
    for r in covered {
        put_row(&mut out, r);
    }
    put_row(&mut out, row);
    out
}

/// A parsed chain cell: `c1.<key id>.<row number>.<hex MAC>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCell {
    /// Which key chained the row (8 lowercase hex digits).
    pub key_id: String,
    /// The row's number in the log (1-based, header excluded) when it was written.
    pub seq: u64,
    /// HMAC-SHA256 over [`canonical`].
    pub mac: [u8; 32],
}

impl ChainCell {
    /// Parse a cell; `None` when it is not exactly the form vsync writes.
    pub fn parse(text: &str) -> Option<Self> {
        let lower_hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let mut parts = text.split('.');
        let (tag, id, seq, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || tag != CELL_TAG || !lower_hex(id, 8) || !lower_hex(mac, 64) {
            return None;
        }
        if seq.is_empty() || seq.len() > 19 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq: u64 = seq.parse().ok().filter(|s| *s > 0)?;
        let mut out = [0u8; 32];
        for (i, pair) in mac.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Self {
            key_id: id.to_owned(),
            seq,
            mac: out,
        })
    }
}

impl std::fmt::Display for ChainCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{CELL_TAG}.{}.{}.{}",
            self.key_id,
            self.seq,
            hex(&self.mac)
        )
    }
}

/// Where the chain stands after `rows`: the last non-empty chain cell ("" when none) and the
/// rows written after it (by tools that do not chain), which the next chained row covers.
pub fn tail(rows: &[AuditRow]) -> (&str, Vec<&AuditRow>) {
    match rows.iter().rposition(|r| !r.chain().is_empty()) {
        Some(i) => (rows[i].chain(), rows[i + 1..].iter().collect()),
        None => ("", rows.iter().collect()),
    }
}

/// Chain `row` as the next row after `log` (sets its chain cell).
pub fn chain_row(key: &ChainKey, log: &[AuditRow], row: &mut AuditRow) {
    let (prev, covered) = tail(log);
    let cell = key.cell(prev, log.len() as u64 + 1, &covered, row);
    row.set_chain(cell.to_string());
}

/// The chain head a push seals inside its bundle (the zip archive comment): how many rows the
/// log had and its last chain cell at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHead {
    /// Rows in the log when the bundle was made.
    pub rows: u64,
    /// The last non-empty chain cell among them ("" when none).
    pub head: String,
}

/// The archive-comment prefix of a sealed head.
pub const HEAD_TAG: &str = "vsync-audit-head/1";

/// A head cell longer than this is not sealed (a vsync cell is 85 bytes; a huge one can only be
/// planted, and a zip comment holds at most 64 KiB).
const HEAD_MAX: usize = 1024;

impl SealedHead {
    /// The head of `log` as it is now.
    pub fn of(log: &[AuditRow]) -> Self {
        Self {
            rows: log.len() as u64,
            head: tail(log).0.to_owned(),
        }
    }

    /// The archive comment: `vsync-audit-head/1 rows=<N> head=<cell or ->`; `None` when the
    /// head cell is not sealable (too long, or has a line break or space).
    pub fn to_comment(&self) -> Option<String> {
        if self.head.len() > HEAD_MAX || self.head.contains(char::is_whitespace) {
            return None;
        }
        let head = if self.head.is_empty() {
            "-"
        } else {
            &self.head
        };
        Some(format!("{HEAD_TAG} rows={} head={head}", self.rows))
    }

    /// Parse an archive comment; `None` when it is not a sealed head.
    pub fn from_comment(comment: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(comment).ok()?;
        let rest = text.strip_prefix(HEAD_TAG)?.strip_prefix(" rows=")?;
        let (rows, head) = rest.split_once(" head=")?;
        if rows.is_empty() || !rows.bytes().all(|b| b.is_ascii_digit()) || head.is_empty() {
            return None;
        }
        Some(Self {
            rows: rows.parse().ok()?,
            head: if head == "-" {
                String::new()
            } else {
                head.to_owned()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str, meta: &str) -> AuditRow {
        AuditRow {
            ts: "2026-05-23T11:42:03.120Z".into(),
            action: action.into(),
            meta: meta.into(),
            ..Default::default()
        }
    }

    #[test]
    fn canonical_encoding_is_length_prefixed() {
        let r = row("push", "");
        let bytes = canonical("", 1, &[], &r);
        // tag (8 + 2), prev (8 + 0), seq 8, covered count 8, ten fields with their lengths.
        let fields: usize = r.fields().iter().map(|f| 8 + f.len()).sum();
        assert_eq!(bytes.len(), 10 + 8 + 8 + 8 + fields);
        assert_eq!(&bytes[..10], b"\0\0\0\0\0\0\0\x02c1");
        assert_eq!(&bytes[18..26], &1u64.to_be_bytes());
        // Moving a comma between fields changes the encoding (a joined encoding would not).
        let mut a = row("push", "");
        a.hostname = "h,x".into();
        let mut b = row("push", "");
        b.hostname = "h".into();
        b.local_ip = "x".into();
        assert_ne!(canonical("", 1, &[], &a), canonical("", 1, &[], &b));
        let mut c = row("push", "");
        c.hostname = "hx".into();
        assert_ne!(canonical("", 1, &[], &c), canonical("", 1, &[], &b));
        // Covered rows are part of it, as a count and their fields.
        let u = row("pull", "");
        assert_ne!(canonical("", 2, &[&u], &r), canonical("", 2, &[], &r));
        assert_ne!(canonical("p", 2, &[], &r), canonical("", 2, &[], &r));
        assert_ne!(canonical("", 2, &[], &r), canonical("", 3, &[], &r));
    }

    #[test]
    fn known_answer() {
        // Pins the label, the encoding and the cell text: a change here breaks every log.
        let key = ChainKey::derive(&[7u8; 32]);
        let cell = key.cell("", 1, &[], &row("push", r#"{"note":"n"}"#));
        let text = cell.to_string();
        // Computed independently (Python hmac/hashlib from docs/audit-chain.md).
        assert_eq!(
            text,
            "c1.c9d7b4c3.1.785c4edcc5da9d5254d788d711335a62d496b5154ea7e8fd81bceb4a161947ee"
        );
        assert_eq!(ChainCell::parse(&text), Some(cell.clone()));
        assert!(text.starts_with(&format!("c1.{}.1.", key.id())));
        assert_eq!(text.len(), 2 + 1 + 8 + 1 + 1 + 1 + 64);
        assert_eq!(
            hex(&*hmac_once(&[7u8; 32], b"vsync-audit-chain-v1")),
            hex(&*key.mac_key)
        );
        assert_eq!(
            text,
            ChainKey::derive(&[7u8; 32])
                .cell("", 1, &[], &row("push", r#"{"note":"n"}"#))
                .to_string()
        );
        let other = ChainKey::derive(&[8u8; 32]);
        assert_ne!(other.id(), key.id());
        assert!(!other.verifies("", &cell, &[], &row("push", r#"{"note":"n"}"#)));
        assert!(key.verifies("", &cell, &[], &row("push", r#"{"note":"n"}"#)));
        assert!(!key.verifies("", &cell, &[], &row("push", r#"{"note":"m"}"#)));
        assert!(!format!("{key:?}").contains(&hex(&*key.mac_key)));
    }

    #[test]
    fn cell_parsing_is_strict() {
        let good = format!("c1.0123abcd.12.{}", "ab".repeat(32));
        assert_eq!(ChainCell::parse(&good).unwrap().seq, 12);
        for bad in [
            String::new(),
            "c1".to_owned(),
            format!("c2.0123abcd.12.{}", "ab".repeat(32)),
            format!("c1.0123ABCD.12.{}", "ab".repeat(32)),
            format!("c1.0123abc.12.{}", "ab".repeat(32)),
            format!("c1.0123abcd.0.{}", "ab".repeat(32)),
            format!("c1.0123abcd.+1.{}", "ab".repeat(32)),
            format!("c1.0123abcd..{}", "ab".repeat(32)),
            format!("c1.0123abcd.99999999999999999999.{}", "ab".repeat(32)),
            format!("c1.0123abcd.1.{}", "ab".repeat(31)),
            format!("c1.0123abcd.1.{}.x", "ab".repeat(32)),
            format!("c1.0123abcd.1.{}é", "ab".repeat(31)),
        ] {
            assert_eq!(ChainCell::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn sealed_head_comment() {
        let h = SealedHead {
            rows: 3,
            head: format!("c1.0123abcd.3.{}", "ab".repeat(32)),
        };
        let c = h.to_comment().unwrap();
        assert_eq!(SealedHead::from_comment(c.as_bytes()), Some(h));
        let empty = SealedHead {
            rows: 0,
            head: String::new(),
        };
        assert_eq!(
            empty.to_comment().as_deref(),
            Some("vsync-audit-head/1 rows=0 head=-")
        );
        assert_eq!(
            SealedHead::from_comment(b"vsync-audit-head/1 rows=0 head=-"),
            Some(empty)
        );
        for bad in [
            &b""[..],
            b"a comment",
            b"vsync-audit-head/1 rows= head=-",
            b"vsync-audit-head/1 rows=x head=-",
            b"vsync-audit-head/1 rows=1 head=",
            b"vsync-audit-head/2 rows=1 head=-",
            b"\xff",
        ] {
            assert_eq!(SealedHead::from_comment(bad), None);
        }
        let planted = SealedHead {
            rows: 1,
            head: "x y".into(),
        };
        assert_eq!(planted.to_comment(), None);
    }

    #[test]
    fn tail_and_chaining() {
        let key = ChainKey::derive(&[1u8; 32]);
        let mut log = vec![row("push", ""), row("pull", "")];
        assert_eq!(tail(&log).0, "");
        assert_eq!(tail(&log).1.len(), 2);
        let mut r = row("push", "");
        chain_row(&key, &log, &mut r);
        let cell = ChainCell::parse(r.chain()).unwrap();
        assert_eq!(cell.seq, 3);
        assert!(key.verifies("", &cell, &[&log[0], &log[1]], &r));
        log.push(r);
        log.push(row("export", ""));
        let (prev, covered) = tail(&log);
        assert_eq!(prev, log[2].chain());
        assert_eq!(covered.len(), 1);
    }
}
