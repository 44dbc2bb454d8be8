//! The destinations one sync run can reach: the built-ins, the `--plugin` files, and plugins
//! found by id. Plugins run in child processes; they are kept so each target can be asked,
//! afterwards, whether its process died (a crash, exit or hang fails that target, never the run).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vsync_dest_api::Destination;

use crate::output;
use crate::plugins::PluginDestination;
use crate::plugins::open::Pins;
use crate::sync::registry::Registry;

/// Built-ins compiled out of this binary that a user may still name.
const OPTIONAL_BUILTINS: &[&str] = &["github", "gcp", "aws", "azure", "hashivault"];

pub(super) struct Destinations {
    registry: Registry,
    pins: Pins,
    call_timeout: Duration,
    plugins: BTreeMap<String, Arc<PluginDestination>>,
    /// Why a `--plugin` file named by its id could not be used.
    plugin_errors: BTreeMap<String, String>,
}

impl Destinations {
    /// The built-ins plus the `--plugin` files (each vetted against `pins`).
    pub(super) fn open(paths: &[PathBuf], pins: Pins, call_timeout: Duration) -> Self {
        let mut d = Self {
            registry: Registry::builtin(),
            pins,
            call_timeout,
            plugins: BTreeMap::new(),
            plugin_errors: BTreeMap::new(),
        };
        for p in paths {
            d.add_plugin_file(p);
        }
        d
    }

    fn add_plugin_file(&mut self, p: &std::path::Path) {
        match crate::plugins::open::open(p, &self.pins, false, self.call_timeout) {
            Ok(d) => {
                let d = Arc::new(d);
                let id = d.manifest.id.clone();
                match self.registry.add(d.clone()) {
                    Ok(()) => {
                        self.plugins.insert(id, d);
                    }
                    Err(e) => {
                        self.plugin_errors.insert(id, e);
                    }
                }
            }
            Err(e) => match crate::plugins::discover::id_from_file_name(p) {
                Some(id) => {
                    self.plugin_errors.insert(id, e.message);
                }
                None => output::warn(e.message),
            },
        }
    }

    /// The destination `id`, or why there is none.
    pub(super) fn get(&mut self, id: &str) -> Result<Arc<dyn Destination>, String> {
        if let Some(d) = self.registry.get(id) {
            return Ok(d);
        }
        if let Some(e) = self.plugin_errors.get(id) {
            return Err(e.clone());
        }
        match crate::plugins::find_plugin(id) {
            Some(path) => crate::plugins::open::open(&path, &self.pins, false, self.call_timeout)
                .map(|d| {
                    let d = Arc::new(d);
                    self.plugins.insert(id.to_owned(), d.clone());
                    d as Arc<dyn Destination>
                })
                .map_err(|e| e.message),
            None if OPTIONAL_BUILTINS.contains(&id) => Err(format!(
                "the {id} destination is not built into this vsync: rebuild with `--features {id}` (built-in: {})",
                self.registry.ids().join(", ")
            )),
            None => Err(format!(
                "unknown target {id:?} (built-in: {}; plugins: --plugin PATH or VSYNC_PLUGIN_DIR)",
                self.registry.ids().join(", ")
            )),
        }
    }

    /// Why the plugin behind `id` is gone, if it is a plugin and its process died.
    pub(super) fn failure(&self, id: &str) -> Option<String> {
        self.plugins.get(id).and_then(|p| p.failure())
    }
}
