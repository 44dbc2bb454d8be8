//! Concurrent pushes to one env: the conditional write lets exactly one through.

use std::sync::{Arc, Barrier};

use super::World;

/// Every one of `machines` (teammates of `a` on env `prod`) pulls, edits and pushes at the same
/// moment: exactly one push wins, the others are refused with "remote advanced", and a machine
/// from `fresh` then pulls the winner's complete bundle.
pub fn exactly_one_push_wins(a: &World, mut machines: Vec<World>, fresh: impl FnOnce() -> World) {
    let base = a.latest_version("prod");
    for (i, m) in machines.iter_mut().enumerate() {
        m.vsync(&["pull", "prod"]).ok();
        std::fs::write(
            m.vault("prod").join(".env.prod"),
            format!("K=edit-{i}-secret\n"),
        )
        .unwrap();
        m.secret(&format!("edit-{i}-secret"));
    }
    let barrier = Arc::new(Barrier::new(machines.len()));
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = machines
            .iter()
            .map(|m| {
                let barrier = barrier.clone();
                s.spawn(move || {
                    barrier.wait();
                    m.vsync(&["push", "prod"])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let codes: Vec<_> = results.iter().map(|r| (r.code, r.stderr.clone())).collect();
    assert_eq!(
        results.iter().filter(|r| r.code == 0).count(),
        1,
        "{codes:?}"
    );
    for r in results.into_iter().filter(|r| r.code != 0) {
        r.code(5).stderr_has("remote advanced — pull first");
    }
    // latest names a complete bundle that a fresh machine can pull.
    assert_ne!(a.latest_version("prod"), base);
    let fresh = fresh();
    fresh.vsync(&["pull", "prod"]).ok();
    assert!(
        fresh.env_text("prod").starts_with("K=edit-"),
        "the winner's content"
    );
}
