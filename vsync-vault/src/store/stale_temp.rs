//! Removing the staging files a killed writer left in a `file://` bucket.
//!
//! A write goes to `<object>#<n>` first and is then renamed or linked into place
//! ([`super::file_store`]); `n` is `pid << 20` plus a counter, so the writing process can be told
//! from the name. A push killed with SIGKILL between the two steps leaves the staging file behind
//! for ever (listings hide `#<digits>` names). The next write into the same folder removes such
//! files, but only when no live writer can own them:
//!
//! - we hold the store-wide write lock, so no vsync writer that takes the lock is mid-write;
//! - a file whose writer (by the pid in its name) is gone, and that has not changed for
//!   [`DEAD_WRITER_GRACE`], is removed;
//! - any other `#<digits>` file (another tool's, an unknown pid, a pid that was reused) is removed
//!   only after [`ABANDONED_AFTER`] without a change, far longer than any write takes.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a staging file of a dead vsync writer is left alone (a bucket on a network file
/// system shared by two hosts cannot check the other host's pids; this keeps a slow live write
/// there safe).
pub(crate) const DEAD_WRITER_GRACE: Duration = Duration::from_secs(120);

/// After this long without a change, any staging file is abandoned.
pub(crate) const ABANDONED_AFTER: Duration = Duration::from_secs(6 * 3600);

/// The file names that are never touched (the write lock).
const KEEP: &[&str] = &[".vsync-store.lock#0"];

/// Remove stale staging files directly inside `dir`; returns how many were removed. Errors are
/// ignored: cleaning is best effort and must never fail the write that triggered it.
pub(crate) fn clean(dir: &Path, now: SystemTime) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(n) = staging_counter(name) else {
            continue;
        };
        if KEEP.contains(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or(Duration::ZERO);
        let pid = n >> 20;
        let dead = pid != 0 && writer_is_gone(pid);
        if ((dead && age >= DEAD_WRITER_GRACE) || age >= ABANDONED_AFTER)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// The `<n>` of a `<name>#<n>` staging file name.
fn staging_counter(name: &str) -> Option<u64> {
    let (base, digits) = name.rsplit_once('#')?;
    if base.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether no process with `pid` runs on this machine. Without `/proc` (macOS, Windows) nothing
/// is known, so the writer counts as alive and only [`ABANDONED_AFTER`] applies.
fn writer_is_gone(pid: u64) -> bool {
    let Ok(pid) = u32::try_from(pid) else {
        return true; // not a pid at all: not one of ours
    };
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, age: Duration) {
        let f = std::fs::File::create(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn counter_parsing() {
        assert_eq!(staging_counter("a.enc#12"), Some(12));
        for no in ["a.enc", "a#", "#12", "a#1x", "a.enc#-1"] {
            assert_eq!(staging_counter(no), None, "{no}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_dead_or_abandoned_staging_files_go() {
        let d = tempfile::tempdir().unwrap();
        let dead_pid = {
            let mut c = std::process::Command::new("true").spawn().unwrap();
            c.wait().unwrap();
            u64::from(c.id())
        };
        let live_pid = u64::from(std::process::id());
        let old = DEAD_WRITER_GRACE + Duration::from_secs(5);
        let p = |n: u64| d.path().join(format!("20260101-000000.enc#{n}"));
        touch(&p(dead_pid << 20), old); // killed writer: goes
        touch(&p((dead_pid << 20) + 1), Duration::ZERO); // killed a moment ago: stays (grace)
        touch(&p(live_pid << 20), old); // live writer: stays
        touch(&p(7), old); // another tool's, recent enough: stays
        touch(&p(8), ABANDONED_AFTER + Duration::from_secs(5)); // abandoned: goes
        touch(&d.path().join(".vsync-store.lock#0"), ABANDONED_AFTER * 2);
        touch(&d.path().join("20260101-000000.enc"), ABANDONED_AFTER * 2);
        assert_eq!(clean(d.path(), SystemTime::now()), 2);
        assert!(!p(dead_pid << 20).exists() && !p(8).exists());
        assert!(p((dead_pid << 20) + 1).exists() && p(live_pid << 20).exists() && p(7).exists());
        assert!(d.path().join(".vsync-store.lock#0").exists());
        assert!(d.path().join("20260101-000000.enc").exists());
    }
}
