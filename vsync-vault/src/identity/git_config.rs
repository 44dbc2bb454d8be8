//! A minimal git-config reader: sections, subsections (quoted and legacy dotted), keys, values
//! with quoting, escapes, line continuations and comments. No `includeIf`, no system or global
//! files.

/// One `key = value` line of a git config file, with the section it stands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The section name, lower-cased (`remote`).
    pub section: String,
    /// The subsection (`origin`), as written in the quoted form, lower-cased in the legacy
    /// `[section.subsection]` form.
    pub subsection: Option<String>,
    /// The key, lower-cased (`url`).
    pub key: String,
    /// The value; `None` for a key without `=` (boolean true).
    pub value: Option<String>,
}

impl ConfigEntry {
    fn new(section: &str, subsection: &Option<String>, key: &str, value: Option<String>) -> Self {
        Self {
            section: section.to_owned(),
            subsection: subsection.clone(),
            key: key.to_lowercase(),
            value,
        }
    }
}

/// Parse git-config text into its entries, in file order.
pub(crate) fn parse_git_config(text: &str) -> Vec<ConfigEntry> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut subsection: Option<String> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        // skip whitespace
        while i < n && (chars[i] == ' ' || chars[i] == '\t' || chars[i] == '\n' || chars[i] == '\r')
        {
            i += 1;
        }
        if i >= n {
            break;
        }
        match chars[i] {
            '#' | ';' => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
            }
            '[' => {
                i += 1;
                let mut name = String::new();
                while i < n
                    && chars[i] != ']'
                    && chars[i] != '"'
                    && chars[i] != ' '
                    && chars[i] != '\t'
                    && chars[i] != '\n'
                {
                    name.push(chars[i]);
                    i += 1;
                }
                while i < n && (chars[i] == ' ' || chars[i] == '\t') {
                    i += 1;
                }
                let mut sub = None;
                if i < n && chars[i] == '"' {
                    i += 1;
                    let mut s = String::new();
                    while i < n && chars[i] != '"' && chars[i] != '\n' {
                        if chars[i] == '\\' && i + 1 < n {
                            i += 1;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                    i += 1; // closing quote
                    sub = Some(s);
                }
                while i < n && chars[i] != ']' && chars[i] != '\n' {
                    i += 1;
                }
                i += 1; // ']'
                // Legacy [section.subsection] form.
                if sub.is_none()
                    && let Some((a, b)) = name.split_once('.')
                {
                    sub = Some(b.to_lowercase());
                    name = a.to_owned();
                }
                section = name.to_lowercase();
                subsection = sub;
            }
            _ => {
                let mut k = String::new();
                while i < n && (chars[i].is_ascii_alphanumeric() || chars[i] == '-') {
                    k.push(chars[i]);
                    i += 1;
                }
                if k.is_empty() {
                    // garbage: skip the line
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                while i < n && (chars[i] == ' ' || chars[i] == '\t') {
                    i += 1;
                }
                if i >= n || chars[i] != '=' {
                    // boolean key (or garbage until end of line)
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                    out.push(ConfigEntry::new(&section, &subsection, &k, None));
                    continue;
                }
                i += 1; // '='
                let mut v = String::new();
                let mut in_quote = false;
                let mut pending_ws = String::new();
                while i < n {
                    let c = chars[i];
                    if c == '\n' {
                        break;
                    }
                    if c == '\\' && i + 1 < n {
                        let d = chars[i + 1];
                        i += 2;
                        let esc = match d {
                            '\n' => None,
                            '\r' if i < n && chars[i] == '\n' => {
                                i += 1;
                                None
                            }
                            'n' => Some('\n'),
                            't' => Some('\t'),
                            'b' => Some('\u{8}'),
                            other => Some(other),
                        };
                        if let Some(e) = esc {
                            if !v.is_empty() {
                                v.push_str(&pending_ws);
                            }
                            pending_ws.clear();
                            v.push(e);
                        }
                        continue;
                    }
                    if c == '"' {
                        in_quote = !in_quote;
                        i += 1;
                        continue;
                    }
                    if !in_quote && (c == '#' || c == ';') {
                        while i < n && chars[i] != '\n' {
                            i += 1;
                        }
                        break;
                    }
                    if !in_quote && (c == ' ' || c == '\t' || c == '\r') {
                        pending_ws.push(c);
                        i += 1;
                        continue;
                    }
                    if !v.is_empty() {
                        v.push_str(&pending_ws);
                    }
                    pending_ws.clear();
                    v.push(c);
                    i += 1;
                }
                out.push(ConfigEntry::new(&section, &subsection, &k, Some(v)));
            }
        }
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_config_parsing() {
        let cfg = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = nope\n[Remote \"origin\"]\n\tURL = \"git@h:a/b.git\" ; comment\n\tfetch = +refs/*\n[remote.Other]\n url = x\n";
        let entries = parse_git_config(cfg);
        let url = entries
            .iter()
            .rev()
            .find(|e| {
                e.section == "remote" && e.subsection.as_deref() == Some("origin") && e.key == "url"
            })
            .and_then(|e| e.value.clone());
        assert_eq!(url.as_deref(), Some("git@h:a/b.git"));
        assert!(entries.iter().any(|e| e.section == "remote"
            && e.subsection.as_deref() == Some("other")
            && e.value.as_deref() == Some("x")));
        let e = parse_git_config("[a]\nk = one \\\n two # c\nb\n");
        assert_eq!(e[0].value.as_deref(), Some("one  two"));
        assert_eq!(
            e[1],
            ConfigEntry {
                section: "a".into(),
                subsection: None,
                key: "b".into(),
                value: None
            }
        );
    }
}
