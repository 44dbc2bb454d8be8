//! [`PluginDestination`]: a plugin running in its own child process, behind the ordinary
//! [`Destination`] trait. Requests are the ABI's JSON; the child relays them to the library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use vsync_dest_api::abi::{
    ApplyBulkPayload, ApplyOnePayload, Manifest, MappedName, NamesPayload, Op, PlanPayload,
    Request, ResolvePayload, ResolveResult, WIRE_SCHEMA, WireItem, WireReport,
};
use vsync_dest_api::{
    ApplyReport, Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination,
    OptionMap, Plan, PlanOptions, RemoteName, Resolved, Routing, RoutingSchema, SecretBytes,
    SecretItem,
};
use zeroize::Zeroizing;

use super::host::Host;
use super::vet::Vetted;

/// A plugin as a destination.
#[derive(Debug)]
pub struct PluginDestination {
    host: Arc<Host>,
    /// The manifest it declared.
    pub manifest: Manifest,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the bytes loaded, when it was pinned or asked for.
    pub sha256: Option<String>,
    serial: Arc<std::sync::Mutex<()>>,
}

impl PluginDestination {
    /// Vet `path` (with the optional sha256 pin) and start it in its own process. `timeout`
    /// bounds the load and every call.
    pub fn open(
        path: &Path,
        pin: Option<&str>,
        hash: bool,
        timeout: Duration,
    ) -> Result<Self, DestError> {
        Self::start(super::vet::vet(path, pin, hash)?, timeout)
    }

    /// Start vetted bytes in their own process and check the manifest they declare.
    pub fn start(v: Vetted, timeout: Duration) -> Result<Self, DestError> {
        let (host, abi, text) =
            Host::start(&v, timeout).map_err(|e| DestError::new(DestErrorKind::Config, e))?;
        let manifest = super::reply::manifest(abi, &text).map_err(|e| {
            DestError::new(
                DestErrorKind::Config,
                format!("plugin {}: {e}", v.path.display()),
            )
        })?;
        host.set_label(&manifest.id);
        Ok(Self {
            host: Arc::new(host),
            manifest,
            path: v.path,
            sha256: v.sha256,
            serial: Arc::new(std::sync::Mutex::new(())),
        })
    }

    /// Why the plugin's process can take no more calls (it crashed, exited, hung or spoke
    /// garbage), if it cannot.
    pub fn failure(&self) -> Option<String> {
        self.host.failure()
    }

    fn remember(&self, items: &[SecretItem]) {
        for i in items {
            self.host.redactor().add(i.value.expose());
        }
    }

    fn request(
        &self,
        op: Op,
        routing: &Routing,
        ctx: Option<&Ctx>,
        payload: impl Serialize,
    ) -> Result<Zeroizing<Vec<u8>>, DestError> {
        let req = Request {
            schema: WIRE_SCHEMA,
            call_id: 0,
            op,
            routing: routing.clone(),
            env: ctx.map(|c| c.env.clone()).unwrap_or_default(),
            repo: ctx.map(|c| c.repo.clone()).unwrap_or_default(),
            payload: serde_json::to_value(payload)
                .map_err(|e| DestError::internal(format!("cannot encode request: {e}")))?,
        };
        serde_json::to_vec(&req)
            .map(Zeroizing::new)
            .map_err(|e| DestError::internal(format!("cannot encode request: {e}")))
    }

    fn call_blocking(
        &self,
        op: Op,
        req: &Zeroizing<Vec<u8>>,
    ) -> Result<serde_json::Value, DestError> {
        let _g = if self.manifest.reentrant {
            None
        } else {
            Some(self.serial.lock().unwrap_or_else(|p| p.into_inner()))
        };
        self.host.call(op_name(op), req, None, None)
    }

    async fn call_async<T: for<'a> serde::Deserialize<'a>>(
        &self,
        op: Op,
        routing: &Routing,
        ctx: &Ctx,
        payload: impl Serialize,
    ) -> Result<T, DestError> {
        let req = self.request(op, routing, Some(ctx), payload)?;
        let host = self.host.clone();
        let reentrant = self.manifest.reentrant;
        let serial = self.serial.clone();
        let deadline: Option<Instant> = ctx.deadline;
        let cancel = ctx.cancel.clone();
        let v = tokio::task::spawn_blocking(move || {
            let _g = if reentrant {
                None
            } else {
                Some(serial.lock().unwrap_or_else(|p| p.into_inner()))
            };
            host.call(op_name(op), &req, deadline, Some(&cancel))
        })
        .await
        .map_err(|_| DestError::internal("the plugin call did not complete"))??;
        parse(v)
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::ResolveRouting => "resolve_routing",
        Op::Capabilities => "capabilities",
        Op::MapNames => "map_names",
        Op::Preflight => "preflight",
        Op::List => "list",
        Op::ReadValues => "read_values",
        Op::Plan => "plan",
        Op::ApplyOne => "apply_one",
        Op::ApplyBulk => "apply_bulk",
        Op::DeleteOne => "delete_one",
        Op::Unknown => "unknown",
    }
}

