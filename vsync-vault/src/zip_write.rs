//! Writing the bundle zip (docs/formats.md §4.1/§4.2): the vault folder's directory entry first, then
//! its children sorted byte-wise, depth-first; Unix modes, DOS time and the `UT` extended
//! timestamp; deflate (level 6) unless it does not shrink the data, then stored.
//!
//! Memory stays proportional to the bundle, whatever the number of files. Each file is streamed
//! from disk into the zip through one reused buffer, and the "does deflate help?" test reuses
//! one compressor. (A fresh compressor per file is a ~380 KB allocation per file; freed between
//! small long-lived allocations, those fragmented the heap so badly that a push of 5 000 small
//! files could peak near 1 GB — see docs/benchmarks.md.)
//!
//! The limits of [`crate::limits`] are checked on the walk, before a byte is read, so a vault
//! that the readers would refuse is refused here, naming the file that passes the limit.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

use flate2::{Compress, Compression, FlushCompress, Status};
use zeroize::Zeroizing;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::error::{Result, VaultError};
use crate::limits::Budget;
use crate::walk::walk_tree;

/// Build the bundle zip of `<vroot>/<vault_folder>`. The vault folder must exist; symlinks
/// anywhere under it are refused; a vault over the bundle limits is refused before anything
/// is read ([`VaultError::VaultTooBig`]).
pub fn build(vroot: &Path, vault_folder: &str) -> Result<Zeroizing<Vec<u8>>> {
    build_with_comment(vroot, vault_folder, None)
}

/// [`build`] with an archive comment (push seals the audit chain head there: inside the
/// encryption, and ignored by upstream's `unzip -q`; docs/audit-chain.md).
pub fn build_with_comment(
    vroot: &Path,
    vault_folder: &str,
    comment: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>> {
    let folder = crate::vault_folder::normalize(vault_folder)?;
    let root = vroot.join(&folder);
    let root_meta = std::fs::metadata(&root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            VaultError::VaultFolderMissing { path: root.clone() }
        } else {
            VaultError::io("read", &root, e)
        }
    })?;
    if !root_meta.is_dir() {
        return Err(VaultError::VaultFolderNotDirectory {
            path: root,
            advice: "",
        });
    }
    let tree = walk_tree(&root)?;

    // The limits first, on sizes from the walk: nothing is read from a vault that is too big.
    let mut budget = Budget::new();
    budget.add(&folder, 0)?;
    for e in &tree {
        budget.add(&e.path, if e.is_dir { 0 } else { e.meta.len() })?;
    }

    // Pre-size the output so the buffer holding secret bytes never reallocates (a reallocation
    // would leave an unzeroised copy behind), with room to be sealed in place
    // (`vsync_crypto::bundle::seal_owned`).
    let mut capacity: usize = 1024 + vsync_crypto::bundle::SEAL_OVERHEAD;
    for e in &tree {
        let payload = if e.is_dir { 0 } else { e.meta.len() as usize };
        capacity = capacity
            .saturating_add(payload)
            .saturating_add(2 * (folder.len() + e.path.len() + 128));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(capacity));
    let mut scratch = Scratch::new();
    {
        let mut zw = ZipWriter::new(Cursor::new(&mut *out));
        let root_opts = entry_options(&root_meta, true)?;
        zw.add_directory(format!("{folder}/"), root_opts)
            .map_err(zip_write_err)?;
        for e in &tree {
            let name = format!("{folder}/{}", e.path);
            if e.is_dir {
                zw.add_directory(format!("{name}/"), entry_options(&e.meta, true)?)
                    .map_err(zip_write_err)?;
                continue;
            }
            let path = root.join(&e.path);
            let mut file = File::open(&path).map_err(|err| VaultError::io("read", &path, err))?;
            let len = e.meta.len();
            let method = if scratch.deflate_shrinks(&mut file, len, &path)? {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            let opts = entry_options(&e.meta, false)?
                .compression_method(method)
                .compression_level((method == CompressionMethod::Deflated).then_some(6))
                .large_file(len >= u64::from(u32::MAX));
            zw.start_file(name, opts).map_err(zip_write_err)?;
            scratch.copy(&mut file, &mut zw, len, &path)?;
        }
        if let Some(c) = comment {
            zw.set_comment(c).map_err(zip_write_err)?;
        }
        zw.finish().map_err(zip_write_err)?;
    }
    Ok(out)
}

fn zip_write_err(e: zip::result::ZipError) -> VaultError {
    VaultError::Zip {
        reason: format!("cannot build the bundle: {e}"),
    }
}

/// Above this size only samples are test-compressed: deflating a large incompressible asset
/// (a certificate bundle, a key store) twice would dominate the push.
const SAMPLE: usize = 64 * 1024;

/// The buffers and compressors reused for every file of one build.
struct Scratch {
    /// File bytes on their way into the zip (and the samples of the deflate test).
    buf: Zeroizing<Vec<u8>>,
    /// Compressed bytes of the deflate test, counted and thrown away (they are ciphertext-free
    /// but derived from secrets, so zeroized too).
    sink: Zeroizing<Vec<u8>>,
    level6: Compress,
    level1: Compress,
}

