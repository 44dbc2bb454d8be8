//! The vetted bytes as the child loads them. On Linux the host writes them once into an
//! anonymous memory file and seals it (no write, grow or shrink, ever again — not even by us);
//! the child opens it as `/proc/<host pid>/fd/<n>` while the host waits for its hello. That
//! loads exactly the bytes that were hashed without pushing megabytes through the socket.

/// A sealed in-memory copy of a plugin.
#[derive(Debug)]
pub struct Sealed {
    #[cfg(target_os = "linux")]
    _fd: std::os::fd::OwnedFd,
    path: String,
}

impl Sealed {
    /// Copy an open file (from where it is now) into a sealed memory file, in the kernel.
    #[cfg(target_os = "linux")]
    pub fn copy_of(src: &mut std::fs::File) -> std::io::Result<Self> {
        use std::io::Read;
        use std::os::fd::{AsFd, AsRawFd};

        use rustix::fs::{MemfdFlags, SealFlags};
        let fd = rustix::fs::memfd_create(
            "vsync-plugin",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        let mut f = std::fs::File::from(fd);
        // file to file: std uses copy_file_range/sendfile here
        let n = std::io::copy(&mut src.take(super::vet::MAX_PLUGIN_BYTES + 1), &mut f)?;
        if n > super::vet::MAX_PLUGIN_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "larger than 512 MiB",
            ));
        }
        rustix::fs::fcntl_add_seals(
            f.as_fd(),
            SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
        )?;
        let path = format!("/proc/{}/fd/{}", std::process::id(), f.as_raw_fd());
        Ok(Self {
            _fd: f.into(),
            path,
        })
    }

    /// Its bytes (to hash them: what is hashed is what is loaded).
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(&self.path)
    }

    /// Where the child opens it.
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_sealed_against_writes() {
        let mut src = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut src, b"library bytes").unwrap();
        std::io::Seek::rewind(&mut src).unwrap();
        let s = Sealed::copy_of(&mut src).unwrap();
        assert_eq!(s.read_all().unwrap(), b"library bytes");
        assert_eq!(std::fs::read(s.path()).unwrap(), b"library bytes");
        let e = std::fs::OpenOptions::new()
            .write(true)
            .open(s.path())
            .map(|mut f| {
                use std::io::Write;
                f.write_all(b"x")
            });
        assert!(
            matches!(e, Err(_) | Ok(Err(_))),
            "a sealed memfd took a write"
        );
    }
}
