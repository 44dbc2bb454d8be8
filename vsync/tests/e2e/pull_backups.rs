//! The encrypted rolling backup every pull writes (docs/formats.md §9.8) and `vsync restore-backup`:
//! written atomically and 0600 before the vault is replaced, pruned, restored with the staged
//! swap, readable by an independent implementation and reading what one writes, and refusing
//! hostile files.

use std::path::{Path, PathBuf};

use crate::harness::{World, arg, mode, python_ok, run_upstream, vault_tree};
use crate::require_keychain;

fn py(args: &[&str]) -> String {
    String::from_utf8(run_upstream("upstream_backup.py", args)).unwrap()
}

/// A backup of the `dev` vault in `src`, written by the independent implementation to `file`.
fn write_backup(file: &Path, key: &str, salt: &str, src: &Path) {
    py(&["write", arg(file), key, salt, arg(src), "infra/vault/dev"]);
}

/// No staging folder of a swap is left beside the vault.
#[track_caller]
fn no_staging_left(w: &World) {
    let parent = w.vault("dev").parent().unwrap().to_path_buf();
    assert!(
        std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".vsync-")),
    );
}

fn backups_dir(w: &World) -> PathBuf {
    w.base().join("backups").join(&w.repo)
}

fn ours(w: &World, env: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(backups_dir(w))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy().into_owned();
                    n.starts_with(&format!("{env}-")) && n.ends_with(".zip.enc")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `a` pushes v1 then v2; `b` (same key) pulled v1 and now pulls v2.
fn two_versions() -> (World, World) {
    let mut a = World::pushed("dev", &[("TOKEN", "backup-v1-value")]);
    let mut b = World::second_machine(&a);
    b.vsync(&["pull", "dev"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.push_env("dev", &[("TOKEN", "backup-v2-value")]);
    b.secrets = a.secrets.clone();
    (a, b)
}

#[test]
fn pull_writes_an_encrypted_0600_backup_that_an_independent_reader_opens() {
    require_keychain!();
    let (_a, b) = two_versions();
    assert!(ours(&b, "dev").len() <= 1);
    let before = ours(&b, "dev");
    let r = b.vsync(&["pull", "dev"]).ok();
    let after = ours(&b, "dev");
    assert_eq!(after.len(), before.len() + 1, "one new backup per pull");
    let file = after.iter().find(|p| !before.contains(p)).unwrap().clone();
    r.stderr_has(&file.display().to_string());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&backups_dir(&b)), 0o700);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], b"RQE1");
    assert!(!String::from_utf8_lossy(&bytes).contains("backup-v1-value"));
    // No temporary files left next to it.
    assert!(
        std::fs::read_dir(backups_dir(&b))
            .unwrap()
            .flatten()
            .all(|e| e.file_name().to_string_lossy().ends_with(".zip.enc")),
    );
    if !python_ok() {
        return;
    }
    let (key, salt) = b.key_and_salt("dev");
    let f = file.to_str().unwrap();
    let names = py(&["open", f, &key, &salt]);
    assert!(
        names.lines().any(|n| n == "infra/vault/dev/.env.dev"),
        "{names}"
    );
    let content = py(&["open", f, &key, &salt, "infra/vault/dev/.env.dev"]);
    assert_eq!(
        content, "TOKEN=backup-v1-value\n",
        "the vault as it was before the pull"
    );
    assert_eq!(b.env_text("dev"), "TOKEN=backup-v2-value\n");
}

#[test]
fn restore_backup_lists_and_restores_the_newest_or_a_chosen_one_in_one_swap() {
    require_keychain!();
    let (_a, b) = two_versions();
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(b.env_text("dev"), "TOKEN=backup-v2-value\n");

    let list_json = ["restore-backup", "dev", "--list", "--json"];
    let v = b.vsync(&list_json).ok().json();
    let entries = v.as_array().unwrap();
    assert!(!entries.is_empty());
    assert_eq!(entries[0]["origin"], "vsync");
    let newest_ts = entries[0]["ts"].as_str().unwrap().to_owned();
    b.vsync(&["restore-backup", "dev", "--list"])
        .ok()
        .stdout_has(&newest_ts);

    b.vsync(&["restore-backup", "dev"]).ok();
    assert_eq!(b.env_text("dev"), "TOKEN=backup-v1-value\n");
    // No staging folders left beside the vault.
    no_staging_left(&b);
    // The restore backed up what it replaced, so it can be undone by timestamp.
    let v = b.vsync(&list_json).ok().json();
    let undo_ts = v[0]["ts"].as_str().unwrap().to_owned();
    assert_ne!(undo_ts, newest_ts);
    b.vsync(&["restore-backup", "dev", &undo_ts]).ok();
    assert_eq!(b.env_text("dev"), "TOKEN=backup-v2-value\n");
    // Into a new folder instead of the vault.
    let target = b.home.join("restored");
    let into_target = ["restore-backup", "dev", &newest_ts, arg(&target)];
    b.vsync(&into_target).ok();
    assert_eq!(
        std::fs::read_to_string(target.join(".env.dev")).unwrap(),
        "TOKEN=backup-v1-value\n"
    );
    b.vsync(&into_target).code(5);
    b.vsync(&["restore-backup", "dev", "20000101-000000"])
        .code(3);
}

