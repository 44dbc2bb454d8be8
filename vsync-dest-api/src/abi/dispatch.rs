//! The plugin side of a call: one decoded [`Request`] answered by a [`Destination`], and the
//! reply encoded for the host. No `unsafe` here; `ffi` wraps it for the C symbols.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::wire::*;
use super::{RC_ERROR, RC_OK};
use crate::{Ctx, DestError, Destination, RemoteName};

fn de<T: for<'a> Deserialize<'a>>(v: serde_json::Value) -> Result<T, DestError> {
    serde_json::from_value(v).map_err(|e| DestError::internal(format!("bad payload: {e}")))
}

fn ok<T: Serialize>(v: T) -> Result<serde_json::Value, DestError> {
    serde_json::to_value(v).map_err(|e| DestError::internal(format!("cannot encode reply: {e}")))
}

/// Plugin side: answer one request with a destination. Used by [`export_destination!`];
/// public so a plugin can be tested without the C layer.
pub async fn dispatch(
    dest: &dyn Destination,
    req: Request,
) -> Result<serde_json::Value, DestError> {
    let mut ctx = Ctx::new(req.env.clone(), req.repo.clone());
    ctx.deadline = None;
    let routing = &req.routing;
    match req.op {
        Op::ResolveRouting => {
            let p: ResolvePayload = de(req.payload)?;
            let r = dest.resolve_routing(p.stored.as_ref(), &p.opts)?;
            ok(ResolveResult {
                routing: r.routing,
                persist: r.persist,
            })
        }
        Op::Capabilities => ok(dest.capabilities(routing)),
        Op::MapNames => {
            let p: NamesPayload = de(req.payload)?;
            let out: Vec<MappedName> = p
                .names
                .into_iter()
                .map(|k| match dest.map_name(routing, &k) {
                    Ok(n) => MappedName {
                        key: k,
                        name: Some(n.0),
                        error: None,
                    },
                    Err(e) => MappedName {
                        key: k,
                        name: None,
                        error: Some((&e).into()),
                    },
                })
                .collect();
            ok(out)
        }
        Op::Preflight => {
            dest.preflight(routing, &ctx).await?;
            ok(())
        }
        Op::List => ok(dest.list(routing, &ctx).await?),
        Op::ReadValues => {
            let p: NamesPayload = de(req.payload)?;
            let names: Vec<RemoteName> = p.names.into_iter().map(RemoteName).collect();
            let got = dest.read_values(routing, &names, &ctx).await?;
            ok(got.map(|m| {
                m.iter()
                    .map(|(n, v)| WireItem::encode(&n.0, v))
                    .collect::<Vec<_>>()
            }))
        }
        Op::Plan => {
            let p: PlanPayload = de(req.payload)?;
            let items = decode_items(p.items)?;
            ok(dest.plan(routing, &items, &p.opts, &ctx).await?)
        }
        Op::ApplyOne => {
            let p: ApplyOnePayload = de(req.payload)?;
            let item = p.item.map(WireItem::into_item).transpose()?;
            ok(dest
                .apply_one(routing, &p.change, item.as_ref(), &ctx)
                .await?)
        }
        Op::ApplyBulk => {
            let p: ApplyBulkPayload = de(req.payload)?;
            let items = decode_items(p.items)?;
            let r = dest.apply_bulk(routing, &p.plan, &items, &ctx).await?;
            ok(WireReport::from(&r))
        }
        Op::DeleteOne => {
            let p: NamesPayload = de(req.payload)?;
            let name = p
                .names
                .into_iter()
                .next()
                .ok_or_else(|| DestError::internal("delete_one without a name"))?;
            dest.delete_one(routing, &RemoteName(name), &ctx).await?;
            ok(())
        }
        Op::Unknown => Err(DestError::unsupported("unknown op")),
    }
}

/// One request's bytes in, `(rc, reply JSON)` out: `RC_OK` with `{"ok":…}` or `RC_ERROR` with
/// `{"error":…}`; `None` when the reply cannot be encoded. Panics are the caller's to catch.
pub(super) fn answer(dest: &dyn Destination, request: &[u8]) -> Option<(i32, Vec<u8>)> {
    let reply = match serde_json::from_slice::<Request>(request) {
        Ok(r) => runtime().block_on(dispatch(dest, r)),
        Err(e) => Err(DestError::internal(format!("bad request: {e}"))),
    };
    let encoded = match reply {
        Ok(v) => (RC_OK, serde_json::to_vec(&serde_json::json!({ "ok": v }))),
        Err(e) => (
            RC_ERROR,
            serde_json::to_vec(&serde_json::json!({ "error": WireError::from(&e) })),
        ),
    };
    match encoded {
        (rc, Ok(bytes)) => Some((rc, bytes)),
        (_, Err(_)) => None,
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("plugin runtime")
    })
}
