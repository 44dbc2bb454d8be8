//! JavaScript's whitespace classes, for the formats whose reference reader trims with
//! `String.prototype.trim` (the env file, the `.vsync` pin, remote URLs).

/// `String.prototype.trim` whitespace: WhiteSpace and LineTerminator, BOM included.
pub(crate) fn is_js_ws(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\n'
                | '\r'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
    )
}

/// JavaScript's LineTerminator: what a `.` in a regular expression does not match.
pub(crate) fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}
