//! The audit log reader (`audit.csv` is bucket-controlled text): any text parses without a
//! panic, and a row we write back out parses to the same fields.
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
});
