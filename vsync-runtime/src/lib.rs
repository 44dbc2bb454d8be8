//! The library applications link to read their vault at boot. Filled by the teams-and-deploys issue.
#![forbid(unsafe_code)]
