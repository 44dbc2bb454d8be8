//! The raw side of the ABI: the plugin-allocated [`VsyncBuf`], the symbol types the host
//! resolves, and the entry points [`export_destination!`](crate::export_destination) exports.
//! The only module of vsync-dest-api allowed `unsafe`: raw buffers cross the boundary here;
//! everything else is JSON, handled in `dispatch` and `wire`.

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use zeroize::Zeroize;

use super::{RC_MISUSE, RC_PANIC, manifest_of};
use crate::Destination;

/// A plugin-allocated buffer, returned to the plugin's `vsync_dest_free` exactly once.
#[repr(C)]
#[derive(Debug)]
pub struct VsyncBuf {
    /// Start.
    pub ptr: *mut u8,
    /// Bytes used.
    pub len: usize,
    /// Allocation size.
    pub cap: usize,
}

impl VsyncBuf {
    /// The empty buffer (nothing to free).
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// `vsync_dest_abi_version`.
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// `vsync_dest_manifest`.
pub type ManifestFn = unsafe extern "C" fn() -> *const c_char;
/// `vsync_dest_call`.
pub type CallFn = unsafe extern "C" fn(*const u8, usize, *mut VsyncBuf) -> i32;
/// `vsync_dest_free`.
pub type FreeFn = unsafe extern "C" fn(VsyncBuf);
/// `vsync_dest_cancel`.
pub type CancelFn = unsafe extern "C" fn(u64);

fn into_buf(mut v: Vec<u8>) -> VsyncBuf {
    v.shrink_to_fit();
    let mut v = std::mem::ManuallyDrop::new(v);
    VsyncBuf {
        ptr: v.as_mut_ptr(),
        len: v.len(),
        cap: v.capacity(),
    }
}

/// Plugin side of `vsync_dest_manifest`: a process-lifetime NUL-terminated JSON string.
#[doc(hidden)]
pub fn __manifest(dest: &dyn Destination, version: &str) -> *const c_char {
    static M: OnceLock<CString> = OnceLock::new();
    M.get_or_init(|| {
        let json = serde_json::to_string(&manifest_of(dest, version)).unwrap_or_default();
        CString::new(json).unwrap_or_default()
    })
    .as_ptr()
}

/// Plugin side of `vsync_dest_call`.
///
/// # Safety
/// `req` must point to `req_len` readable bytes for the duration of the call, and `out` to a
/// writable `VsyncBuf`.
#[doc(hidden)]
pub unsafe fn __call(
    dest: &dyn Destination,
    req: *const u8,
    req_len: usize,
    out: *mut VsyncBuf,
) -> i32 {
    if out.is_null() || (req.is_null() && req_len > 0) {
        return RC_MISUSE;
    }
    // SAFETY: the caller guarantees `req` is valid for `req_len` bytes during this call; we
    // copy out of it before returning.
    let bytes: &[u8] = if req_len == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(req, req_len) }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::dispatch::answer(dest, bytes)
    }));
    match result {
        Ok(Some((rc, v))) => {
            // SAFETY: `out` was checked non-null; the caller guarantees it is writable.
            unsafe { out.write(into_buf(v)) };
            rc
        }
        // an unencodable reply is reported like a panic: the host gets no buffer
        Ok(None) | Err(_) => RC_PANIC,
    }
}

/// Plugin side of `vsync_dest_free`: zeroize and release a buffer made by `__call`.
///
/// # Safety
/// `buf` must come from `__call` of this same library and be freed only once.
#[doc(hidden)]
pub unsafe fn __free(buf: VsyncBuf) {
    if buf.ptr.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: ptr/len/cap are exactly what `into_buf` produced from a Vec<u8> in this
        // library's allocator, and the host hands each buffer back once.
        let mut v = unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) };
        v.zeroize();
    });
}

/// Export a [`Destination`] as a vsync plugin: generates the five `extern "C"` symbols of
/// docs/sync-contract.md §15.8. `$ctor` is an expression building the destination (evaluated once).
///
/// ```ignore
/// vsync_dest_api::export_destination!(MyDest, MyDest::default());
/// ```
#[macro_export]
macro_rules! export_destination {
    ($ty:ty, $ctor:expr) => {
        fn __vsync_dest_instance() -> &'static $ty {
            static D: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
            D.get_or_init(|| $ctor)
        }

        /// ABI version (checked first by the host).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_abi_version() -> u32 {
            $crate::abi::VSYNC_DEST_ABI_VERSION
        }

        /// Static manifest JSON.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_manifest() -> *const ::std::ffi::c_char {
            match ::std::panic::catch_unwind(|| {
                $crate::abi::__manifest(__vsync_dest_instance(), env!("CARGO_PKG_VERSION"))
            }) {
                Ok(p) => p,
                Err(_) => ::std::ptr::null(),
            }
        }

        /// One JSON call.
        ///
        /// # Safety
        /// See the ABI: `req` valid for `req_len` bytes, `out` writable.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vsync_dest_call(
            req: *const u8,
            req_len: usize,
            out: *mut $crate::abi::VsyncBuf,
        ) -> i32 {
            let d = match ::std::panic::catch_unwind(__vsync_dest_instance) {
                Ok(d) => d,
                Err(_) => return $crate::abi::RC_PANIC,
            };
            // SAFETY: forwarded caller contract.
            unsafe { $crate::abi::__call(d, req, req_len, out) }
        }

        /// Free a buffer returned by `vsync_dest_call`.
        ///
        /// # Safety
        /// Only buffers from this library, once each.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vsync_dest_free(buf: $crate::abi::VsyncBuf) {
            // SAFETY: forwarded caller contract.
            unsafe { $crate::abi::__free(buf) }
        }

        /// Best-effort cancellation (calls are short; nothing to do).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_cancel(_call_id: u64) {}
    };
}
