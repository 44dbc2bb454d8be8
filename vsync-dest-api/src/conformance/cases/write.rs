//! The write cycle: create in an empty scope, the same again, one change, deletion.

use super::observe;
use super::{KEY_A, KEY_B, join};
use crate::conformance::drive::{Engine, Outcome};
use crate::conformance::run::{Res, Run, Scene};
use crate::{ChangeOp, Plan, RemoteName, SecretItem, WriteMode};

/// The ops of `plan` for `names`, in that order.
fn ops_for(plan: &Plan, names: &[RemoteName]) -> Vec<Option<ChangeOp>> {
    names
        .iter()
        .map(|n| plan.changes.iter().find(|c| c.remote == *n).map(|c| c.op))
        .collect()
}

/// How the apply step says what it wrote.
fn written(out: &[Outcome], bulk: bool) -> String {
    let n = out.iter().filter(|o| o.planned.is_write()).count();
    if bulk {
        format!("bulk write, {n} outcome(s)")
    } else {
        format!("{n} key(s) written one by one")
    }
}

/// Plans `items` and records the plan's strings; fails `check` on an error or a plan that
/// carries a value.
async fn plan(run: &mut Run<'_>, check: &str, eng: &Engine<'_>, items: &[SecretItem]) -> Res<Plan> {
    let p = eng.plan(items, false).await;
    let p = run.check(check, p)?;
    run.saw_plan(&p);
    let json = serde_json::to_string(&p).unwrap_or_default();
    let debug = format!("{p:?}");
    if items.iter().any(|i| {
        let v = String::from_utf8_lossy(i.value.expose());
        json.contains(v.as_ref()) || debug.contains(v.as_ref())
    }) {
        return Err(run.fail(check, "the plan carries a secret value"));
    }
    Ok(p)
}

pub(super) async fn create(run: &mut Run<'_>) -> Res<()> {
    let (r, caps) = run.scope().await?;
    // A binary value where the destination takes them: it must come back byte for byte.
    let b = if caps.binary_values {
        run.binary_value("first")
    } else {
        run.value("first")
    };
    let mut items = run.items(&[KEY_A], "first");
    items.push(SecretItem::plain(KEY_B, b));
    let names = run.mapped("plan", &r, &items)?;
    let ctx = run.ctx.clone();
    let mut eng = Engine::new(run.d, &r, &ctx);
    let p = plan(run, "plan", &eng, &items).await?;
    for (n, op) in names.iter().zip(ops_for(&p, &names)) {
        match op {
            Some(ChangeOp::Create | ChangeOp::Upsert) => {}
            Some(op) => {
                let op = op.as_str();
                return Err(run.fail("plan", format!("{n} planned as {op} in an empty scope")));
            }
            None => return Err(run.fail("plan", format!("{n} is missing from the plan"))),
        }
    }
    let count = p.changes.len();
    run.ok("plan", format!("{count} change(s), no value in the plan"));
    let out = eng.apply(&p, &items).await;
    run.saw_outcomes(&out);
    run.all_ok("apply", &out)?;
    if let Some(o) = out
        .iter()
        .find(|o| o.result.as_ref().is_ok_and(|op| !op.is_write()))
    {
        let name = &o.name;
        return Err(run.fail("apply", format!("{name}: nothing was written")));
    }
    run.ok(
        "apply",
        written(&out, caps.write_mode == WriteMode::BulkAtomic),
    );
    observe::stored(run, "stored", &r, &names, &items, true).await?;
    observe::listed(run, "list", &r, &names, true, true).await?;
    observe::read_back(run, "read_values", &r, &caps, &names, &items, true).await?;
    observe::clean_up(run, &r, &caps, &names).await;
    Ok(())
}

