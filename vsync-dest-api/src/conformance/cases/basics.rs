//! Cases that write little or nothing: reachability, name mapping, collisions.

use super::observe;
use super::{KEY_A, join};
use crate::conformance::drive::Engine;
use crate::conformance::run::{Res, Run};
use crate::{DestErrorKind, name_rules};

pub(super) async fn preflight(run: &mut Run<'_>) -> Res<()> {
    let (r, _) = run.scope().await?;
    let res = run.d.preflight(&r, &run.ctx).await;
    run.check("preflight", res)?;
    run.ok("preflight", "reachable, credentials accepted");
    Ok(())
}

/// Both steps are always reported: one does not hide the other.
pub(super) async fn map_name(run: &mut Run<'_>) -> Res<()> {
    let (r, _) = run.scope().await?;
    let a = run.d.map_name(&r, KEY_A);
    let b = run.d.map_name(&r, KEY_A);
    match (a, b) {
        (Ok(a), Ok(b)) if a == b => run.ok("map_name", format!("{KEY_A} -> {a}, stable")),
        (Ok(a), Ok(b)) => run.step(
            "map_name",
            crate::conformance::Verdict::Fail,
            format!("not stable: {a} then {b} (it must be pure)"),
        ),
        (Err(e), _) | (_, Err(e)) => {
            run.saw_err(&e);
            run.step(
                "map_name",
                crate::conformance::Verdict::Fail,
                format!("rejected an ordinary env key: {e}"),
            );
        }
    }
    match run.d.map_name(&r, "") {
        Err(e) if e.kind == DestErrorKind::InvalidName => {
            run.saw_err(&e);
            run.ok("map_name(\"\")", "rejected as InvalidName");
        }
        Err(e) => {
            run.saw_err(&e);
            let kind = e.kind.as_str();
            let _ = run.fail(
                "map_name(\"\")",
                format!("rejected, but as {kind} instead of InvalidName"),
            );
        }
        Ok(n) => {
            let _ = run.fail(
                "map_name(\"\")",
                format!("accepted an empty key (as {n:?})"),
            );
        }
    }
    Ok(())
}

/// Two keys that differ only in case. Where their names collide (by the destination's own
/// `case_insensitive_names`), the engine refuses the target before writing; where they do not,
/// the destination must really keep two secrets.
pub(super) async fn collisions(run: &mut Run<'_>) -> Res<()> {
    const CHECK: &str = "collisions";
    let (r, caps) = run.scope().await?;
    let lower = KEY_A.to_ascii_lowercase();
    let items = run.items(&[KEY_A, &lower], "case");
    let names = match Engine::new(run.d, &r, &run.ctx).map_all(&items) {
        Ok(n) => n,
        Err(e) if e.kind == DestErrorKind::InvalidName => {
            run.saw_err(&e);
            run.ok(
                CHECK,
                format!("{lower} is refused ({e}): nothing can collide"),
            );
            return Ok(());
        }
        Err(e) => return run.check(CHECK, Err(e)),
    };
    let pairs = items.iter().map(|i| i.key.as_str()).zip(names.iter());
    if let Some((name, keys)) = name_rules::collisions(pairs, caps.case_insensitive_names).pop() {
        let keys = join(keys);
        run.ok(
            CHECK,
            format!("{keys} both map to {name}: the engine refuses the target before any write"),
        );
        return Ok(());
    }
    let ctx = run.ctx.clone();
    let mut eng = Engine::new(run.d, &r, &ctx);
    run.setup(&mut eng, &items).await?;
    if caps.can_list {
        observe::listed(run, CHECK, &r, &names, true, false).await?;
    }
    observe::read_back(run, CHECK, &r, &caps, &names, &items, false).await?;
    observe::stored(run, CHECK, &r, &names, &items, false).await?;
    run.ok(
        CHECK,
        format!(
            "{KEY_A} and {lower} are kept apart (as {} and {})",
            names[0], names[1]
        ),
    );
    observe::clean_up(run, &r, &caps, &names).await;
    Ok(())
}
