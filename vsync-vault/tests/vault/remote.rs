//! The publish / pull protocol against file:// and S3.

use std::sync::Arc;

use vsync_crypto::kdf::DerivedKey;
use vsync_vault::freshness::{Floor, parse_floor};
use vsync_vault::remote::{Manifest, pull_bundle, pull_version, seal_bundle};
use vsync_vault::store::Expected;
use vsync_vault::zip_bundle::{ZipLimits, build, extract_vault};
use vsync_vault::{Category, Prefix, Remote, StoreError, VaultError};

use crate::both_backends;
use crate::common::{TestBucket, race, unique};

fn key(b: u8) -> DerivedKey {
    DerivedKey::from_bytes([b; 32])
}

fn remote(tb: &TestBucket, name: &str) -> Remote {
    Remote::new(
        tb.bucket.clone(),
        Prefix::new(&unique(name), "dev").unwrap(),
    )
}

fn ts(i: u32) -> String {
    format!("20260523-1142{i:02}")
}

async fn publish_and_pull(tb: TestBucket) {
    let r = remote(&tb, "publish");
    let k = key(1);
    assert!(r.latest().await.unwrap().is_none());
    assert!(matches!(
        pull_bundle(&r, &k, &Floor::none()).await,
        Err(VaultError::NothingPushed)
    ));
    assert!(r.list_versions().await.unwrap().is_empty());

    // A real vault through the whole path.
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("infra/vault/dev");
    std::fs::create_dir_all(v.join("tls")).unwrap();
    std::fs::write(v.join(".env.dev"), "A=1\n").unwrap();
    std::fs::write(v.join("tls/c.pem"), "pem").unwrap();
    let zip = build(d.path(), "infra/vault/dev").unwrap();
    let sealed = seal_bundle(&k, &ts(1), &zip).unwrap();
    let p1 = r.publish(&ts(1), sealed, None).await.unwrap();
    assert_eq!(p1.ts, ts(1));
    let latest = r.latest().await.unwrap().unwrap();
    assert_eq!(latest, p1);
    let (got_ts, got_zip) = pull_bundle(&r, &k, &Floor::none()).await.unwrap();
    assert_eq!(got_ts, ts(1));
    assert_eq!(*got_zip, *zip);
    let staged = d.path().join("staging");
    extract_vault(&got_zip, &staged, &ZipLimits::default()).unwrap();
    assert_eq!(std::fs::read(staged.join("tls/c.pem")).unwrap(), b"pem");

    // Upstream's pointer body: exactly the 15 bytes.
    let raw = tb.raw(&r.prefix.latest_key()).await;
    assert_eq!(raw, ts(1).as_bytes());

    // Second push on top of the first.
    let p2 = r
        .publish(&ts(2), seal_bundle(&k, &ts(2), b"zip2").unwrap(), Some(&p1))
        .await
        .unwrap();
    // A push based on the stale pointer loses, and its version object is removed again.
    match r
        .publish(&ts(3), seal_bundle(&k, &ts(3), b"zip3").unwrap(), Some(&p1))
        .await
    {
        Err(e @ VaultError::RemoteAdvanced { .. }) => {
            assert_eq!(e.category(), Category::Conflict);
            let VaultError::RemoteAdvanced {
                remote_ts,
                local_ts,
            } = e
            else {
                unreachable!()
            };
            assert_eq!((remote_ts, local_ts), (ts(2), ts(1)));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        tb.bucket
            .get(&r.prefix.version_key(&ts(3)))
            .await
            .unwrap()
            .is_none()
    );
    // "No pointer" expectation against an existing pointer loses too.
    assert!(matches!(
        r.publish(&ts(4), seal_bundle(&k, &ts(4), b"z").unwrap(), None)
            .await,
        Err(VaultError::RemoteAdvanced { .. })
    ));
    // Same second as an existing version.
    assert!(matches!(
        r.publish(&ts(2), seal_bundle(&k, &ts(2), b"z").unwrap(), None)
            .await,
        Err(VaultError::VersionExists { .. })
    ));
    // Not newer than the pointer.
    assert!(matches!(
        r.publish(&ts(2), b"x".to_vec(), Some(&p2)).await,
        Err(VaultError::NotNewer { .. })
    ));
    assert_eq!(r.list_versions().await.unwrap(), vec![ts(2), ts(1)]);
    assert_eq!(&*pull_version(&r, &k, &ts(1)).await.unwrap(), &*zip);
    assert_eq!(pull_bundle(&r, &k, &Floor::none()).await.unwrap().0, ts(2));
    // The floor: a pointer older than what the reader has seen is a rollback, even though the
    // version it names is genuine.
    let seen = parse_floor(&ts(3)).unwrap();
    assert!(matches!(
        pull_bundle(&r, &k, &seen).await,
        Err(VaultError::Rollback { .. })
    ));
    assert_eq!(
        pull_bundle(&r, &k, &parse_floor(&ts(2)).unwrap())
            .await
            .unwrap()
            .0,
        ts(2)
    );

    // Wrong key → integrity (WrongPassphraseError).
    match pull_bundle(&r, &key(9), &Floor::none()).await {
        Err(VaultError::Integrity { class, .. }) => assert_eq!(class, "WrongPassphraseError"),
        other => panic!("{other:?}"),
    }
    // Pointer redirected to a bundle sealed under another ts → integrity (BundleCorruptError).
    let v1 = tb.raw(&r.prefix.version_key(&ts(1))).await;
    tb.plant(&r.prefix.version_key(&ts(8)), v1).await;
    tb.plant(&r.prefix.latest_key(), ts(8).into_bytes()).await;
    match pull_bundle(&r, &k, &Floor::none()).await {
        Err(VaultError::Integrity { class, .. }) => assert_eq!(class, "BundleCorruptError"),
        other => panic!("{other:?}"),
    }
    // Pointer naming a missing version.
    tb.plant(&r.prefix.latest_key(), format!("{}\n", ts(9)).into_bytes())
        .await;
    assert_eq!(r.latest().await.unwrap().unwrap().ts, ts(9));
    match pull_bundle(&r, &k, &Floor::none()).await {
        Err(e @ VaultError::VersionMissing { .. }) => assert_eq!(e.category(), Category::NotFound),
        other => panic!("{other:?}"),
    }
    // Garbage pointer, blank pointer.
    tb.plant(&r.prefix.latest_key(), b"../../etc".to_vec())
        .await;
    assert!(matches!(
        r.latest().await,
        Err(VaultError::Integrity { .. })
    ));
    tb.plant(&r.prefix.latest_key(), b" \n".to_vec()).await;
    assert!(r.latest().await.unwrap().unwrap().is_empty());
    assert!(matches!(
        pull_bundle(&r, &k, &Floor::none()).await,
        Err(VaultError::NothingPushed)
    ));
}
both_backends!(publish_pull, super::publish_and_pull);

async fn concurrent_publish(tb: TestBucket) {
    let r = Arc::new(remote(&tb, "concurrent"));
    let k = Arc::new(key(2));
    // Round 1: first push ever, 8 racers with no pointer.
    // Round 2: 8 racers on the same expected pointer.
    let mut expected = None;
    for round in 0..2u32 {
        let results = race(8, |i| {
            let r = r.clone();
            let k = k.clone();
            let exp = expected.clone();
            async move {
                let t = format!("2026052{}-1200{:02}", 3 + round, i);
                let sealed = seal_bundle(&k, &t, format!("zip-{round}-{i}").as_bytes()).unwrap();
                (t.clone(), r.publish(&t, sealed, exp.as_ref()).await)
            }
        })
        .await;
        let mut ok = Vec::new();
        let mut advanced = 0;
        for result in results {
            match result {
                (t, Ok(p)) => ok.push((t, p)),
                (_, Err(VaultError::RemoteAdvanced { .. })) => advanced += 1,
                (_, Err(e)) => panic!("{e:?}"),
            }
        }
        assert_eq!((ok.len(), advanced), (1, 7), "round {round}");
        let (win_ts, win_ptr) = ok.pop().unwrap();
        assert_eq!(r.latest().await.unwrap().unwrap(), win_ptr);
        let (pulled_ts, zip) = pull_bundle(&r, &k, &Floor::none()).await.unwrap();
        assert_eq!(pulled_ts, win_ts);
        assert!(zip.starts_with(format!("zip-{round}-").as_bytes()));
        // Losers' version objects are gone: exactly one version per round.
        assert_eq!(r.list_versions().await.unwrap().len(), round as usize + 1);
        expected = Some(win_ptr);
    }
}
both_backends!(concurrent_publish_one_winner, super::concurrent_publish);

async fn manifest_cell(tb: TestBucket) {
    let r = remote(&tb, "manifest");
    assert!(r.read_manifest().await.unwrap().is_none());
    // The runtime libraries' legacy cell is read as a fallback.
    tb.plant(&r.prefix.legacy_meta_key(), br#"{"gen":2}"#.to_vec())
        .await;
    let cell = r.read_manifest().await.unwrap().unwrap();
    assert_eq!(cell.manifest.current_gen(), 2);
    assert!(cell.key.ends_with("latest.meta"));
    // Our cell wins once written; conditional writes.
    let m = cell.manifest.bumped("2026-05-23T11:42:01.234Z");
    let e = r.write_manifest(&m, Expected::Absent).await.unwrap();
    assert!(matches!(
        r.write_manifest(&m, Expected::Absent).await,
        Err(VaultError::Store(
            vsync_vault::StoreError::AlreadyExists { .. }
        ))
    ));
    let cell = r.read_manifest().await.unwrap().unwrap();
    assert_eq!(cell.manifest, m);
    assert_eq!(cell.etag.as_deref(), Some(e.as_str()));
    let raw = tb.raw(&r.prefix.manifest_key()).await;
    assert_eq!(
        raw,
        br#"{"gen":3,"prev_gen":2,"rotated_at":"2026-05-23T11:42:01.234Z"}"#
    );
    let m2 = m.bumped("later");
    r.write_manifest(&m2, Expected::Etag(e.clone()))
        .await
        .unwrap();
    assert!(
        r.write_manifest(&m2.bumped("x"), Expected::Etag(e))
            .await
            .is_err()
    );
    tb.plant(&r.prefix.manifest_key(), b"[1]".to_vec()).await;
    assert!(matches!(
        r.read_manifest().await,
        Err(VaultError::ManifestMalformed { .. })
    ));
    let _ = Manifest::default();
    // Receipts.
    assert!(r.read_receipt("github").await.unwrap().is_none());
    r.write_receipt("github", b"sealed".to_vec()).await.unwrap();
    assert_eq!(
        &r.read_receipt("github").await.unwrap().unwrap()[..],
        b"sealed"
    );
}
both_backends!(manifest_and_receipts, super::manifest_cell);

/// A `latest`, generation cell or receipt bigger than vsync ever writes is refused by its size
/// (an integrity error naming the object), not read into memory; one at the bound still reads.
async fn oversized_objects(tb: TestBucket) {
    let name = unique("oversized");
    let prefix = Prefix::new(&name, "dev").unwrap();
    let r = Remote::new(tb.bucket.clone(), prefix.clone());
    let too_large = |e: VaultError, key: &str| {
        assert_eq!(e.category(), Category::Integrity, "{e}");
        match &e {
            VaultError::Store(StoreError::TooLarge { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("not written by vsync"), "{e}");
    };
    tb.plant(&prefix.latest_key(), vec![b' '; 64 * 1024 + 1])
        .await;
    too_large(r.latest().await.unwrap_err(), &prefix.latest_key());
    tb.plant(&prefix.manifest_key(), vec![b' '; 64 * 1024 + 1])
        .await;
    too_large(r.read_manifest().await.unwrap_err(), &prefix.manifest_key());

    let at_bound = vec![7u8; 16 * 1024 * 1024];
    tb.plant(&prefix.receipt_key("github"), at_bound.clone())
        .await;
    let got = r.read_receipt("github").await.unwrap().unwrap();
    assert_eq!(got.len(), at_bound.len());
    let mut over = at_bound;
    over.push(7);
    tb.plant(&prefix.receipt_key("aws"), over).await;
    too_large(
        r.read_receipt("aws").await.unwrap_err(),
        &prefix.receipt_key("aws"),
    );
}

both_backends!(oversized_objects_refused, super::oversized_objects);
