//! The frames the host and a plugin child exchange over their private socket (docs/plugins.md,
//! *Process model*).
//!
//! A frame is a fixed 24-byte header — body length (u32), flags (u32), rc (i32), reserved
//! (u32), call id (u64), all little-endian — then the body. Every reader is given a cap and
//! refuses a header that announces more, so a child cannot make the host allocate without bound.

use std::io::{self, Read, Write};

/// Header size.
pub const HEADER: usize = 24;

/// Body present (a reply buffer the plugin returned; requests always carry one).
pub const F_BODY: u32 = 1;
/// The plugin's reply was over the size cap; the child dropped it.
pub const F_TOO_LARGE: u32 = 2;

/// The load frame carries a path to a sealed copy of the library instead of its bytes.
pub const F_PATH: u32 = 4;

/// Call id of the child's hello (manifest) frame and of the host's load frame.
pub const HELLO_ID: u64 = 0;

/// One frame.
#[derive(Debug, Default)]
pub struct Frame {
    /// Which call this answers (or [`HELLO_ID`]).
    pub call_id: u64,
    /// Flag bits (`F_*`).
    pub flags: u32,
    /// The plugin's return code (replies).
    pub rc: i32,
    /// Body. It may hold values: zeroized on drop.
    pub body: zeroize::Zeroizing<Vec<u8>>,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The other side closed the channel before a header started.
    #[error("the channel closed")]
    Closed,
    /// A header announced more than the cap.
    #[error("a frame of {got} bytes is over the {cap}-byte cap")]
    TooLarge {
        /// Announced length.
        got: u64,
        /// The cap.
        cap: usize,
    },
    /// The channel closed in the middle of a frame.
    #[error("the channel closed in the middle of a frame")]
    Truncated,
    /// Reserved bits set: the peer does not speak this protocol.
    #[error("a malformed frame header")]
    Malformed,
    /// Any other I/O error.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Write one frame.
pub fn write(w: &mut impl Write, call_id: u64, flags: u32, rc: i32, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame body over 4 GiB"))?;
    let mut h = [0u8; HEADER];
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[4..8].copy_from_slice(&flags.to_le_bytes());
    h[8..12].copy_from_slice(&rc.to_le_bytes());
    h[16..24].copy_from_slice(&call_id.to_le_bytes());
    w.write_all(&h)?;
    w.write_all(body)?;
    w.flush()
}

/// Read one frame whose body is at most `cap` bytes.
pub fn read(r: &mut impl Read, cap: usize) -> Result<Frame, FrameError> {
    let mut h = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // a socket whose peer died with our unread frames in its buffer says "reset"
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && got == 0 => {
                return Err(FrameError::Closed);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(FrameError::Truncated);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let len = word(0) as usize;
    let flags = word(4);
    let rc = word(8) as i32;
    if word(12) != 0 || flags & !(F_BODY | F_TOO_LARGE | F_PATH) != 0 {
        return Err(FrameError::Malformed);
    }
    if len > cap {
        return Err(FrameError::TooLarge {
            got: len as u64,
            cap,
        });
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&h[16..24]);
    let mut body = zeroize::Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(Frame {
        call_id: u64::from_le_bytes(id),
        flags,
        rc,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut buf = Vec::new();
        write(&mut buf, 7, F_BODY, -2, b"{\"ok\":1}").unwrap();
        let f = read(&mut &buf[..], 100).unwrap();
        assert_eq!((f.call_id, f.flags, f.rc), (7, F_BODY, -2));
        assert_eq!(&f.body[..], b"{\"ok\":1}");
    }

    #[test]
    fn caps_truncation_and_garbage_are_errors() {
        let mut buf = Vec::new();
        write(&mut buf, 1, F_BODY, 0, &[b'x'; 64]).unwrap();
        assert!(matches!(
            read(&mut &buf[..], 63),
            Err(FrameError::TooLarge { got: 64, .. })
        ));
        assert!(matches!(
            read(&mut &buf[..30], 100),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            read(&mut &buf[..5], 100),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(read(&mut &b""[..], 100), Err(FrameError::Closed)));
        // text where a header should be: caught by the reserved bits or the cap
        let garbage = b"hello from a plugin that prints to stdout\n";
        assert!(read(&mut &garbage[..], 1 << 20).is_err());
    }
}