#[test]
fn old_backups_are_pruned_to_the_configured_number_and_upstreams_are_kept() {
    require_keychain!();
    let mut w = World::pushed("dev", &[("K", "prune-value-1")]);
    let upstream_file = w.base().join("backups").join("dev-20200101-000000.zip.enc");
    std::fs::create_dir_all(upstream_file.parent().unwrap()).unwrap();
    std::fs::write(&upstream_file, b"upstream's, not ours to prune").unwrap();
    w.set_env("VSYNC_BACKUP_KEEP", "2");
    for _ in 0..4 {
        w.vsync(&["pull", "dev"]).ok();
    }
    let left = ours(&w, "dev");
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(upstream_file.exists());
    w.extra_env.pop();
    for _ in 0..4 {
        w.vsync(&["pull", "dev"]).ok();
    }
    assert_eq!(ours(&w, "dev").len(), 5, "five are kept by default");
    w.set_env("VSYNC_BACKUP_KEEP", "0");
    w.vsync(&["pull", "dev"]).code(2);
}

#[test]
fn a_backup_that_cannot_be_written_aborts_the_pull_with_nothing_changed() {
    require_keychain!();
    let (_a, mut b) = two_versions();
    let ledger = b.base().join(&b.repo).join("env_dev.ledger.json");
    let ledger_before = std::fs::read(&ledger).unwrap();
    let blocker = b.home.join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    b.set_env("VSYNC_BACKUP_DIR", arg(&blocker));
    let r = b.vsync(&["pull", "dev"]);
    assert_ne!(r.code, 0);
    r.stderr_has("cannot back up the vault");
    assert_eq!(
        b.env_text("dev"),
        "TOKEN=backup-v1-value\n",
        "vault untouched"
    );
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        ledger_before,
        "ledger untouched"
    );
    no_staging_left(&b);
    b.extra_env.pop();
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(b.env_text("dev"), "TOKEN=backup-v2-value\n");
}

#[test]
fn backups_written_by_an_independent_implementation_are_restored() {
    require_keychain!(python);
    let mut w = World::with_env("dev");
    w.write_env("dev", &[("NOW", "current-value-3")]);
    let (key, salt) = w.key_and_salt("dev");
    w.secret(&key);
    // The vault as upstream backed it up, in upstream's place (no repo in the name)...
    let src = vault_tree(
        "dev",
        &[
            (".env.dev", b"FROM=upstream-backup-11\n"),
            ("certs/a.crt", b"crt"),
        ],
    );
    w.secret("upstream-backup-11");
    let upstream_dir = w.base().join("backups");
    std::fs::create_dir_all(&upstream_dir).unwrap();
    let f = upstream_dir.join("dev-20250101-000000.zip.enc");
    write_backup(&f, &key, &salt, src.path());
    // ...and in its pre-rename place.
    let legacy = tempfile::tempdir().unwrap();
    let env_file = src.path().join("infra/vault/dev/.env.dev");
    std::fs::write(env_file, "FROM=legacy-backup-12\n").unwrap();
    w.secret("legacy-backup-12");
    let legacy_file = legacy.path().join("dev-20240101-000000.zip.enc");
    write_backup(&legacy_file, &key, &salt, src.path());
    w.set_env("LOCALDEVCONFIG_DIR", arg(legacy.path()));

    let v = w
        .vsync(&["restore-backup", "dev", "--list", "--json"])
        .ok()
        .json();
    let origins: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins, ["upstream", "upstream-legacy"], "{v}");

    w.vsync(&["restore-backup", "dev"]).ok();
    assert_eq!(w.env_text("dev"), "FROM=upstream-backup-11\n");
    assert_eq!(
        std::fs::read(w.vault("dev").join("certs/a.crt")).unwrap(),
        b"crt"
    );
    w.vsync(&["restore-backup", "dev", "20240101-000000"]).ok();
    assert_eq!(w.env_text("dev"), "FROM=legacy-backup-12\n");
    // Upstream's invocation: an explicit file and a target folder.
    let target = w.home.join("out");
    w.vsync(&["restore-backup", "dev", arg(&f), arg(&target)])
        .ok();
    assert_eq!(
        std::fs::read_to_string(target.join(".env.dev")).unwrap(),
        "FROM=upstream-backup-11\n"
    );
}

