//! Failures: how the service's refusals are classified, and that none of them echoes a value.

use std::time::Duration;

use super::KEY_A;
use crate::conformance::Fault;
use crate::conformance::drive::Engine;
use crate::conformance::run::{Res, Run};
use crate::{DestError, DestErrorKind, PlanOptions, SecretBytes, SecretItem};

/// Whether `e` names the key it concerns (the env key, or its remote name: §15.7).
fn names_key(e: &DestError, remote: &crate::RemoteName) -> bool {
    e.key.as_deref() == Some(KEY_A) || e.key.as_deref() == Some(remote.as_str())
}

/// The one error of a one-key apply, or a failing `check` if it succeeded.
async fn apply_error(
    run: &mut Run<'_>,
    check: &str,
    eng: &mut Engine<'_>,
    items: &[SecretItem],
    fault: Fault,
) -> Res<DestError> {
    let p = eng.plan(items, false).await;
    let p = run.check(check, p)?;
    run.saw_plan(&p);
    if !run.fx.inject(fault).await {
        return Err(run.fail(check, "the fixture could not inject the failure"));
    }
    let out = eng.apply(&p, items).await;
    run.saw_outcomes(&out);
    match out.into_iter().find_map(|o| o.result.err()) {
        Some(e) => Ok(e),
        None => Err(run.fail(
            check,
            format!(
                "HTTP {} from the service, yet the write succeeded",
                fault.status
            ),
        )),
    }
}

pub(super) async fn retryable(run: &mut Run<'_>) -> Res<()> {
    let (r, _) = run.scope().await?;
    let items = run.items(&[KEY_A], "retry");
    let ctx = run.ctx.clone();
    let mut eng = Engine::new(run.d, &r, &ctx);
    let names = run.mapped("rate_limited", &r, &items)?;

    let after = Duration::from_secs(1);
    let fault = Fault {
        status: 429,
        retry_after: Some(after),
        times: Some(1),
    };
    let e = apply_error(run, "rate_limited", &mut eng, &items, fault).await?;
    let problem = if e.kind != DestErrorKind::RateLimited || !e.retryable() {
        Some(format!("429 answered as {} ({e})", e.kind.as_str()))
    } else if e.retry_after != Some(after) {
        Some(format!(
            "the service said retry after 1s; the error carries {:?}",
            e.retry_after
        ))
    } else if !names_key(&e, &names[0]) {
        Some(format!("the error does not name the key {KEY_A}: {e}"))
    } else {
        None
    };
    if let Some(p) = problem {
        return Err(run.fail("rate_limited", p));
    }
    // The refused write left nothing behind.
    super::observe::stored(run, "rate_limited", &r, &names, &[], false).await?;
    run.ok(
        "rate_limited",
        "429 is rate_limited (retried), with the service's retry-after, naming the key",
    );

    // The engine's retry.
    let (p, out) = match eng.sync(&items, false).await {
        Ok(v) => v,
        Err(e) => return run.check("retry", Err(e)),
    };
    run.saw_plan(&p);
    run.saw_outcomes(&out);
    run.all_ok("retry", &out)?;
    super::observe::stored(run, "retry", &r, &names, &items, false).await?;
    run.ok("retry", "the retry wrote the value");

    let changed = vec![SecretItem::plain(KEY_A, run.value("retry"))];
    let fault = Fault {
        status: 500,
        retry_after: None,
        times: None,
    };
    let e = apply_error(run, "transient", &mut eng, &changed, fault).await?;
    if e.kind != DestErrorKind::Transient || !e.retryable() {
        return Err(run.fail(
            "transient",
            format!("HTTP 500 answered as {} ({e})", e.kind.as_str()),
        ));
    }
    if !names_key(&e, &names[0]) {
        return Err(run.fail(
            "transient",
            format!("the error does not name the key {KEY_A}: {e}"),
        ));
    }
    run.ok(
        "transient",
        "HTTP 500 is transient (retried), naming the key",
    );
    Ok(())
}

/// Provokes refusals with values attached (a refused name, a value too large, bytes for a
/// text-only destination) and checks that no answer carries the value. Only planning is asked:
/// nothing is written.
pub(super) async fn leaks(run: &mut Run<'_>) -> Res<()> {
    const CHECK: &str = "no value leaks";
    let (r, caps) = run.scope().await?;
    let mut provoked: Vec<(&str, SecretItem)> = vec![
        ("a refused name", SecretItem::plain("", run.value("leak"))),
        (
            "a name with a space",
            SecretItem::plain("VSYNC CHECK", run.value("leak")),
        ),
    ];
    if let Some(max) = caps.max_value_bytes.filter(|m| *m <= 8 << 20) {
        let unit = run.value("big");
        let mut big = Vec::with_capacity(max + unit.len());
        while big.len() <= max {
            big.extend_from_slice(unit.expose());
        }
        provoked.push((
            "a value over the size limit",
            SecretItem::plain(KEY_A, SecretBytes::new(big)),
        ));
    }
    if !caps.binary_values {
        provoked.push((
            "a binary value",
            SecretItem::plain(KEY_A, run.binary_value("leak")),
        ));
    }
    let mut answers = 0;
    for (_, item) in &provoked {
        let items = std::slice::from_ref(item);
        let _ = run.d.map_name(&r, &item.key).map_err(|e| run.saw_err(&e));
        match run
            .d
            .plan(&r, items, &PlanOptions::default(), &run.ctx)
            .await
        {
            Ok(p) => run.saw_plan(&p),
            Err(e) => run.saw_err(&e),
        }
        run.saw(format!("{item:?}"));
        answers += 2;
    }
    let what = provoked
        .iter()
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(", ");
    run.ok(
        CHECK,
        format!("{answers} answers to {what}: no value in any (checked when the case ends)"),
    );
    Ok(())
}
