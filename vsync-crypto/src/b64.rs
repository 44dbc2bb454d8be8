//! Base64 engines beyond the standard ones.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard alphabet, padding optional, non-zero trailing bits tolerated (upstream's decoder is
/// lenient). Callers map the URL-safe alphabet onto this one first.
pub(crate) const LENIENT_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// B64URL without padding (the `vsync-cfg-v1:` body); non-zero trailing bits tolerated on
/// decode, never produced on encode.
pub(crate) const URL_NOPAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);
