//! Which plugin file may be started, and with which pin: the rules `sync` and `plugins list`
//! share. The id a pin belongs to must be known before any plugin code runs, so it comes from
//! the file name (`libvsync_dest_<id>.so`), and the manifest must then declare that same id.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use vsync_dest_api::{DestError, DestErrorKind};

use super::PluginDestination;
use super::discover::{file_name, id_from_file_name};

/// `sync.<id>.plugin_sha256` of one env, by id.
pub type Pins = BTreeMap<String, String>;

fn refuse(path: &Path, what: impl std::fmt::Display) -> DestError {
    DestError::new(
        DestErrorKind::Config,
        format!("refusing to load plugin {}: {what}", path.display()),
    )
}

/// The pin that applies to `path`, decided from its name alone. A file whose name does not
/// state its id is refused when the env pins any plugin: its pin could not be checked before
/// its code runs.
pub fn pin_for_file<'p>(path: &Path, pins: &'p Pins) -> Result<Option<&'p str>, DestError> {
    match id_from_file_name(path) {
        Some(id) => Ok(pins.get(&id).map(String::as_str)),
        None if pins.is_empty() => Ok(None),
        None => Err(refuse(
            path,
            "this env pins plugins (sync.<id>.plugin_sha256) and the file name does not say which \
             id it is, so its pin cannot be checked before it runs; install it as libvsync_dest_<id>.so",
        )),
    }
}

/// Vet (pin included), start, and check that the manifest's id is the one the name states.
/// `hash` asks for the file's SHA-256 even when it is not pinned.
pub fn open(
    path: &Path,
    pins: &Pins,
    hash: bool,
    timeout: Duration,
) -> Result<PluginDestination, DestError> {
    let pin = pin_for_file(path, pins)?;
    let d = PluginDestination::open(path, pin, hash, timeout)?;
    if let Some(named) = id_from_file_name(path)
        && named != d.manifest.id
    {
        return Err(refuse(
            path,
            format!(
                "it declares id {:?} but its file name says {named:?}; rename it to {}",
                d.manifest.id,
                file_name(&d.manifest.id)
            ),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_is_chosen_by_file_name_before_loading() {
        let pins: Pins = [("jsonfile".to_owned(), "ab".to_owned())].into();
        let p = |n: &str| pin_for_file(Path::new(n), &pins);
        assert_eq!(p("/x/libvsync_dest_jsonfile.so").unwrap(), Some("ab"));
        assert_eq!(p("/x/libvsync_dest_other.so").unwrap(), None);
        let e = p("/x/renamed.so").unwrap_err();
        assert!(
            e.message.contains("cannot be checked before it runs"),
            "{e}"
        );
        assert_eq!(
            pin_for_file(Path::new("/x/renamed.so"), &Pins::new()).unwrap(),
            None
        );
    }
}
