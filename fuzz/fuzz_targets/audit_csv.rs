//! The audit log reader (`audit.csv` is bucket-controlled text): any text parses without a
//! panic, and a row we write back out parses to the same fields. The chain (docs/audit-chain.md):
//! walking any text never panics, and a row chained onto any log that has a header reads back
//! as verified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_vault::audit;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = audit::parse_csv(&text);
    for row in audit::parse_audit(&text) {
        let header = audit::COLUMNS.join(",");
        let rewritten = format!("{header}\n{}", row.to_csv_line());
        let back = audit::parse_audit(&rewritten);
        if row.to_csv_line().trim_matches(['\n', ',']).is_empty() {
            continue; // an all-empty row is a blank record, skipped by design
        }
        assert_eq!(back.len(), 1, "one written row must read back as one row");
        assert_eq!(back[0].to_csv_line(), row.to_csv_line());
    }

    let key = audit::ChainKey::derive(&[1u8; 32]);
    let before = audit::parse_audit(&text);
    let _ = audit::walk(&key, &before);
    let row = audit::AuditRow {
        ts: "2026-05-23T11:42:03.120Z".into(),
        action: "push".into(),
        hostname: "fuzz, host".into(),
        meta: "{\"note\":\"a \"\"quoted\"\" one\"}".into(),
        ..Default::default()
    };
    let body = audit::appended_body(Some(&text), &row, Some(&key));
    let after = audit::parse_audit(&body);
    let walked = audit::walk(&key, &after);
    // When the new line became a row of its own, carrying its chain cell, it verifies.
    let own = after.len() == before.len() + 1
        && after
            .last()
            .and_then(|r| audit::ChainCell::parse(r.chain()))
            .map(|c| c.seq)
            == Some(after.len() as u64);
    if own {
        assert_eq!(
            walked.rows.last(),
            Some(&audit::RowCheck::Verified),
            "a chained row must verify"
        );
    }
});
