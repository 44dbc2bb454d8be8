//! The scope a destination manages: drift behind its back, and prune deleting only its own.

use super::join;
use super::observe;
use crate::ChangeOp;
use crate::conformance::Tamper;
use crate::conformance::run::{Res, Run, Scene};

pub(super) async fn drift(run: &mut Run<'_>) -> Res<()> {
    const CHECK: &str = "drift";
    let Scene {
        r,
        caps,
        items,
        names,
        mut eng,
    } = run.written(CHECK, "drift").await?;
    let Some(how) = run.fx.tamper(&r, &names[0]).await else {
        return Err(run.fail(CHECK, "the fixture could not change the secret"));
    };
    let want = match how {
        Tamper::Changed if !caps.can_read_values => {
            run.skip(
                CHECK,
                "write-only: a value changed behind its back cannot be seen",
            );
            return Ok(());
        }
        Tamper::Changed => ChangeOp::Update,
        Tamper::Deleted => ChangeOp::Create,
    };
    let (p, out) = match eng.sync(&items, false).await {
        Ok(v) => v,
        Err(e) => return run.check(CHECK, Err(e)),
    };
    run.saw_plan(&p);
    run.saw_outcomes(&out);
    let ops: Vec<ChangeOp> = out.iter().map(|o| o.planned).collect();
    if ops != [want, ChangeOp::Unchanged] {
        return Err(run.fail(
            CHECK,
            format!(
                "{} {how:?} behind its back: expected {}, unchanged; planned {}",
                names[0],
                want.as_str(),
                join(ops.iter().map(|o| o.as_str()))
            ),
        ));
    }
    run.all_ok(CHECK, &out)?;
    observe::read_back(run, CHECK, &r, &caps, &names, &items, false).await?;
    observe::stored(run, CHECK, &r, &names, &items, false).await?;
    run.ok(
        CHECK,
        format!(
            "{} {how:?} behind its back: planned as {} and restored",
            names[0],
            want.as_str()
        ),
    );
    observe::clean_up(run, &r, &caps, &names).await;
    Ok(())
}

/// Prune as the engine does it: listed names that left the vault are deleted. So the listing
/// must hold the tool's own names only: a foreign secret in the scope must survive.
pub(super) async fn prune(run: &mut Run<'_>) -> Res<()> {
    const CHECK: &str = "prune";
    let Scene {
        r,
        caps,
        items,
        names,
        mut eng,
    } = run.written(CHECK, "prune").await?;
    if !(caps.can_list && caps.can_delete) {
        run.skip(CHECK, "cannot list and delete: --prune is refused for it");
        return Ok(());
    }
    let foreign = run.fx.plant_foreign(&r).await;
    let listed = observe::listed(run, "list (managed scope)", &r, &names, true, false).await?;
    if let Some(f) = foreign.iter().find(|f| listed.contains(f)) {
        return Err(run.fail(
            "list (managed scope)",
            format!("{f} is listed, but the tool did not write it: prune would delete it"),
        ));
    }
    let foreign_note = if foreign.is_empty() {
        String::new()
    } else {
        format!(", {} foreign secret(s) left out", foreign.len())
    };
    run.ok(
        "list (managed scope)",
        format!("{} name(s) listed{foreign_note}", listed.len()),
    );

    // B leaves the vault. Without --prune it stays.
    let kept = &items[..1];
    let p = eng.plan(kept, false).await;
    let p = run.check("plan (no prune)", p)?;
    run.saw_plan(&p);
    if let Some(n) = p.deletions().first() {
        return Err(run.fail(
            "plan (no prune)",
            format!("{n} planned for deletion without --prune"),
        ));
    }
    let out = eng.apply(&p, kept).await;
    run.saw_outcomes(&out);
    run.all_ok("plan (no prune)", &out)?;
    observe::listed(run, "plan (no prune)", &r, &names, true, false).await?;
    run.ok("plan (no prune)", "nothing deleted without --prune");

    // With it, B (and only B) goes.
    let p = eng.plan(kept, true).await;
    let p = run.check(CHECK, p)?;
    run.saw_plan(&p);
    let doomed = p.deletions();
    if let Some(n) = doomed.iter().find(|n| ***n != names[1]) {
        // Never applied: in a scope the user gave, that could be one of theirs.
        return Err(run.fail(
            CHECK,
            format!(
                "would delete {n}, which this check did not write (give an empty scratch scope)"
            ),
        ));
    }
    if doomed.is_empty() {
        return Err(run.fail(
            CHECK,
            format!(
                "{} left the vault but is not planned for deletion",
                names[1]
            ),
        ));
    }
    let out = eng.apply(&p, kept).await;
    run.saw_outcomes(&out);
    run.all_ok(CHECK, &out)?;
    observe::listed(run, CHECK, &r, &names[..1], true, false).await?;
    observe::listed(run, CHECK, &r, &names[1..], false, false).await?;
    for f in &foreign {
        if run.fx.stored(&r, f).await == Some(None) {
            return Err(run.fail(CHECK, format!("the foreign secret {f} was deleted")));
        }
    }
    observe::stored(run, CHECK, &r, &names[1..], &[], false).await?;
    run.ok(
        CHECK,
        format!(
            "{} deleted; {} and {} foreign secret(s) kept",
            names[1],
            names[0],
            foreign.len()
        ),
    );
    observe::clean_up(run, &r, &caps, &names[..1]).await;
    Ok(())
}
