//! Loading a vetted plugin file with `libloading` and calling its C symbols — only ever inside
//! the plugin child process (`super::child`). The only `unsafe` of the vsync crate lives here;
//! each block states why it is sound.

use std::ffi::CStr;
use std::path::Path;

#[cfg(test)]
use vsync_dest_api::DestError;
use vsync_dest_api::abi::{
    AbiVersionFn, CallFn, FreeFn, MIN_SUPPORTED_ABI, VSYNC_DEST_ABI_VERSION, VsyncBuf,
};
use zeroize::Zeroizing;

pub use super::reply::MAX_REPLY_BYTES;

/// The resolved entry points of one loaded plugin. The `Library` is leaked on purpose: it
/// stays mapped for the whole process (unloading races thread-local destructors), so the
/// function pointers never dangle.
#[derive(Debug, Clone, Copy)]
pub struct Symbols {
    pub(crate) call: CallFn,
    pub(crate) free: FreeFn,
}

/// A plugin's raw answer to one call, before interpretation (see [`super::reply`]).
#[derive(Debug)]
pub enum RawReply {
    /// The return code and the reply buffer, if the plugin filled one.
    Done(i32, Option<Zeroizing<Vec<u8>>>),
    /// The reply was over [`MAX_REPLY_BYTES`] (or its length over its capacity).
    TooLarge,
}

/// Load `path` (a private copy of vetted bytes) in the plugin child, check the ABI version
/// before touching any other symbol, and return the entry points, the version, and the
/// manifest text (bounded). The host validates the manifest again on its side.
pub fn load(path: &Path) -> Result<(Symbols, u32, Vec<u8>), String> {
    // SAFETY: loading runs the library's initialisers. This runs only in the plugin child
    // process, on bytes the host vetted and pinned before starting it (docs/plugins.md).
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol type matches the ABI's declaration of `vsync_dest_abi_version`.
    let abi: AbiVersionFn = unsafe { lib.get::<AbiVersionFn>(b"vsync_dest_abi_version\0") }
        .map(|s| *s)
        .map_err(|_| "missing symbol vsync_dest_abi_version (not a vsync plugin)".to_owned())?;
    // SAFETY: a no-argument function returning u32, per the ABI.
    let v = unsafe { abi() };
    if !(MIN_SUPPORTED_ABI..=VSYNC_DEST_ABI_VERSION).contains(&v) {
        return Err(super::reply::abi_message(v));
    }
    // SAFETY (three gets): the types match the ABI declarations; the library is never unloaded.
    let manifest_fn =
        unsafe { lib.get::<vsync_dest_api::abi::ManifestFn>(b"vsync_dest_manifest\0") }
            .map(|s| *s)
            .map_err(|_| "missing symbol vsync_dest_manifest".to_owned())?;
    let call = unsafe { lib.get::<CallFn>(b"vsync_dest_call\0") }
        .map(|s| *s)
        .map_err(|_| "missing symbol vsync_dest_call".to_owned())?;
    let free = unsafe { lib.get::<FreeFn>(b"vsync_dest_free\0") }
        .map(|s| *s)
        .map_err(|_| "missing symbol vsync_dest_free".to_owned())?;
    // SAFETY: the manifest is a static NUL-terminated string owned by the plugin, valid until
    // unload (never); we copy it at once and bound its length.
    let ptr = unsafe { manifest_fn() };
    if ptr.is_null() {
        return Err("vsync_dest_manifest returned null".to_owned());
    }
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.len() > MAX_REPLY_BYTES {
        return Err("manifest too large".to_owned());
    }
    Ok((Symbols { call, free }, v, bytes.to_vec()))
}

/// One blocking call in the plugin child: request bytes in, rc and reply bytes out.
pub fn raw_call(sym: Symbols, request: &[u8]) -> RawReply {
    let mut out = VsyncBuf::empty();
    // SAFETY: `request` outlives the call; `out` is a valid, writable VsyncBuf. A plugin that
    // corrupts memory or aborts takes down only this child process.
    let rc = unsafe { (sym.call)(request.as_ptr(), request.len(), &mut out) };
    if out.ptr.is_null() {
        return RawReply::Done(rc, None);
    }
    if out.len > MAX_REPLY_BYTES || out.len > out.cap {
        // SAFETY: returned to the plugin that allocated it, exactly once.
        unsafe { (sym.free)(out) };
        return RawReply::TooLarge;
    }
    // SAFETY: the plugin promises ptr/len describe its initialised buffer until freed; we copy
    // it, then hand it back exactly once.
    let copy = Zeroizing::new(unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec());
    unsafe { (sym.free)(out) };
    RawReply::Done(rc, Some(copy))
}

