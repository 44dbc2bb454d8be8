//! `files.vaultFolder` from every entry point (init flag, config on disk, share file, keytree
//! path at pull time) obeys one rule: a plain relative folder inside the checkout. A hostile
//! value is refused before anything is written, and `pull --force` never replaces a folder
//! outside the checkout.

use std::path::{Path, PathBuf};

use vsync_crypto::secret::SecretText;
use vsync_crypto::sls1::{self, ExportPayload};

use crate::harness::World;
use crate::require_keychain;

const PASS: &str = "correct-horse-battery-staple-42";

/// Every hostile class, as a share file or a config would carry it.
const HOSTILE: &[&str] = &[
    "/tmp/vsync-escape",
    "../../outside",
    "infra/../../outside",
    ".git",
    ".GIT/hooks",
    ".git.",
    "GIT~1",
    "infra\\vault",
    "infra/\u{1}vault",
    "infra/vault\0",
    "C:/vault",
    "c:vault",
    "infra/NUL",
    "com1.env",
    ".",
    "./",
];

/// A real share of `dev` from `a`, then the same share re-sealed with `vault_folder` in its config.
fn hostile_share(a: &World, vault_folder: &str, n: usize) -> PathBuf {
    let share = a.home.join(format!("hostile-{n}.share"));
    let real = a.home.join("real.share");
    if !real.exists() {
        a.export_share("dev", &real, &a.pass_file(PASS)).ok();
    }
    let (_, payload) = sls1::unpack(PASS, &std::fs::read(&real).unwrap()).unwrap();
    let mut config = payload.config.clone();
    config.insert(
        "files".into(),
        serde_json::json!({ "vaultFolder": vault_folder }),
    );
    let forged = ExportPayload::new(
        payload.repo.clone(),
        payload.env.clone(),
        config,
        SecretText::new(payload.key.expose().to_owned()),
    );
    std::fs::write(&share, sls1::pack(PASS, &forged).unwrap()).unwrap();
    share
}

#[test]
fn hostile_share_vault_folder_is_refused_with_nothing_written() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("SHARED", "shared-value-for-share-test")]);
    a.secret(PASS);
    let b = a.other_machine();
    let bpf = b.pass_file(PASS);
    for (n, vf) in HOSTILE.iter().enumerate() {
        let share = hostile_share(&a, vf, n);
        let r = b.import_share("dev", &share, &bpf).code(4);
        assert!(r.stderr.contains("vaultFolder"), "{vf:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains('\u{1}') && !r.stderr.contains('\0'),
            "{}",
            r.stderr
        );
        assert!(!b.config_path("dev").exists(), "{vf:?}: config written");
        // Nothing in the keychain either: no key to show.
        b.vsync(&["key", "show", "dev", "--out", "/dev/null"])
            .code(3);
    }
    // The untouched share still imports, into the default folder.
    let share = hostile_share(&a, "apps/web/vault", 99);
    b.import_share("dev", &share, &bpf).ok();
    b.vsync(&["pull", "dev"]).ok();
    assert!(b.repo_dir.join("apps/web/vault/.env.dev").is_file());
}

#[test]
fn hostile_vault_folder_in_the_config_is_refused_by_every_verb() {
    require_keychain!();
    let a = World::pushed("dev", &[("K", "config-vault-folder-value")]);
    let outside = a._tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious"), "keep me").unwrap();
    for vf in ["../outside", "/tmp/x", ".git", ".Git/x", "a\\b", "c:x"] {
        a.edit_config("dev", |v| {
            v["files"] = serde_json::json!({ "vaultFolder": vf })
        });
        for verb in [
            &["pull", "dev", "--force"][..],
            &["push", "dev"],
            &["run", "dev", "--", "true"],
            &["diff", "dev"],
        ] {
            let r = a.vsync(verb);
            assert_ne!(r.code, 0, "{verb:?} with {vf:?}");
            assert!(r.stderr.contains("vaultFolder"), "{verb:?}: {}", r.stderr);
        }
    }
    assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep me");
    assert!(!a.repo_dir.join(".git/.env.dev").exists());
}

#[test]
fn init_refuses_a_hostile_vault_folder_flag_before_writing() {
    require_keychain!();
    let w = World::new();
    for vf in [
        "../x", "/abs", ".git", ".GIT", "a/.git", "infra\\v", "C:/v", "aux", ".",
    ] {
        let r = w
            .vsync(&[
                "init",
                "dev",
                "--store",
                &w.store_url(),
                "--yes",
                "--vault-folder",
                vf,
            ])
            .code(2);
        assert!(r.stderr.contains("--vault-folder"), "{vf}: {}", r.stderr);
        assert!(!w.config_path("dev").exists(), "{vf}");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_on_the_vault_path_is_refused_at_pull() {
    require_keychain!();
    let a = World::pushed("dev", &[("K", "symlinked-vault-value")]);
    // `infra/vault` is replaced by a link to a folder outside the checkout that holds a `dev`.
    let outside = a._tmp.path().join("elsewhere");
    std::fs::create_dir_all(outside.join("dev")).unwrap();
    std::fs::write(outside.join("dev/precious"), "keep me").unwrap();
    std::fs::remove_dir_all(a.repo_dir.join("infra/vault")).unwrap();
    std::os::unix::fs::symlink(&outside, a.repo_dir.join("infra/vault")).unwrap();
    a.vsync(&["pull", "dev", "--force"])
        .code(2)
        .stderr_has("symlink");
    assert_eq!(
        std::fs::read(outside.join("dev/precious")).unwrap(),
        b"keep me"
    );
    assert!(!outside.join("dev/.env.dev").exists());
    // The vault folder itself as a link is refused the same way.
    std::fs::remove_file(a.repo_dir.join("infra/vault")).unwrap();
    std::fs::create_dir_all(a.repo_dir.join("infra/vault")).unwrap();
    std::os::unix::fs::symlink(outside.join("dev"), a.vault("dev")).unwrap();
    a.vsync(&["pull", "dev", "--force"]).code(2);
    assert_eq!(
        list(&outside.join("dev")),
        vec![outside.join("dev/precious")]
    );
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

#[test]
fn keytree_with_a_hostile_vault_folder_is_refused() {
    require_keychain!();
    let a = World::with_env("dev");
    let pf = a.pass_file(PASS);
    let tree = a.home.join("all.keytree");
    // Export a keytree, then forge one whose config names `..`.
    let r = a.keystore_export_all(&tree, &pf);
    if r.code != 0 {
        eprintln!("skipped: keystore export flags differ: {}", r.stderr);
        return;
    }
    let (_, mut kt) = vsync_crypto::vkt1::unpack(PASS, &std::fs::read(&tree).unwrap()).unwrap();
    for e in &mut kt.entries {
        e.config.insert(
            "files".into(),
            serde_json::json!({ "vaultFolder": "../../escape" }),
        );
    }
    let forged = a.home.join("forged.keytree");
    std::fs::write(&forged, vsync_crypto::vkt1::pack(PASS, &kt).unwrap()).unwrap();
    let b = a.other_machine();
    let bpf = b.pass_file(PASS);
    b.keystore_import(&forged, &bpf)
        .code(4)
        .stderr_has("vaultFolder");
    assert!(!b.config_path("dev").exists());
}
