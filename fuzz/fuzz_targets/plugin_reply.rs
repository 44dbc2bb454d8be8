//! What a plugin child sends back (untrusted bytes on the host's socket): any byte stream reads
//! as frames without a panic and without a body over the cap, and any frame body is interpreted
//! (as a call reply, and as a manifest) into a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_dest_api::abi::{frame, reply};

/// Small, so the fuzzer also walks the over-cap path.
const CAP: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    // a stream of frames, as the host reads them until one fails
    while let Ok(f) = frame::read(&mut input, CAP) {
        assert!(f.body.len() <= CAP);
        let body = (f.flags & frame::F_BODY != 0).then_some(&f.body[..]);
        let _ = reply::interpret(f.rc, body);
        let _ = reply::manifest(f.call_id as u32, &f.body);
        // what was read writes back to the same bytes
        let mut again = Vec::new();
        frame::write(&mut again, f.call_id, f.flags, f.rc, &f.body).unwrap();
        let back = frame::read(&mut &again[..], CAP).unwrap();
        assert_eq!((back.call_id, back.flags, back.rc), (f.call_id, f.flags, f.rc));
        assert_eq!(&back.body[..], &f.body[..]);
    }
});
