//! The template through the `Destination` trait, as the engine drives it (the loaded-plugin path
//! is covered by `vsync plugins check` in vsync's e2e tests).

use vsync_dest_api::{
    Change, ChangeOp, Ctx, DestErrorKind, Destination, RemoteName, Routing, SecretBytes, SecretItem,
};
use vsync_dest_template::Template;

fn routing(dir: &std::path::Path, prefix: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("dir".into(), dir.display().to_string().into());
    r.insert("prefix".into(), prefix.into());
    r
}

fn item(key: &str, value: &str) -> SecretItem {
    SecretItem::plain(key, SecretBytes::from_str_value(value))
}

/// `key`'s change with `op`, through the trait's provided `apply_one` (which routes it).
async fn apply(
    d: &Template,
    r: &Routing,
    op: ChangeOp,
    key: &str,
    value: Option<&str>,
) -> Result<ChangeOp, vsync_dest_api::DestError> {
    let it = value.map(|v| item(key, v));
    let remote = d.map_name(r, key).unwrap();
    let change = Change {
        source_key: Some(key.into()),
        remote,
        op,
    };
    d.apply_one(r, &change, it.as_ref(), &Ctx::new("dev", "app"))
        .await
}

async fn write(d: &Template, r: &Routing, key: &str, value: &str) -> ChangeOp {
    apply(d, r, ChangeOp::Upsert, key, Some(value))
        .await
        .unwrap()
}

#[tokio::test]
async fn writes_reads_back_and_prunes_only_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let r = routing(dir.path(), "APP_");
    let d = Template;
    let ctx = Ctx::new("dev", "app");
    d.preflight(&r, &ctx).await.unwrap();

    assert_eq!(write(&d, &r, "DB_PASS", "pw-1").await, ChangeOp::Create);
    assert_eq!(write(&d, &r, "DB_PASS", "pw-2").await, ChangeOp::Update);
    std::fs::write(dir.path().join("APP_FOREIGN"), "not ours").unwrap();

    let listed = d.list(&r, &ctx).await.unwrap().unwrap();
    assert_eq!(listed, vec![RemoteName("APP_DB_PASS".into())]);
    let values = d.read_values(&r, &listed, &ctx).await.unwrap().unwrap();
    assert_eq!(values[&listed[0]].expose(), b"pw-2");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("APP_DB_PASS"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    d.delete_one(&r, &listed[0], &ctx).await.unwrap();
    assert!(d.list(&r, &ctx).await.unwrap().unwrap().is_empty());
    assert!(!dir.path().join("APP_DB_PASS").exists());
    let foreign = d
        .delete_one(&r, &RemoteName("APP_FOREIGN".into()), &ctx)
        .await
        .unwrap_err();
    assert_eq!(foreign.kind, DestErrorKind::Conflict);
    assert!(dir.path().join("APP_FOREIGN").exists());
}

#[tokio::test]
async fn bad_names_and_a_missing_folder_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = routing(dir.path(), "");
    let d = Template;
    for bad in ["", "1ABC", "A/B", "A B", "../X"] {
        let e = d.map_name(&r, bad).unwrap_err();
        assert_eq!(e.kind, DestErrorKind::InvalidName, "{bad:?}");
    }
    let fresh = routing(&dir.path().join("new"), "");
    d.preflight(&fresh, &Ctx::new("dev", "app")).await.unwrap();
    let gone = routing(&dir.path().join("missing/deeper"), "");
    let e = d
        .preflight(&gone, &Ctx::new("dev", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::NotFound);
    assert!(e.message.contains("mkdir"), "{}", e.message);
}

#[tokio::test]
async fn apply_one_answers_unchanged_routes_deletes_and_needs_a_value_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let r = routing(dir.path(), "");
    let d = Template;
    let file = dir.path().join("TOKEN");
    assert_eq!(write(&d, &r, "TOKEN", "t-1").await, ChangeOp::Create);

    // unchanged (and an op this version does not know): answered, nothing written
    for op in [ChangeOp::Unchanged, ChangeOp::Unknown] {
        assert_eq!(apply(&d, &r, op, "TOKEN", Some("t-2")).await, Ok(op));
        assert_eq!(std::fs::read(&file).unwrap(), b"t-1");
    }
    // a write without its value is a bug of the caller, reported, never a panic
    let e = apply(&d, &r, ChangeOp::Update, "TOKEN", None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.key.as_deref()),
        (DestErrorKind::Internal, Some("TOKEN"))
    );
    // create, update and upsert all write
    for (op, v) in [(ChangeOp::Update, "t-3"), (ChangeOp::Create, "t-4")] {
        assert_eq!(
            apply(&d, &r, op, "TOKEN", Some(v)).await,
            Ok(ChangeOp::Update)
        );
        assert_eq!(std::fs::read(&file).unwrap(), v.as_bytes());
    }
    // a delete goes to delete_one
    assert_eq!(
        apply(&d, &r, ChangeOp::Delete, "TOKEN", None).await,
        Ok(ChangeOp::Delete)
    );
    assert!(!file.exists());
}
