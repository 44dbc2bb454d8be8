//! `vsync use <env>`: point `./.env` (a symlink) at the vault's `.env.<env>`.

use std::path::{Component, Path, PathBuf};

use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;

/// Run `vsync use`.
pub fn run(env: Option<String>, link: Option<PathBuf>, g: &Global) -> Result<(), CliError> {
    let checkout = context::checkout(g.repo())?;
    let Some(env) = env else {
        let link = checkout.root.join(".env");
        match std::fs::read_link(&link) {
            Ok(t) => output::line(format!(".env -> {}", t.display())),
            Err(_) => output::line("no .env link; run `vsync use <env>`"),
        }
        return Ok(());
    };
    let ctx = EnvContext::load(checkout, &env)?;
    let target = ctx.vault_dir().join(format!(".env.{env}"));
    if !target.is_file() {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("{} does not exist", target.display()),
        )
        .with_hint(format!("vsync pull {env}")));
    }
    let link = link
        .map(|l| ctx.checkout.root.join(l))
        .unwrap_or_else(|| ctx.checkout.root.join(".env"));
    match std::fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::remove_file(&link).map_err(|e| {
                CliError::new(ExitKind::Failed, format!("replace {}: {e}", link.display()))
            })?;
        }
        Ok(_) => {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("{} is a regular file; not touching it", link.display()),
            )
            .with_hint(
                "move it away (its content may belong in the vault), then run `vsync use` again",
            ));
        }
        Err(_) => {}
    }
    let rel = relative(link.parent().unwrap_or(Path::new(".")), &target);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&rel, &link)
        .map_err(|e| CliError::new(ExitKind::Failed, format!("link {}: {e}", link.display())))?;
    #[cfg(not(unix))]
    return Err(CliError::new(
        ExitKind::Failed,
        "symlinks need a Unix system here",
    ));
    if !crate::commands::init::is_ignored(
        &std::fs::read_to_string(ctx.checkout.root.join(".gitignore")).unwrap_or_default(),
        ".env",
    ) {
        output::warn(".env is not in .gitignore");
    }
    output::line(format!("{} -> {}", link.display(), rel.display()));
    Ok(())
}

fn relative(from_dir: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from_dir.components().collect();
    let to_c: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_c[common..] {
        out.push(c.as_os_str());
    }
    out
}