#[test]
fn hostile_backup_files_are_refused_with_nothing_changed() {
    require_keychain!();
    let mut w = World::with_env("dev");
    w.write_env("dev", &[("KEEP", "unchanged-value-4")]);
    let before = w.env_text("dev");
    let dir = tempfile::tempdir().unwrap();
    let check = |w: &World, file: &Path, code: i32, says: &str| {
        let r = w.vsync(&["restore-backup", "dev", arg(file)]).code(code);
        assert!(r.stderr.contains(says), "{}: {}", file.display(), r.stderr);
        assert_eq!(w.env_text("dev"), before);
        assert!(!dir.path().join("x").exists() && !w.repo_dir.join("infra/vault/x").exists());
    };
    let garbage = dir.path().join("garbage.zip.enc");
    std::fs::write(&garbage, b"this is not a backup at all, just some bytes").unwrap();
    check(&w, &garbage, 4, "not a vsync backup");
    let link = dir.path().join("link.zip.enc");
    std::os::unix::fs::symlink(&garbage, &link).unwrap();
    check(&w, &link, 4, "not a regular file");
    check(&w, dir.path(), 4, "not a regular file");
    check(
        &w,
        &dir.path().join("missing.zip.enc"),
        3,
        "missing.zip.enc",
    );
    if !python_ok() {
        return;
    }
    let (key, salt) = w.key_and_salt("dev");
    w.secret(&key);
    let other_key = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
    let src = vault_tree("dev", &[(".env.dev", b"X=1\n")]);
    let foreign = dir.path().join("foreign.zip.enc");
    write_backup(&foreign, other_key, &salt, src.path());
    check(&w, &foreign, 4, "does not decrypt with the key");
    for name in ["../x", "infra/vault/dev/../../x", "/tmp/x"] {
        let evil = dir.path().join("evil.zip.enc");
        py(&["evil", evil.to_str().unwrap(), &key, &salt, name]);
        let r = w
            .vsync(&["restore-backup", "dev", evil.to_str().unwrap()])
            .code(4);
        assert!(!r.stderr.is_empty());
        assert_eq!(w.env_text("dev"), before, "{name}");
        assert!(!w.repo_dir.join("infra/x").exists() && !w.repo_dir.join("x").exists());
    }
}

/// What a killed pull or restore leaves beside the vault: its staging folder (plaintext) and
/// the lock file nobody holds any more.
fn killed_runs_leftover(parent: &Path, name: &str, with_lock: bool) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env.dev"), "TOKEN=leftover-plaintext\n").unwrap();
    if with_lock {
        std::fs::write(parent.join(format!("{name}.lock")), "pid 1").unwrap();
    } else {
        // an older vsync's, without a lock file: swept only once a minute old
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        std::fs::File::open(&dir)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    dir
}

#[test]
fn staging_left_by_killed_runs_is_swept_and_a_live_runs_staging_is_spared() {
    require_keychain!();
    let (_a, b) = two_versions();
    let parent = b.vault("dev").parent().unwrap().to_path_buf();
    // killed pulls and restores of this env and others, with and without their lock file
    let killed = [
        killed_runs_leftover(&parent, ".vsync-pull-dev-999991", true),
        killed_runs_leftover(&parent, ".vsync-restore-dev-999992", false),
        killed_runs_leftover(&parent, ".vsync-pull-staging-999993", true),
        killed_runs_leftover(&parent, ".vsync-pull-dev-999994.old", false),
    ];
    // a pull of another env running right now on this machine: its lock is held
    let live = killed_runs_leftover(&parent, ".vsync-pull-prod-999995", true);
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(parent.join(".vsync-pull-prod-999995.lock"))
        .unwrap();
    held.try_lock().unwrap();

    // a lockless folder that young may be an older vsync's live one
    let young = parent.join(".vsync-pull-dev-999997");
    std::fs::create_dir(&young).unwrap();

    b.vsync(&["pull", "dev"]).ok();
    assert!(young.exists());
    std::fs::remove_dir(&young).unwrap();
    for dir in &killed {
        assert!(!dir.exists(), "{} was left", dir.display());
    }
    assert!(
        live.join(".env.dev").exists(),
        "a live run's staging was removed"
    );

    // once that run is gone, the next restore sweeps it too
    drop(held);
    b.vsync(&["restore-backup", "dev"]).ok();
    assert!(!live.exists());
    no_staging_left(&b);
}

#[test]
fn a_restore_into_a_new_folder_sweeps_what_a_killed_restore_there_left() {
    require_keychain!();
    let (_a, b) = two_versions();
    b.vsync(&["pull", "dev"]).ok();
    let target = b.home.join("restored");
    let leftover = killed_runs_leftover(&b.home, ".restored.vsync-restore-999996", true);
    let list = b
        .vsync(&["restore-backup", "dev", "--list", "--json"])
        .ok()
        .json();
    let newest = list[0]["ts"].as_str().unwrap().to_owned();
    b.vsync(&["restore-backup", "dev", &newest, arg(&target)])
        .ok();
    assert!(!leftover.exists());
    assert!(!b.home.join(".restored.vsync-restore-999996.lock").exists());
    assert_eq!(
        std::fs::read_dir(&b.home)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("vsync-restore"))
            .count(),
        0
    );
}