fn parse<T: for<'a> serde::Deserialize<'a>>(v: serde_json::Value) -> Result<T, DestError> {
    serde_json::from_value(v)
        .map_err(|e| DestError::internal(format!("the plugin reply has the wrong shape: {e}")))
}

fn items_wire(items: &[SecretItem]) -> Vec<WireItem> {
    items
        .iter()
        .map(|i| WireItem::encode(&i.key, &i.value))
        .collect()
}

#[async_trait::async_trait]
impl Destination for PluginDestination {
    fn id(&self) -> &str {
        &self.manifest.id
    }

    fn display_name(&self) -> &str {
        &self.manifest.name
    }

    fn capabilities(&self, routing: &Routing) -> Capabilities {
        // routing-dependent answer from the plugin; the manifest's view when it cannot say
        self.request(Op::Capabilities, routing, None, ())
            .and_then(|req| self.call_blocking(Op::Capabilities, &req))
            .and_then(parse)
            .unwrap_or_else(|_| self.manifest.capabilities.clone())
    }

    fn routing_schema(&self) -> RoutingSchema {
        self.manifest.routing_schema.clone()
    }

    fn resolve_routing(
        &self,
        stored: Option<&serde_json::Value>,
        opts: &OptionMap,
    ) -> Result<Resolved, DestError> {
        let payload = ResolvePayload {
            stored: stored.cloned(),
            opts: opts.clone(),
        };
        let req = self.request(Op::ResolveRouting, &Routing::new(), None, payload)?;
        let r: ResolveResult = parse(self.call_blocking(Op::ResolveRouting, &req)?)?;
        Ok(Resolved {
            routing: r.routing,
            persist: r.persist,
        })
    }

    fn map_name(&self, routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        let req = self.request(
            Op::MapNames,
            routing,
            None,
            NamesPayload {
                names: vec![key.to_owned()],
            },
        )?;
        let mut out: Vec<MappedName> = parse(self.call_blocking(Op::MapNames, &req)?)?;
        let m = out
            .pop()
            .ok_or_else(|| DestError::internal("the plugin mapped no name"))?;
        match (m.name, m.error) {
            (_, Some(e)) => Err(e.into()),
            (Some(n), None) => Ok(RemoteName(n)),
            (None, None) => Err(DestError::internal("the plugin mapped no name")),
        }
    }

    async fn preflight(&self, routing: &Routing, ctx: &Ctx) -> Result<(), DestError> {
        let _: serde_json::Value = self.call_async(Op::Preflight, routing, ctx, ()).await?;
        Ok(())
    }

    async fn list(
        &self,
        routing: &Routing,
        ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        self.call_async(Op::List, routing, ctx, ()).await
    }

    async fn read_values(
        &self,
        routing: &Routing,
        names: &[RemoteName],
        ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        let payload = NamesPayload {
            names: names.iter().map(|n| n.0.clone()).collect(),
        };
        let got: Option<Vec<WireItem>> = self
            .call_async(Op::ReadValues, routing, ctx, payload)
            .await?;
        let got = got.map(vsync_dest_api::abi::decode_values).transpose()?;
        for v in got.iter().flat_map(|m| m.values()) {
            self.host.redactor().add(v.expose());
        }
        Ok(got)
    }

    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        self.remember(items);
        let payload = PlanPayload {
            items: items_wire(items),
            opts: opts.clone(),
        };
        self.call_async(Op::Plan, routing, ctx, payload).await
    }

    async fn apply_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: Option<&SecretItem>,
        ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        if let Some(i) = item {
            self.host.redactor().add(i.value.expose());
        }
        let payload = ApplyOnePayload {
            change: change.clone(),
            item: item.map(|i| WireItem::encode(&i.key, &i.value)),
        };
        self.call_async(Op::ApplyOne, routing, ctx, payload).await
    }

    async fn apply_bulk(
        &self,
        routing: &Routing,
        plan: &Plan,
        items: &[SecretItem],
        ctx: &Ctx,
    ) -> Result<ApplyReport, DestError> {
        self.remember(items);
        let payload = ApplyBulkPayload {
            plan: plan.clone(),
            items: items_wire(items),
        };
        let r: WireReport = self
            .call_async(Op::ApplyBulk, routing, ctx, payload)
            .await?;
        Ok(r.into())
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        ctx: &Ctx,
    ) -> Result<(), DestError> {
        let payload = NamesPayload {
            names: vec![name.0.clone()],
        };
        let _: serde_json::Value = self
            .call_async(Op::DeleteOne, routing, ctx, payload)
            .await?;
        Ok(())
    }
}