impl Scratch {
    fn new() -> Self {
        Self {
            buf: Zeroizing::new(vec![0; 4 * SAMPLE]),
            sink: Zeroizing::new(vec![0; SAMPLE]),
            level6: Compress::new(Compression::new(6), false),
            level1: Compress::new(Compression::new(1), false),
        }
    }

    /// Whether deflate makes `file` smaller: the whole file up to four samples' worth, else a
    /// sample from the start and one from the middle, each needing a 3% gain (so "barely
    /// compressible" data is stored). Leaves the file positioned at its start.
    fn deflate_shrinks(&mut self, file: &mut File, len: u64, path: &Path) -> Result<bool> {
        let read_err = |e: std::io::Error| VaultError::io("read", path, e);
        if len == 0 {
            return Ok(false);
        }
        let shrinks = if len <= (4 * SAMPLE) as u64 {
            let n = len as usize;
            file.read_exact(&mut self.buf[..n]).map_err(read_err)?;
            compressed_len(&mut self.level6, &self.buf[..n], &mut self.sink) < n
        } else {
            let need = SAMPLE - SAMPLE * 3 / 100;
            let mut all = true;
            for at in [0, len / 2] {
                file.seek(SeekFrom::Start(at)).map_err(read_err)?;
                file.read_exact(&mut self.buf[..SAMPLE]).map_err(read_err)?;
                if compressed_len(&mut self.level1, &self.buf[..SAMPLE], &mut self.sink) >= need {
                    all = false;
                    break;
                }
            }
            all
        };
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        Ok(shrinks)
    }

    /// Stream `file` (expected `len` bytes) into the open zip entry.
    fn copy(
        &mut self,
        file: &mut File,
        zw: &mut ZipWriter<Cursor<&mut Vec<u8>>>,
        len: u64,
        path: &Path,
    ) -> Result<()> {
        let mut total: u64 = 0;
        loop {
            let n = file
                .read(&mut self.buf[..])
                .map_err(|e| VaultError::io("read", path, e))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > len {
                break;
            }
            zw.write_all(&self.buf[..n])
                .map_err(|err| VaultError::Zip {
                    reason: format!("write: {}", err.kind()),
                })?;
        }
        if total != len {
            return Err(VaultError::ChangedDuringPush {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }
}

/// The raw-deflate size of `data`, compressed with `c` (reset first) into the reused `sink`.
fn compressed_len(c: &mut Compress, data: &[u8], sink: &mut [u8]) -> usize {
    c.reset();
    let mut input = data;
    let mut total = 0usize;
    loop {
        let (in_before, out_before) = (c.total_in(), c.total_out());
        let status = c.compress(input, sink, FlushCompress::Finish);
        let used = (c.total_in() - in_before) as usize;
        total += (c.total_out() - out_before) as usize;
        input = &input[used..];
        match status {
            Ok(Status::StreamEnd) => return total,
            Ok(_) => {}
            // Cannot happen with a fresh state and a non-empty sink; "does not shrink" is safe.
            Err(_) => return usize::MAX,
        }
    }
}

type FullOpts = zip::write::FullFileOptions<'static, 'static>;

fn entry_options(meta: &std::fs::Metadata, is_dir: bool) -> Result<FullOpts> {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let secs = mtime.map(|d| d.as_secs()).unwrap_or(0);
    let mode = unix_mode(meta, is_dir);
    let base = SimpleFileOptions::default()
        .system(zip::System::Unix)
        .unix_permissions(mode)
        .last_modified_time(dos_time(secs));
    match u32::try_from(secs) {
        Ok(s) if mtime.is_some() => base
            .with_extended_timestamp(Some(s), None, None)
            .map_err(zip_write_err),
        _ => Ok(base.into_full_options()),
    }
}

fn unix_mode(meta: &std::fs::Metadata, is_dir: bool) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = is_dir;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        if is_dir { 0o755 } else { 0o644 }
    }
}

fn dos_time(unix_secs: u64) -> zip::DateTime {
    let Ok(secs) = i64::try_from(unix_secs) else {
        return zip::DateTime::default();
    };
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return zip::DateTime::default();
    };
    let Ok(year) = u16::try_from(t.year()) else {
        return zip::DateTime::default();
    };
    zip::DateTime::from_date_and_time(
        year,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_len_matches_a_fresh_encoder_and_reuses_state() {
        let text: Vec<u8> = b"KEY=value\n".repeat(5_000);
        let mut c = Compress::new(Compression::new(6), false);
        let mut sink = vec![0; SAMPLE];
        let a = compressed_len(&mut c, &text, &mut sink);
        let b = compressed_len(&mut c, &text, &mut sink);
        let mut fresh = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(6));
        fresh.write_all(&text).unwrap();
        assert_eq!((a, b), (fresh.finish().unwrap().len(), a));
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: Vec<u8> = (0..SAMPLE)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        assert!(compressed_len(&mut c, &noise, &mut sink) > SAMPLE / 2);
    }
}
