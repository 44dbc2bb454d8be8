//! What moved between a pinned plan and the same plan made again now. Anything listed here
//! makes `sync --apply` refuse (exit 5): the vault's bundle or generation, a target's routing,
//! an operation (added, gone, other op, other value), or a name's remote state.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::format::{OpRecord, PlanFile, RemoteRecord, TargetPlan};

/// One thing that moved, by where: `vault`, a target id, or `target/remote-name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// `vault`, `<target>` or `<target>/<name>`.
    pub at: String,
    /// What changed (names and ops only).
    pub what: String,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

fn moved(at: impl Into<String>, what: impl Into<String>) -> Moved {
    Moved {
        at: at.into(),
        what: what.into(),
    }
}

/// Everything that differs between `pinned` and `now` (same repo, env and targets assumed:
/// the caller checked them). Empty: the plan still holds.
pub fn compare(pinned: &PlanFile, now: &PlanFile) -> Vec<Moved> {
    let mut out = Vec::new();
    if pinned.bundle_ts != now.bundle_ts {
        out.push(moved(
            "vault",
            format!(
                "planned from bundle {}, latest is now {} (pushed since)",
                pinned.bundle_ts, now.bundle_ts
            ),
        ));
    }
    if pinned.generation != now.generation {
        let g = |g: Option<u64>| g.map_or_else(|| "none".to_owned(), |g| g.to_string());
        out.push(moved(
            "vault",
            format!(
                "generation was {}, now {} (the key was rotated)",
                g(pinned.generation),
                g(now.generation)
            ),
        ));
    }
    let fresh: BTreeMap<&str, &TargetPlan> =
        now.targets.iter().map(|t| (t.id.as_str(), t)).collect();
    for t in &pinned.targets {
        match fresh.get(t.id.as_str()) {
            Some(n) => target(t, n, &mut out),
            None => out.push(moved(t.id.as_str(), "could not be planned again")),
        }
    }
    out
}

fn target(pinned: &TargetPlan, now: &TargetPlan, out: &mut Vec<Moved>) {
    let id = pinned.id.as_str();
    let keys: BTreeSet<&String> = pinned.routing.keys().chain(now.routing.keys()).collect();
    for k in keys {
        let (a, b) = (pinned.routing.get(k), now.routing.get(k));
        if a != b {
            let show =
                |v: Option<&serde_json::Value>| v.map_or("(unset)".to_owned(), |v| v.to_string());
            out.push(moved(
                id,
                format!("routing {k} was {}, now {}", show(a), show(b)),
            ));
        }
    }
    let ops_now: BTreeMap<&str, &OpRecord> = now.ops.iter().map(|o| (o.name.as_str(), o)).collect();
    let ops_then: BTreeMap<&str, &OpRecord> =
        pinned.ops.iter().map(|o| (o.name.as_str(), o)).collect();
    for o in &pinned.ops {
        let at = format!("{id}/{}", o.name);
        match ops_now.get(o.name.as_str()) {
            None => out.push(moved(
                at,
                format!("planned {}, no longer planned", o.op.as_str()),
            )),
            Some(n) if n.op != o.op => out.push(moved(
                at,
                format!("op was {}, now {}", o.op.as_str(), n.op.as_str()),
            )),
            Some(n) if n.key != o.key => out.push(moved(at, "comes from another env key now")),
            Some(n) if n.fp != o.fp => out.push(moved(at, "the value to write changed")),
            Some(_) => {}
        }
    }
    for n in now
        .ops
        .iter()
        .filter(|n| !ops_then.contains_key(n.name.as_str()))
    {
        out.push(moved(
            format!("{id}/{}", n.name),
            format!("not in the plan, now planned {}", n.op.as_str()),
        ));
    }
    let remote_now: BTreeMap<&str, &RemoteRecord> =
        now.remote.iter().map(|r| (r.name.as_str(), r)).collect();
    for r in &pinned.remote {
        if let Some(n) = remote_now.get(r.name.as_str()) {
            remote(id, r, n, out);
        }
    }
}

fn remote(id: &str, then: &RemoteRecord, now: &RemoteRecord, out: &mut Vec<Moved>) {
    let at = format!("{id}/{}", then.name);
    if then.exists != now.exists {
        let what = match now.exists {
            Some(true) => "was created at the destination since the plan",
            Some(false) => "was deleted at the destination since the plan",
            None => "can no longer be listed",
        };
        out.push(moved(at.clone(), what));
    } else if then.fp != now.fp {
        out.push(moved(
            at.clone(),
            "the value at the destination changed since the plan",
        ));
    }
    if then.receipt != now.receipt {
        out.push(moved(
            at,
            "the sync receipt changed since the plan (another sync wrote it)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan_file::PlanOp;

    fn fp(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn plan() -> PlanFile {
        PlanFile {
            format: super::super::FORMAT.into(),
            repo: "o/r".into(),
            env: "dev".into(),
            bundle_ts: "20261206-100000".into(),
            generation: Some(1),
            created_at: "2026-12-06T10:00:00Z".into(),
            vsync_version: "0".into(),
            prune: false,
            targets: vec![TargetPlan {
                id: "aws".into(),
                routing: serde_json::from_str(r#"{"region":"us-east-1"}"#).unwrap(),
                summary: "region=us-east-1".into(),
                ops: vec![OpRecord {
                    name: "A".into(),
                    key: Some("A".into()),
                    op: PlanOp::Update,
                    fp: Some(fp('a')),
                }],
                remote: vec![RemoteRecord {
                    name: "A".into(),
                    exists: Some(true),
                    fp: Some(fp('b')),
                    receipt: None,
                }],
            }],
            digest: String::new(),
        }
    }

    #[test]
    fn the_same_plan_has_nothing_moved() {
        assert!(compare(&plan(), &plan()).is_empty());
    }

    #[test]
    fn each_kind_of_move_is_named_where_it_happened() {
        let mut now = plan();
        now.bundle_ts = "20261206-110000".into();
        now.targets[0]
            .routing
            .insert("region".into(), "eu-west-1".into());
        now.targets[0].remote[0].fp = Some(fp('c'));
        now.targets[0].ops.push(OpRecord {
            name: "B".into(),
            key: Some("B".into()),
            op: PlanOp::Create,
            fp: Some(fp('d')),
        });
        let got: Vec<String> = compare(&plan(), &now)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "vault: planned from bundle 20261206-100000, latest is now 20261206-110000 (pushed since)",
                "aws: routing region was \"us-east-1\", now \"eu-west-1\"",
                "aws/B: not in the plan, now planned create",
                "aws/A: the value at the destination changed since the plan",
            ]
        );
        let mut now = plan();
        now.targets[0].ops[0].op = PlanOp::Unchanged;
        now.targets[0].remote[0].receipt = Some(fp('e'));
        let got: Vec<String> = compare(&plan(), &now)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "aws/A: op was update, now unchanged",
                "aws/A: the sync receipt changed since the plan (another sync wrote it)",
            ]
        );
        let mut now = plan();
        now.targets[0].ops[0].fp = Some(fp('f'));
        now.generation = Some(2);
        let got: Vec<String> = compare(&plan(), &now)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "vault: generation was 1, now 2 (the key was rotated)",
                "aws/A: the value to write changed",
            ]
        );
    }
}
