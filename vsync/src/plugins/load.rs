//! Loading a vetted plugin file with `libloading` and calling its five C symbols. The only
//! `unsafe` of the vsync crate lives here; each block states why it is sound.

use std::ffi::CStr;
use std::path::Path;

use vsync_dest_api::abi::{
    AbiVersionFn, CallFn, FreeFn, MIN_SUPPORTED_ABI, Manifest, RC_ERROR, RC_MISUSE, RC_OK,
    RC_PANIC, VSYNC_DEST_ABI_VERSION, VsyncBuf, WIRE_SCHEMA,
};
use vsync_dest_api::{DestError, DestErrorKind};
use zeroize::Zeroizing;

/// Largest reply accepted from a plugin.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// The resolved entry points of one loaded plugin. The `Library` is leaked on purpose: it
/// stays mapped for the whole process (unloading races thread-local destructors), so the
/// function pointers never dangle.
#[derive(Debug, Clone, Copy)]
pub struct Symbols {
    pub(crate) call: CallFn,
    pub(crate) free: FreeFn,
}

fn load_err(path: &Path, what: impl std::fmt::Display) -> DestError {
    DestError::new(
        DestErrorKind::Config,
        format!("plugin {}: {what}", path.display()),
    )
}

/// Load `path` (already vetted), check the ABI version first, then read the manifest.
pub fn load(path: &Path) -> Result<(Symbols, Manifest), DestError> {
    // SAFETY: loading runs the library's initialisers. This is the documented trust decision
    // of plugins (docs/plugins.md): the file was vetted (ownership, permissions, optional
    // sha256 pin) by the caller before we get here.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| load_err(path, e))?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol type matches the ABI's declaration of `vsync_dest_abi_version`.
    let abi: AbiVersionFn = unsafe { lib.get::<AbiVersionFn>(b"vsync_dest_abi_version\0") }
        .map(|s| *s)
        .map_err(|_| {
            load_err(
                path,
                "missing symbol vsync_dest_abi_version (not a vsync plugin)",
            )
        })?;
    // SAFETY: a no-argument function returning u32, per the ABI.
    let v = unsafe { abi() };
    if !(MIN_SUPPORTED_ABI..=VSYNC_DEST_ABI_VERSION).contains(&v) {
        return Err(load_err(
            path,
            format!(
                "ABI version {v} is not supported (this vsync speaks {MIN_SUPPORTED_ABI}..={VSYNC_DEST_ABI_VERSION}); rebuild the plugin"
            ),
        ));
    }
    // SAFETY (three gets): the types match the ABI declarations; the library is never unloaded.
    let manifest_fn =
        unsafe { lib.get::<vsync_dest_api::abi::ManifestFn>(b"vsync_dest_manifest\0") }
            .map(|s| *s)
            .map_err(|_| load_err(path, "missing symbol vsync_dest_manifest"))?;
    let call = unsafe { lib.get::<CallFn>(b"vsync_dest_call\0") }
        .map(|s| *s)
        .map_err(|_| load_err(path, "missing symbol vsync_dest_call"))?;
    let free = unsafe { lib.get::<FreeFn>(b"vsync_dest_free\0") }
        .map(|s| *s)
        .map_err(|_| load_err(path, "missing symbol vsync_dest_free"))?;
    // SAFETY: the manifest is a static NUL-terminated string owned by the plugin, valid until
    // unload (never); we copy it at once and bound its length.
    let ptr = unsafe { manifest_fn() };
    if ptr.is_null() {
        return Err(load_err(path, "vsync_dest_manifest returned null"));
    }
    let text = unsafe { CStr::from_ptr(ptr) };
    let bytes = text.to_bytes();
    if bytes.len() > MAX_REPLY_BYTES {
        return Err(load_err(path, "manifest too large"));
    }
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| load_err(path, format!("malformed manifest: {e}")))?;
    if manifest.schema != WIRE_SCHEMA {
        return Err(load_err(
            path,
            format!("manifest schema {} is not supported", manifest.schema),
        ));
    }
    if manifest.abi != v {
        return Err(load_err(
            path,
            "manifest abi differs from vsync_dest_abi_version",
        ));
    }
    if !valid_id(&manifest.id) {
        return Err(load_err(
            path,
            format!("invalid plugin id {:?}", manifest.id),
        ));
    }
    Ok((Symbols { call, free }, manifest))
}

/// `[a-z][a-z0-9-]{0,31}`.
pub fn valid_id(id: &str) -> bool {
    let mut c = id.chars();
    matches!(c.next(), Some(f) if f.is_ascii_lowercase())
        && id.len() <= 32
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// One blocking call: JSON in, JSON (`{"ok":…}` / `{"error":…}`) out. Any misbehaviour of the
/// plugin becomes an `Internal` error, never a crash of the host.
pub fn call(sym: Symbols, request: &Zeroizing<Vec<u8>>) -> Result<serde_json::Value, DestError> {
    let mut out = VsyncBuf::empty();
    // SAFETY: `request` outlives the call; `out` is a valid, writable VsyncBuf. The plugin
    // catches its own panics (rc -2); a plugin that does not is outside what any host can
    // defend against in-process (documented threat model).
    let rc = unsafe { (sym.call)(request.as_ptr(), request.len(), &mut out) };
    let reply: Option<Zeroizing<Vec<u8>>> = if out.ptr.is_null() {
        None
    } else if out.len > MAX_REPLY_BYTES || out.len > out.cap {
        // SAFETY: returned to the plugin that allocated it, exactly once.
        unsafe { (sym.free)(out) };
        return Err(DestError::internal(format!(
            "plugin reply too large or malformed ({} bytes)",
            out_len_hint(rc)
        )));
    } else {
        // SAFETY: the plugin promises ptr/len describe its initialised buffer until freed;
        // we copy it, then hand it back exactly once.
        let copy = Zeroizing::new(unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec());
        unsafe { (sym.free)(out) };
        Some(copy)
    };
    match rc {
        RC_OK | RC_ERROR => {}
        RC_PANIC => return Err(DestError::internal("the plugin panicked")),
        RC_MISUSE => return Err(DestError::internal("the plugin reported ABI misuse")),
        other => {
            return Err(DestError::internal(format!(
                "the plugin returned rc {other}"
            )));
        }
    }
    let reply = reply.ok_or_else(|| DestError::internal("the plugin returned no reply"))?;
    let mut v: serde_json::Value = serde_json::from_slice(&reply)
        .map_err(|_| DestError::internal("the plugin returned malformed JSON"))?;
    if rc == RC_OK {
        v.get_mut("ok")
            .map(serde_json::Value::take)
            .ok_or_else(|| DestError::internal("the plugin reply has no \"ok\""))
    } else {
        let e = v
            .get_mut("error")
            .map(serde_json::Value::take)
            .ok_or_else(|| DestError::internal("the plugin error reply has no \"error\""))?;
        let w: vsync_dest_api::abi::WireError = serde_json::from_value(e)
            .map_err(|_| DestError::internal("the plugin returned a malformed error"))?;
        Err(w.into())
    }
}

fn out_len_hint(_rc: i32) -> &'static str {
    "over 16 MiB"
}

#[cfg(test)]
mod tests {
    //! The host's handling of misbehaving plugins, with in-process stand-ins for the C symbols.
    use super::*;

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

    #[test]
    fn ids() {
        assert!(valid_id("jsonfile") && valid_id("a-1"));
        assert!(!valid_id("1a") && !valid_id("A") && !valid_id("") && !valid_id(&"a".repeat(33)));
    }
}
