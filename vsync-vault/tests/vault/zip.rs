//! Bundle zip: round trip, exact entry layout, Info-ZIP interop, and every hostile archive.

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use vsync_vault::VaultError;
use vsync_vault::zip_bundle::{self, ZipLimits, build, extract, extract_vault, list, read_bundle};
use zip::write::SimpleFileOptions;

fn make_vault(vroot: &Path) {
    let v = vroot.join("infra/vault/dev");
    std::fs::create_dir_all(v.join("tls")).unwrap();
    std::fs::write(v.join(".env.dev"), "A=1\nB=\"two\"\n").unwrap();
    std::fs::write(v.join("tls/s.crt"), "-----BEGIN CERT-----\n".repeat(50)).unwrap();
    std::fs::write(v.join("gcp-sa.json"), "{}").unwrap();
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for f in vsync_vault::walk::walk(dir).unwrap() {
        out.push((f.path.clone(), std::fs::read(dir.join(&f.path)).unwrap()));
    }
    out
}

#[test]
fn layout_matches_info_zip_and_round_trips() {
    let d = tempfile::tempdir().unwrap();
    make_vault(d.path());
    let zip = build(d.path(), "./infra/vault/dev/").unwrap();
    let names: Vec<(String, bool)> = list(&zip)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    assert_eq!(
        names,
        vec![
            ("infra/vault/dev".to_owned(), true),
            ("infra/vault/dev/.env.dev".to_owned(), false),
            ("infra/vault/dev/gcp-sa.json".to_owned(), false),
            ("infra/vault/dev/tls".to_owned(), true),
            ("infra/vault/dev/tls/s.crt".to_owned(), false),
        ]
    );
    // Deterministic.
    assert_eq!(*build(d.path(), "infra/vault/dev").unwrap(), *zip);

    // Raw archive details: Unix host, modes, stored for tiny files, deflate for the repetitive one.
    let mut a = zip::ZipArchive::new(Cursor::new(&zip[..])).unwrap();
    let f = a.by_name("infra/vault/dev/gcp-sa.json").unwrap();
    assert_eq!(f.compression(), zip::CompressionMethod::Stored);
    assert_eq!(f.system(), zip::System::Unix);
    assert_eq!(f.unix_mode().unwrap() & 0o170000, 0o100000);
    drop(f);
    let f = a.by_name("infra/vault/dev/tls/s.crt").unwrap();
    assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
    drop(f);
    let f = a.by_name("infra/vault/dev/").unwrap();
    assert!(f.is_dir());
    drop(f);

    // extract_vault: dest becomes the vault folder.
    let out = d.path().join("staging");
    let rep = extract_vault(&zip, &out, &ZipLimits::default()).unwrap();
    assert_eq!(rep.folder.as_deref(), Some("infra/vault/dev"));
    assert_eq!(rep.files, vec![".env.dev", "gcp-sa.json", "tls/s.crt"]);
    assert_eq!(tree(&out), tree(&d.path().join("infra/vault/dev")));
    #[cfg(unix)]
    {
        let m = mode_of(&out.join(".env.dev"));
        assert_eq!(m, 0o600);
        let m = mode_of(&out.join("tls"));
        assert_eq!(m, 0o700);
    }
    // extract: full names, like unzip -d <vroot>.
    let out2 = d.path().join("staging2");
    extract(&zip, &out2, &ZipLimits::default()).unwrap();
    assert_eq!(tree(&out2.join("infra/vault/dev")), tree(&out));

    // In memory.
    let b = read_bundle(&zip, &ZipLimits::default()).unwrap();
    assert_eq!(b.env_file("dev"), Some(&b"A=1\nB=\"two\"\n"[..]));
    let assets: Vec<&str> = b.assets("dev").map(|(n, _)| n).collect();
    assert_eq!(assets, vec!["gcp-sa.json", "tls/s.crt"]);
    assert!(!format!("{b:?}").contains("A=1"));
}

#[test]
fn build_refuses_symlinks_and_missing_folder() {
    let d = tempfile::tempdir().unwrap();
    assert!(build(d.path(), "infra/vault/dev").is_err());
    make_vault(d.path());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("infra/vault/dev/tls/link"))
            .unwrap();
        match build(d.path(), "infra/vault/dev") {
            Err(VaultError::Symlink { path }) => assert_eq!(path, "tls/link"),
            other => panic!("{other:?}"),
        }
    }
    assert!(build(d.path(), "../outside").is_err());
}

