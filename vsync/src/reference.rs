//! The verb reference, generated from the clap grammar so it cannot drift from the binary.
//! `docs/cli.md` holds its output; a test fails when the two differ
//! (`VSYNC_BLESS=1 cargo test -p vsync reference` rewrites the file).

use clap::CommandFactory;

use crate::cli::Cli;

/// The whole reference as Markdown.
pub fn markdown() -> String {
    let mut root = Cli::command().term_width(100);
    root.build();
    let mut out = String::from(
        "# vsync command reference\n\nGenerated from the command-line grammar (`vsync/src/reference.rs`); do not edit by hand.\n\n",
    );
    out.push_str("```text\n");
    out.push_str(&root.render_help().to_string());
    out.push_str("```\n");
    let mut stack: Vec<(String, clap::Command)> = root
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| (format!("vsync {}", c.get_name()), c.clone()))
        .collect();
    stack.reverse();
    while let Some((path, mut cmd)) = stack.pop() {
        out.push_str(&format!("\n## `{path}`\n\n```text\n"));
        out.push_str(&cmd.render_long_help().to_string());
        out.push_str("```\n");
        let mut subs: Vec<_> = cmd
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| (format!("{path} {}", c.get_name()), c.clone()))
            .collect();
        subs.reverse();
        stack.extend(subs);
    }
    out.push_str("\n## Environment\n\n`vsync --help` ends with this list.\n\n```text\n");
    out.push_str(&crate::settings::help::environment_section());
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_cli_md_matches_the_grammar() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
        let want = super::markdown();
        if std::env::var_os("VSYNC_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/cli.md is stale: run `VSYNC_BLESS=1 cargo test -p vsync reference` and commit it"
        );
    }
}
