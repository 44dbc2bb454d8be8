//! Bucket I/O on file:// and S3: conditional writes, races, error mapping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vsync_vault::StoreError;
use vsync_vault::audit::{self, AppendOutcome, AuditRow};
use vsync_vault::store::{Bucket, Expected, StoreSpec};

use crate::both_backends;
use crate::common::{TestBucket, race, unique};

async fn basic_ops(tb: TestBucket) {
    let b = &tb.bucket;
    let p = unique("basic");
    let k = format!("{p}/dir/obj");
    assert!(b.get(&k).await.unwrap().is_none());
    assert!(b.head(&k).await.unwrap().is_none());
    b.put_create(&k, b"one".to_vec()).await.unwrap();
    assert!(matches!(
        b.put_create(&k, b"two".to_vec()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let f = b.get(&k).await.unwrap().unwrap();
    assert_eq!(&f.bytes[..], b"one");
    let e1 = f.etag.clone().unwrap();
    assert!(!e1.contains('"'), "etag must be unquoted: {e1}");
    assert_eq!(b.head(&k).await.unwrap().as_deref(), Some(e1.as_str()));

    assert!(matches!(
        b.put_swap(&k, b"x".to_vec(), Expected::Etag("not-the-etag".into()))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        b.put_swap(&k, b"x".to_vec(), Expected::Absent).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Same length as before, so a size-only ETag would not notice.
    let e2 = b
        .put_swap(&k, b"two".to_vec(), Expected::Etag(e1.clone()))
        .await
        .unwrap();
    assert_ne!(e1, e2);
    assert!(!e2.contains('"'));
    let f = b.get(&k).await.unwrap().unwrap();
    assert_eq!(&f.bytes[..], b"two");
    assert_eq!(f.etag.as_deref(), Some(e2.as_str()));
    // The old ETag no longer works; quoted forms of the current one do.
    assert!(matches!(
        b.put_swap(&k, b"3".to_vec(), Expected::Etag(e1)).await,
        Err(StoreError::Conflict { .. })
    ));
    let e3 = b
        .put_swap(&k, b"333".to_vec(), Expected::Etag(format!("\"{e2}\"")))
        .await
        .unwrap();
    // If-Match on a missing key is a conflict.
    assert!(matches!(
        b.put_swap(&format!("{p}/missing"), b"x".to_vec(), Expected::Etag(e3))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Create-only through put_swap returns the ETag.
    let e4 = b
        .put_swap(&format!("{p}/new"), b"n".to_vec(), Expected::Absent)
        .await
        .unwrap();
    assert_eq!(b.head(&format!("{p}/new")).await.unwrap(), Some(e4));

    b.put(&format!("{p}/dir/a"), b"a".to_vec()).await.unwrap();
    b.put(&format!("{p}/dir/a"), b"aa".to_vec()).await.unwrap();
    b.put(&format!("{p}/dir/sub/b"), b"b".to_vec())
        .await
        .unwrap();
    assert_eq!(
        b.list(&format!("{p}/dir/")).await.unwrap(),
        vec![
            format!("{p}/dir/a"),
            format!("{p}/dir/obj"),
            format!("{p}/dir/sub/b")
        ]
    );
    b.delete(&format!("{p}/dir/a")).await.unwrap();
    b.delete(&format!("{p}/dir/a")).await.unwrap();
    assert!(b.get(&format!("{p}/dir/a")).await.unwrap().is_none());
    assert!(b.list(&format!("{p}/nothing/")).await.unwrap().is_empty());

    assert!(b.probe_conditional(&format!("{p}/.probe")).await.unwrap());
    assert!(b.get(&format!("{p}/.probe")).await.unwrap().is_none());
}
both_backends!(basic, super::basic_ops);

async fn create_race(tb: TestBucket) {
    let b = Arc::new(tb.bucket.clone());
    let k = format!("{}/race", unique("create_race"));
    let results = race(8, |i| {
        let b = b.clone();
        let k = k.clone();
        async move { b.put_create(&k, vec![i; 10]).await }
    })
    .await;
    let mut ok = 0;
    let mut exists = 0;
    for result in results {
        match result {
            Ok(()) => ok += 1,
            Err(StoreError::AlreadyExists { .. }) => exists += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, exists), (1, 7));
}
both_backends!(create_only_race, super::create_race);

async fn swap_race(tb: TestBucket) {
    let b = Arc::new(tb.bucket.clone());
    let k = format!("{}/cas", unique("swap_race"));
    b.put_create(&k, b"base".to_vec()).await.unwrap();
    let etag = b.head(&k).await.unwrap().unwrap();
    for round in 0..3 {
        let etag = b.head(&k).await.unwrap().unwrap();
        let results = race(8, |i| {
            let b = b.clone();
            let k = k.clone();
            let e = etag.clone();
            async move {
                b.put_swap(&k, vec![round, i, 0, 0], Expected::Etag(e))
                    .await
            }
        })
        .await;
        let mut winners = Vec::new();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(e) => winners.push((i, e)),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        let f = b.get(&k).await.unwrap().unwrap();
        assert_eq!(f.bytes[1] as usize, winners[0].0);
        assert_eq!(f.etag.as_deref(), Some(winners[0].1.as_str()));
    }
    let _ = etag;
}
both_backends!(compare_and_swap_race, super::swap_race);

async fn audit_append(tb: TestBucket) {
    let b = &tb.bucket;
    let key = format!("{}/audit.csv", unique("audit"));
    let row = |action: &str, note: &str| AuditRow {
        ts: vsync_vault::ts::iso_now(),
        action: action.into(),
        version_ts: "20260523-114201".into(),
        hostname: "host, with comma".into(),
        meta: if note.is_empty() {
            String::new()
        } else {
            format!("{{\"note\":\"{note}\"}}")
        },
        vsync_version: "0.1.0".into(),
        ..Default::default()
    };
    for (i, a) in ["push", "pull", "export"].iter().enumerate() {
        match audit::append(b, &key, &row(a, &format!("n{i}"))).await {
            AppendOutcome::Appended { attempts } => assert_eq!(attempts, 1),
            other => panic!("{other:?}"),
        }
    }
    let text = String::from_utf8(b.get(&key).await.unwrap().unwrap().bytes.to_vec()).unwrap();
    assert!(text.starts_with(&format!("{}\n", audit::HEADER)));
    assert_eq!(text.matches(audit::HEADER).count(), 1);
    let rows = audit::read(b, &key).await.unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["push", "pull", "export"]);
    assert_eq!(rows[0].hostname, "host, with comma");
    assert_eq!(rows[1].meta, "{\"note\":\"n1\"}");

    // Concurrent appends: every reported success is in the log, nothing is lost or duplicated.
    let b2 = Arc::new(b.clone());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let b2 = b2.clone();
        let key = key.clone();
        let r = row("push", &format!("c{i}"));
        tasks.push(tokio::spawn(
            async move { audit::append(&b2, &key, &r).await },
        ));
    }
    let mut appended = 0;
    for t in tasks {
        match t.await.unwrap() {
            AppendOutcome::Appended { .. } => appended += 1,
            AppendOutcome::Failed(
                StoreError::Conflict { .. } | StoreError::AlreadyExists { .. },
            ) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(appended >= 1);
    let rows = audit::read(b, &key).await.unwrap();
    assert_eq!(rows.len(), 3 + appended);
}
both_backends!(audit_log, super::audit_append);

#[cfg(unix)]
#[tokio::test]
async fn file_store_permissions_and_hidden_lock() {
    use std::os::unix::fs::PermissionsExt;
    let tb = crate::common::file_bucket();
    let root = tb.root.clone().unwrap();
    tb.bucket
        .put_create("repo/dev/versions/x.enc", b"s".to_vec())
        .await
        .unwrap();
    tb.bucket
        .put("repo/dev/latest", b"x".to_vec())
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("repo")), 0o700);
    assert_eq!(mode(&root.join("repo/dev/versions")), 0o700);
    assert_eq!(mode(&root.join("repo/dev/versions/x.enc")), 0o600);
    assert_eq!(mode(&root.join("repo/dev/latest")), 0o600);
    // The lock file and staging files never show up as objects.
    assert_eq!(
        tb.bucket.list("").await.unwrap(),
        vec![
            "repo/dev/latest".to_owned(),
            "repo/dev/versions/x.enc".to_owned()
        ]
    );
}

/// Two processes' worth of CAS on one file store: separate `Bucket`s opened on the same root.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_cas_across_handles() {
    let d = tempfile::tempdir().unwrap();
    let spec = StoreSpec::File {
        root: d.path().join("s"),
    };
    let handles: Vec<Bucket> = (0..8).map(|_| Bucket::open(&spec).unwrap()).collect();
    handles[0].put_create("k", b"0".to_vec()).await.unwrap();
    let etag = handles[0].head("k").await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        let e = etag.clone();
        tasks.push(tokio::spawn(async move {
            h.put_swap("k", vec![i as u8], Expected::Etag(e)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}

#[tokio::test]
async fn unreachable_endpoint_fails_fast() {
    let port = closed_port();
    let spec = StoreSpec::S3 {
        bucket: "b".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "very-secret-value".into(),
        allow_http: true,
    };
    let b = Bucket::open(&spec).unwrap();
    let start = Instant::now();
    let err = b.get("x/latest").await.unwrap_err();
    let took = start.elapsed();
    match &err {
        StoreError::Unreachable { endpoint, reason } => {
            assert_eq!(endpoint, &format!("http://127.0.0.1:{port}"));
            assert_eq!(reason, "connection refused");
        }
        other => panic!("{other:?}"),
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let shown = format!("{err} {err:?} {b:?}");
    assert!(!shown.contains("very-secret-value"), "{shown}");
    let err = b.put_create("x/k", b"v".to_vec()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    println!("unreachable after {took:?}");
}

#[tokio::test]
async fn s3_wrong_secret_is_access_denied() {
    let Some(b) = crate::common::s3_bucket_edited(|_, secret| {
        *secret = "definitely-wrong-secret".into();
    }) else {
        return;
    };
    for err in crate::common::read_and_create_denied(&b, "SignatureDoesNotMatch").await {
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("definitely-wrong-secret"), "{shown}");
        assert!(shown.contains("s3://"), "{shown}");
    }
}

#[tokio::test]
async fn s3_missing_bucket() {
    let Some(b) = crate::common::s3_bucket_edited(|bucket, _| {
        *bucket = format!("nope-{}", crate::common::rand_hex(4));
    }) else {
        return;
    };
    // S3 answers 404 NoSuchBucket: that must not look like "nothing pushed".
    for err in [
        b.get("x/latest").await.unwrap_err(),
        b.list("x/").await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::BucketMissing { .. }), "{err:?}");
    }
}
