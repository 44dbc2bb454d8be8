//! The "Environment" section of `vsync --help` and docs/cli.md, made from the variable list so
//! the two cannot drift from what the code reads.

use super::environment::{Group, LIBRARY_VARS, Var};

/// The section as plain text, one variable a line.
pub fn environment_section() -> String {
    let mut out =
        String::from("Environment (precedence: flag > environment > config file > default):\n");
    let width = Var::ALL.iter().map(|v| v.name().len()).max().unwrap_or(0);
    for (title, group) in [("vsync's own", Group::Vsync), ("standard", Group::Standard)] {
        out.push_str(&format!("\n  {title}:\n"));
        for v in Var::ALL.iter().filter(|v| v.group() == group) {
            out.push_str(&format!("    {:<width$}  {}\n", v.name(), v.meaning()));
        }
    }
    out.push_str("\n  read by the store and destination libraries:\n");
    for (names, meaning) in LIBRARY_VARS {
        out.push_str(&format!("    {names}\n    {:<width$}  {meaning}\n", ""));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_variable_is_in_the_section() {
        let text = super::environment_section();
        for v in super::Var::ALL {
            assert!(text.contains(v.name()), "{} missing", v.name());
        }
    }
}