/// Both halves in one process (the unit tests' stand-ins for the C symbols).
#[cfg(test)]
fn call(sym: Symbols, request: &Zeroizing<Vec<u8>>) -> Result<serde_json::Value, DestError> {
    match raw_call(sym, request) {
        RawReply::Done(rc, reply) => super::reply::interpret(rc, reply.as_ref().map(|r| &r[..])),
        RawReply::TooLarge => Err(super::reply::too_large()),
    }
}

#[cfg(test)]
mod tests {
    //! The host's handling of misbehaving plugins, with in-process stand-ins for the C symbols.
    use super::*;
    use vsync_dest_api::DestErrorKind;

    fn buf(v: Vec<u8>) -> VsyncBuf {
        let mut v = std::mem::ManuallyDrop::new(v);
        VsyncBuf {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            cap: v.capacity(),
        }
    }

    unsafe extern "C" fn free(b: VsyncBuf) {
        // SAFETY: only buffers made by `buf` above reach here.
        drop(unsafe { Vec::from_raw_parts(b.ptr, b.len, b.cap) });
    }

    unsafe extern "C" fn garbage(_: *const u8, _: usize, out: *mut VsyncBuf) -> i32 {
        // SAFETY: the host passes a writable VsyncBuf.
        unsafe { out.write(buf(b"{not json".to_vec())) };
        0
    }
    unsafe extern "C" fn panicked(_: *const u8, _: usize, _: *mut VsyncBuf) -> i32 {
        -2
    }
    unsafe extern "C" fn weird_rc(_: *const u8, _: usize, _: *mut VsyncBuf) -> i32 {
        42
    }
    unsafe extern "C" fn nothing(_: *const u8, _: usize, _: *mut VsyncBuf) -> i32 {
        0
    }
    unsafe extern "C" fn huge(_: *const u8, _: usize, out: *mut VsyncBuf) -> i32 {
        // SAFETY: as above.
        unsafe { out.write(buf(vec![b' '; MAX_REPLY_BYTES + 1])) };
        0
    }
    unsafe extern "C" fn error_reply(_: *const u8, _: usize, out: *mut VsyncBuf) -> i32 {
        let v = br#"{"error":{"kind":"RateLimited","message":"slow down","retry_after_ms":250}}"#;
        // SAFETY: as above.
        unsafe { out.write(buf(v.to_vec())) };
        1
    }
    unsafe extern "C" fn ok_reply(_: *const u8, _: usize, out: *mut VsyncBuf) -> i32 {
        // SAFETY: as above.
        unsafe { out.write(buf(br#"{"ok":["A","B"],"extra":1}"#.to_vec())) };
        0
    }

    fn run(call: CallFn) -> Result<serde_json::Value, DestError> {
        super::call(Symbols { call, free }, &Zeroizing::new(b"{}".to_vec()))
    }

    #[test]
    fn misbehaviour_is_an_internal_error_never_a_crash() {
        for (f, want) in [
            (garbage as CallFn, "malformed JSON"),
            (panicked as CallFn, "panicked"),
            (weird_rc as CallFn, "rc 42"),
            (nothing as CallFn, "no reply"),
            (huge as CallFn, "too large"),
        ] {
            let e = run(f).unwrap_err();
            assert_eq!(e.kind, DestErrorKind::Internal);
            assert!(e.message.contains(want), "{want}: {}", e.message);
        }
    }

    #[test]
    fn typed_errors_and_results_pass_through() {
        let e = run(error_reply).unwrap_err();
        assert_eq!(e.kind, DestErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_millis(250)));
        assert_eq!(run(ok_reply).unwrap(), serde_json::json!(["A", "B"]));
    }
}