#[test]
fn info_zip_interop() {
    let have = |c: &str| Command::new(c).arg("-v").output().is_ok();
    if !have("zip") || !have("unzip") {
        println!("skipped: no Info-ZIP");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    make_vault(d.path());
    // Ours → unzip.
    let zip = build(d.path(), "infra/vault/dev").unwrap();
    let zpath = d.path().join("ours.zip");
    std::fs::write(&zpath, &*zip).unwrap();
    let t = Command::new("unzip")
        .arg("-tq")
        .arg(&zpath)
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    let out = d.path().join("unz");
    std::fs::create_dir_all(&out).unwrap();
    assert!(
        Command::new("unzip")
            .arg("-q")
            .arg(&zpath)
            .arg("-d")
            .arg(&out)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        tree(&out.join("infra/vault/dev")),
        tree(&d.path().join("infra/vault/dev"))
    );
    // Info-ZIP's `zip -r` (what upstream runs) → ours.
    let theirs = d.path().join("theirs.zip");
    assert!(
        Command::new("zip")
            .args(["-r", "-q"])
            .arg(&theirs)
            .arg("infra/vault/dev")
            .current_dir(d.path())
            .status()
            .unwrap()
            .success()
    );
    let bytes = std::fs::read(&theirs).unwrap();
    let staged = d.path().join("st");
    let rep = extract_vault(&bytes, &staged, &ZipLimits::default()).unwrap();
    assert_eq!(rep.folder.as_deref(), Some("infra/vault/dev"));
    assert_eq!(tree(&staged), tree(&d.path().join("infra/vault/dev")));
}

/// Build an archive with arbitrary entries (name, content, unix mode).
fn raw_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, SimpleFileOptions::default())
                .unwrap();
        } else {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// Rewrite every occurrence of `from` with `to` (same length) in the archive bytes.
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    let mut n = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        i += 1;
    }
    assert!(n > 0);
    bytes
}

/// A one-entry zip whose entry name is patched from `written` to `hostile` (same length) after
/// writing, for names the writer would normalise.
fn one_entry_renamed(written: &str, hostile: &[u8]) -> Vec<u8> {
    patch(raw_zip(&[(written, b"x")]), written.as_bytes(), hostile)
}

/// A zip with one deflated entry `name` holding `data` (it compresses well: bombs, liars).
fn deflated_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, deflated).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_refused(zip: &[u8], limits: ZipLimits, what: &str) {
    let d = tempfile::tempdir().unwrap();
    let dest = d.path().join("staging");
    let err = extract(zip, &dest, &limits).expect_err(what);
    assert!(
        matches!(
            err,
            VaultError::UnsafeZipPath { .. } | VaultError::ZipLimit { .. } | VaultError::Zip { .. }
        ),
        "{what}: {err:?}"
    );
    assert_eq!(err.category(), vsync_vault::Category::Integrity, "{what}");
    // Nothing left behind.
    assert!(
        !dest.exists() || std::fs::read_dir(&dest).unwrap().next().is_none(),
        "{what}"
    );
    assert!(read_bundle(zip, &limits).is_err(), "{what} (in memory)");
}

#[test]
fn hostile_archives() {
    let l = ZipLimits::default();
    // Names the writer would normalise are patched in afterwards (same length).
    let dotdot = one_entry_renamed("ok/xx/evil", b"ok/../evil");
    assert_refused(&dotdot, l, "../");
    let dotdot2 = one_entry_renamed("xx/x", b"../x");
    assert_refused(&dotdot2, l, "leading ..");
    let abs = one_entry_renamed("xetc/passwd", b"/etc/passwd");
    assert_refused(&abs, l, "absolute");
    let drive = one_entry_renamed("xx/evil", b"C:/evil");
    assert_refused(&drive, l, "drive letter");
    let bs = one_entry_renamed("a_b/evil", b"a\\b/evil");
    assert_refused(&bs, l, "backslash");
    let dup = patch(
        raw_zip(&[("dir/one", b"1"), ("dir/two", b"2")]),
        b"dir/two",
        b"dir/one",
    );
    assert_refused(&dup, l, "duplicate");
    assert_refused(
        &raw_zip(&[("a", b"1"), ("a/b", b"2")]),
        l,
        "file used as a directory",
    );

    // Symlink entry.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("v/ok", SimpleFileOptions::default()).unwrap();
    w.write_all(b"fine").unwrap();
    w.add_symlink("v/link", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let sym = w.finish().unwrap().into_inner();
    assert_refused(&sym, l, "symlink");

    // Zip bomb: 8 MiB of zeros, ~8 KiB compressed, against a 1 MiB cap.
    let bomb = deflated_zip("v/bomb", &vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 << 10);
    assert_refused(
        &bomb,
        ZipLimits {
            max_entries: 100,
            max_total_bytes: 1 << 20,
        },
        "bomb",
    );
    // Lying header: declared size patched down, actual data larger → caught while reading.
    let liar_limits = ZipLimits {
        max_entries: 100,
        max_total_bytes: 1 << 20,
    };
    let liar = deflated_zip("v/liar", &vec![7u8; 2 << 20]);
    let liar = patch(liar, &(2u32 << 20).to_le_bytes(), &16u32.to_le_bytes());
    assert_refused(&liar, liar_limits, "lying size");

    // Too many entries.
    let names: Vec<String> = (0..20).map(|i| format!("v/f{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    assert_refused(
        &raw_zip(&entries),
        ZipLimits {
            max_entries: 10,
            max_total_bytes: 1 << 20,
        },
        "entry count",
    );

    // Not a zip at all / truncated.
    assert!(list(b"PK\x03\x04garbage").is_err());
    let good = raw_zip(&[("v/a", b"1")]);
    assert!(list(&good[..good.len() - 10]).is_err());

    // A failure part-way leaves nothing: first entry fine, second unsafe → nothing written.
    let mixed = patch(
        raw_zip(&[("v/fine", b"1"), ("v/xx/bad", b"2")]),
        b"v/xx/bad",
        b"v/../bad",
    );
    assert_refused(&mixed, l, "mixed");
}

#[test]
fn normalize_vault_folder_public() {
    assert_eq!(
        zip_bundle::normalize_vault_folder("infra/vault/dev").unwrap(),
        "infra/vault/dev"
    );
}
