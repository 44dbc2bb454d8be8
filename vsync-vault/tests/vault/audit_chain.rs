//! The audit chain under concurrent appends on real stores: writers that race each other (and an
//! upstream-style writer that does not chain) never make the chain look tampered, because each
//! chained row is computed from the log its conditional write replaces.

use std::sync::Arc;

use vsync_vault::StoreError;
use vsync_vault::audit::{self, AppendOutcome, AuditRow, ChainKey, RowCheck};

use crate::both_backends;
use crate::common::{TestBucket, unique};

fn row(action: &str, n: usize) -> AuditRow {
    AuditRow {
        ts: vsync_vault::ts::iso_now(),
        action: action.into(),
        hostname: format!("host-{n}, racing"),
        meta: format!("{{\"note\":\"w{n}\"}}"),
        ..Default::default()
    }
}

async fn racing_chained_appends(tb: TestBucket) {
    let b = Arc::new(tb.bucket.clone());
    let key_name = format!("{}/audit.csv", unique("chain"));
    let key = Arc::new(ChainKey::derive(&[5u8; 32]));
    // An upstream row first (no chain), then racing writers: six chained, two unchained.
    audit::append(&b, &key_name, &row("pull", 0)).await;
    let mut tasks = Vec::new();
    for n in 1..=8 {
        let (b, key_name, key) = (b.clone(), key_name.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let chain = (n % 4 != 0).then_some(&*key);
            let mut outcome = audit::append_chained(&b, &key_name, &row("push", n), chain).await;
            // Three lost races in a row give up (upstream's rule); the caller may try again.
            while matches!(
                outcome,
                AppendOutcome::Failed(
                    StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }
                )
            ) {
                outcome = audit::append_chained(&b, &key_name, &row("push", n), chain).await;
            }
            outcome
        }));
    }
    for t in tasks {
        match t.await.unwrap() {
            AppendOutcome::Appended { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let rows = audit::read(&b, &key_name).await.unwrap();
    assert_eq!(rows.len(), 9);
    let walked = audit::walk(&key, &rows);
    assert!(walked.findings.is_empty(), "{:?}", walked.findings);
    let verified = walked
        .rows
        .iter()
        .filter(|c| **c == RowCheck::Verified)
        .count();
    assert_eq!(verified, 6);
    assert_eq!(walked.rows[0], RowCheck::Unchained);
    // Every writer's row is there once.
    for n in 1..=8 {
        let note = format!("{{\"note\":\"w{n}\"}}");
        assert_eq!(rows.iter().filter(|r| r.meta == note).count(), 1, "w{n}");
    }
}
both_backends!(audit_chain_races, super::racing_chained_appends);