pub(super) async fn idempotent(run: &mut Run<'_>) -> Res<()> {
    const CHECK: &str = "plan (again)";
    let Scene {
        r,
        caps,
        items,
        names,
        mut eng,
    } = run.written(CHECK, "same").await?;
    let before = run.fx.writes(&r).await;
    // The destination's own plan may leave existence open (Upsert), never claim a create.
    let raw = run.d.plan(&r, &items, &Default::default(), &run.ctx).await;
    let raw = run.check(CHECK, raw)?;
    run.saw_plan(&raw);
    if let Some(c) = raw.changes.iter().find(|c| c.op == ChangeOp::Create) {
        let n = &c.remote;
        return Err(run.fail(
            CHECK,
            format!("{n} planned as create right after it was written"),
        ));
    }
    let p = plan(run, CHECK, &eng, &items).await?;
    let ops = ops_for(&p, &names);
    if let Some((n, op)) = names
        .iter()
        .zip(&ops)
        .find(|(_, op)| **op != Some(ChangeOp::Unchanged))
    {
        let op = op.map_or("missing", ChangeOp::as_str);
        return Err(run.fail(CHECK, format!("{n} planned as {op} though nothing changed")));
    }
    let how = if caps.can_read_values {
        "read back"
    } else {
        "write-only: by the receipt"
    };
    run.ok(CHECK, format!("all {} unchanged ({how})", names.len()));
    let out = eng.apply(&p, &items).await;
    run.saw_outcomes(&out);
    run.all_ok("apply (again)", &out)?;
    if let (Some(b), Some(a)) = (before, run.fx.writes(&r).await) {
        if a != b {
            return Err(run.fail(
                "apply (again)",
                format!("the service took {} write(s)", a - b),
            ));
        }
        run.ok(
            "apply (again)",
            "nothing written (the service counted no write)",
        );
    }
    observe::clean_up(run, &r, &caps, &names).await;
    Ok(())
}

pub(super) async fn update(run: &mut Run<'_>) -> Res<()> {
    let Scene {
        r,
        caps,
        items: first,
        names,
        mut eng,
    } = run.written("plan (update)", "first").await?;
    let before = run.fx.writes(&r).await;
    let second = vec![
        SecretItem::plain(KEY_A, run.value("second")),
        first[1].clone(),
    ];
    let p = plan(run, "plan (update)", &eng, &second).await?;
    let ops = ops_for(&p, &names);
    if ops != [Some(ChangeOp::Update), Some(ChangeOp::Unchanged)] {
        let got = join(ops.iter().map(|o| o.map_or("missing", ChangeOp::as_str)));
        return Err(run.fail(
            "plan (update)",
            format!("expected update, unchanged for {}; got {got}", join(&names)),
        ));
    }
    run.ok("plan (update)", format!("{} change(s)", p.changes.len()));
    let out = eng.apply(&p, &second).await;
    run.saw_outcomes(&out);
    run.all_ok("apply (update)", &out)?;
    match out.iter().find(|o| o.name == names[0]).map(|o| &o.result) {
        Some(Ok(ChangeOp::Update | ChangeOp::Upsert)) => {}
        Some(Ok(op)) => {
            let op = op.as_str();
            return Err(run.fail(
                "apply (update)",
                format!("{} answered {op}, not update", names[0]),
            ));
        }
        _ => return Err(run.fail("apply (update)", format!("{} was not applied", names[0]))),
    }
    let mut detail = "1 key updated".to_owned();
    if let (Some(b), Some(a)) = (before, run.fx.writes(&r).await) {
        if a != b + 1 {
            return Err(run.fail(
                "apply (update)",
                format!("the service took {} write(s) for one changed value", a - b),
            ));
        }
        detail.push_str(", one write at the service");
    }
    run.ok("apply (update)", detail);
    observe::read_back(
        run,
        "read_values (update)",
        &r,
        &caps,
        &names,
        &second,
        true,
    )
    .await?;
    observe::stored(run, "stored (update)", &r, &names, &second, true).await?;
    observe::clean_up(run, &r, &caps, &names).await;
    Ok(())
}

pub(super) async fn delete(run: &mut Run<'_>) -> Res<()> {
    let Scene { r, caps, names, .. } = run.written("delete_one", "doomed").await?;
    if !caps.can_delete {
        run.skip("delete_one", "cannot delete: the scratch keys stay behind");
        return Ok(());
    }
    for n in &names {
        let res = run.d.delete_one(&r, n, &run.ctx).await;
        if let Err(e) = res {
            run.saw_err(&e);
            return Err(run.fail("delete_one", format!("{n}: {e}")));
        }
    }
    run.ok("delete_one", format!("{} key(s) deleted", names.len()));
    observe::listed(run, "list (after delete)", &r, &names, false, true).await?;
    observe::stored(run, "stored (after delete)", &r, &names, &[], true).await?;
    Ok(())
}
