//! The env-file grammar through the public API (the rule-by-rule cases are unit tests).

use vsync_vault::envfile::{key_names, parse_bytes};

#[test]
fn crlf_bom_quotes_and_duplicates() {
    let text =
        b"\xEF\xBB\xBFDB_URL=\"postgres://u:p@h/db\"\r\n# note\r\nAPI_KEY='abc'\r\nAPI_KEY=def\r\n";
    let e = parse_bytes(text).unwrap();
    let got: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("DB_URL", "postgres://u:p@h/db"),
            ("API_KEY", "abc"),
            ("API_KEY", "def")
        ]
    );
    assert_eq!(
        key_names(std::str::from_utf8(text).unwrap()).unwrap(),
        vec!["DB_URL".to_owned(), "API_KEY".to_owned()]
    );
}

#[test]
fn no_value_in_errors_or_debug() {
    let err = parse_bytes(b"OK=1\nTOKEN=sekr\xC3\x28t\n").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("line 2"), "{shown}");
    assert!(!shown.contains("sekr"), "{shown}");
}
