//! Looking at the destination after a write: its listing, its read-back, and what the service
//! really stores (through the fixture).

use super::join;
use crate::conformance::run::{Res, Run};
use crate::{Capabilities, RemoteName, Routing, SecretBytes, SecretItem};

/// Whether the listing shows (`present`) or no longer shows `names`. With `report`, an ok line
/// (or a skip line when the destination cannot list).
pub(super) async fn listed(
    run: &mut Run<'_>,
    check: &str,
    r: &Routing,
    names: &[RemoteName],
    present: bool,
    report: bool,
) -> Res<Vec<RemoteName>> {
    if !run.d.capabilities(r).can_list {
        if report {
            run.skip(check, "cannot list (prune will not be offered)");
        }
        return Ok(Vec::new());
    }
    let got = run.d.list(r, &run.ctx).await;
    let Some(listed) = run.check(check, got)? else {
        return Err(run.fail(
            check,
            "capabilities say it can list, but list answered None",
        ));
    };
    run.saw(join(&listed));
    let wrong: Vec<&RemoteName> = names
        .iter()
        .filter(|n| listed.contains(n) != present)
        .collect();
    if !wrong.is_empty() {
        let want = if present { "missing from" } else { "still in" };
        return Err(run.fail(check, format!("{} {want} the listing", join(wrong))));
    }
    if report {
        run.ok(
            check,
            format!("{} name(s) in the managed scope", listed.len()),
        );
    }
    Ok(listed)
}

/// Reads `names` back and compares with `items` (same order); a name nobody wrote must be
/// absent from the answer. Write-only destinations must answer None.
pub(super) async fn read_back(
    run: &mut Run<'_>,
    check: &str,
    r: &Routing,
    caps: &Capabilities,
    names: &[RemoteName],
    items: &[SecretItem],
    report: bool,
) -> Res<()> {
    // A name nobody wrote, spelled as the destination spells names.
    let absent = run.d.map_name(r, "VSYNC_CHECK_ABSENT").ok();
    let mut ask = names.to_vec();
    ask.extend(absent.clone());
    let got = run.d.read_values(r, &ask, &run.ctx).await;
    if !caps.can_read_values {
        match got {
            Ok(None) | Err(_) => {}
            Ok(Some(_)) => {
                return Err(run.fail(
                    check,
                    "capabilities say write-only, yet read_values answered values",
                ));
            }
        }
        if report {
            run.skip(check, "write-only: the engine keeps a receipt instead");
        }
        return Ok(());
    }
    let Some(got) = run.check(check, got)? else {
        return Err(run.fail(
            check,
            "capabilities say it can read values, but read_values answered None",
        ));
    };
    let wrong: Vec<&str> = names
        .iter()
        .zip(items)
        .filter(|(n, it)| got.get(*n).map(SecretBytes::expose) != Some(it.value.expose()))
        .map(|(_, it)| it.key.as_str())
        .collect();
    if !wrong.is_empty() {
        return Err(run.fail(check, format!("read back differs for {}", join(wrong))));
    }
    if let Some(absent) = absent.filter(|a| got.contains_key(a)) {
        return Err(run.fail(
            check,
            format!("answered a value for {absent}, which was never written"),
        ));
    }
    if report {
        run.ok(check, "every value read back as written");
    }
    Ok(())
}

/// What the service stores under `names` equals `items` (or, for an empty `items`, nothing is
/// stored), when the fixture can look. Returns whether it could.
pub(super) async fn stored(
    run: &mut Run<'_>,
    check: &str,
    r: &Routing,
    names: &[RemoteName],
    items: &[SecretItem],
    report: bool,
) -> Res<bool> {
    let mut looked = false;
    for (i, n) in names.iter().enumerate() {
        let Some(held) = run.fx.stored(r, n).await else {
            return Ok(false);
        };
        looked = true;
        let want = items.get(i).map(|it| it.value.expose());
        match (held.as_deref(), want) {
            (Some(h), Some(w)) if h == w => {}
            (None, None) => {}
            (Some(_), Some(_)) => {
                return Err(run.fail(check, format!("the service holds other bytes under {n}")));
            }
            (None, Some(_)) => {
                return Err(run.fail(check, format!("the service holds nothing under {n}")));
            }
            (Some(_), None) => {
                return Err(run.fail(check, format!("the service still holds {n}")));
            }
        }
    }
    if report && looked {
        let what = if items.is_empty() {
            "the service holds none of them"
        } else {
            "the service holds exactly the values written"
        };
        run.ok(check, what);
    }
    Ok(looked)
}

/// Deletes what a case wrote, where it can; a failure here is reported, it does not hide the
/// case's verdict.
pub(super) async fn clean_up(
    run: &mut Run<'_>,
    r: &Routing,
    caps: &Capabilities,
    names: &[RemoteName],
) {
    if !caps.can_delete {
        return;
    }
    for n in names {
        if let Err(e) = run.d.delete_one(r, n, &run.ctx).await {
            run.saw_err(&e);
            let _ = run.fail("clean up", format!("{n}: {e}"));
            return;
        }
    }
}
