//! The plan as Markdown, for a pull-request comment: per target a table of op, remote name and
//! shortened fingerprint. Names and fingerprints only, like the file.

use std::fmt::Write;

use super::format::{PlanFile, PlanOp};

/// Hex digits of a fingerprint shown: enough to tell values apart at a glance.
const FP_SHOWN: usize = 12;

/// The summary of `plan`; `file` is the plan's path as the apply job will name it.
pub fn render(plan: &PlanFile, file: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### vsync plan for {} / {}\n",
        code(&plan.repo),
        code(&plan.env)
    );
    let mut head = format!("Bundle {}", code(&plan.bundle_ts));
    if let Some(g) = plan.generation {
        let _ = write!(head, " (generation {g})");
    }
    let _ = writeln!(
        s,
        "{head} · plan digest {} · made {}\n",
        code(plan.short_digest()),
        plan.created_at
    );
    for t in &plan.targets {
        let count = |op: PlanOp| t.ops.iter().filter(|o| o.op == op).count();
        let _ = writeln!(s, "#### {} ({})\n", cell(&t.id), cell(&t.summary));
        let _ = writeln!(
            s,
            "{} create, {} update, {} unchanged, {} upsert, {} delete\n",
            count(PlanOp::Create),
            count(PlanOp::Update),
            count(PlanOp::Unchanged),
            count(PlanOp::Upsert),
            count(PlanOp::Delete)
        );
        if t.ops.is_empty() {
            continue;
        }
        s.push_str("| op | remote name | fingerprint |\n| --- | --- | --- |\n");
        for o in &t.ops {
            let fp =
                o.fp.as_deref()
                    .map_or_else(|| "—".to_owned(), |f| code(f.get(..FP_SHOWN).unwrap_or(f)));
            let _ = writeln!(s, "| {} | {} | {fp} |", o.op.as_str(), code(&o.name));
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Apply exactly this plan with `vsync sync --apply {}`; it is refused if the vault, the routing or a destination changed since.",
        file.replace('`', "")
    );
    s
}

/// Text inside a table cell: pipes escaped, line breaks gone (names come from configs and
/// plugins).
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A code span that no backtick in `text` can close early.
fn code(text: &str) -> String {
    let t = cell(text);
    if t.contains('`') {
        format!("`` {t} ``")
    } else {
        format!("`{t}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan_file::{OpRecord, TargetPlan};

    #[test]
    fn one_row_per_op_with_a_short_fingerprint_and_escaped_names() {
        let plan = PlanFile {
            format: crate::sync::plan_file::FORMAT.into(),
            repo: "o/r".into(),
            env: "dev".into(),
            bundle_ts: "20261206-100000".into(),
            generation: None,
            created_at: "2026-12-06T10:00:00Z".into(),
            vsync_version: "0".into(),
            prune: true,
            targets: vec![TargetPlan {
                id: "github".into(),
                routing: serde_json::Map::new(),
                summary: "repo=o/r".into(),
                ops: vec![
                    OpRecord {
                        name: "A|B".into(),
                        key: Some("A".into()),
                        op: PlanOp::Create,
                        fp: Some("0123456789abcdef".repeat(4)),
                    },
                    OpRecord {
                        name: "OLD".into(),
                        key: None,
                        op: PlanOp::Delete,
                        fp: None,
                    },
                ],
                remote: Vec::new(),
            }],
            digest: "f".repeat(64),
        };
        let md = render(&plan, "plan.json");
        assert!(md.contains("| create | `A\\|B` | `0123456789ab` |"), "{md}");
        assert!(md.contains("| delete | `OLD` | — |"), "{md}");
        assert!(md.contains("1 create, 0 update, 0 unchanged, 0 upsert, 1 delete"));
        assert!(md.contains("plan digest `ffffffffffffffff`"));
        assert!(
            !md.contains("0123456789abcdef0"),
            "fingerprints are shortened"
        );
    }
}
