//! Mutations: parse and validate inputs, then run the domain rules of `store` in one
//! transaction per mutation (with its audit entry).

mod grid;
pub mod incident;
mod organization;
mod participation;
mod person;
mod service;

use super::RequestCtx;
use crate::auth::{Caller, Role};
use crate::error::ApiResult;
use crate::policy::Scoped;
use crate::store::write::{self, Writer};
use async_graphql::{Context, MergedObject};
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// Writes. Each mutation runs in one transaction with its audit entry; updates and deletes
/// take `expectedVersion` (a stale one is `CONFLICT`), creates take an optional
/// `idempotencyKey`. Which roles may call each mutation is in `docs/mutations.md`.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    grid::GridMutation,
    person::PersonMutation,
    organization::OrganizationMutation,
    service::ServiceMutation,
    participation::ParticipationMutation,
    incident::IncidentMutation,
    incident::IncidentStepMutation,
);

/// Roles that may manage grids, people, services and grid workers (within their subtrees).
const MANAGERS: &[Role] = &[Role::Admin, Role::GridManager];
/// Roles that may manage organisations and memberships.
const ADMIN: &[Role] = &[Role::Admin];
/// Roles that may register participations and record attendance.
const PARTICIPATION_WRITERS: &[Role] = &[Role::Admin, Role::GridManager, Role::VolunteerOrg];

fn caller<'a>(ctx: &Context<'a>) -> ApiResult<&'a Caller> {
    Ok(&RequestCtx::of(ctx)?.actor.caller)
}

/// Runs `f` as the request's one write transaction.
async fn write<T, F, Fut>(ctx: &Context<'_>, f: F) -> ApiResult<T>
where
    F: Fn(Arc<Writer>) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let rq = RequestCtx::of(ctx)?;
    let out = write::transaction(&rq.db, &rq.actor, f).await?;
    // Committed: number the mutation's changes now, so that the change feed read right after
    // the response already holds them.
    rq.changes.committed().await;
    Ok(out)
}

/// Runs a create mutation at most once per idempotency key: a retry with the same key and input
/// returns the object the first request created (as it is now) and writes nothing.
async fn create_once<E, F, Fut>(
    ctx: &Context<'_>,
    operation: &'static str,
    key: Option<&str>,
    hash: &str,
    create: F,
) -> ApiResult<E::Model>
where
    E: Scoped,
    F: Fn(Arc<Writer>, Uuid) -> Fut,
    Fut: Future<Output = ApiResult<E::Model>>,
{
    let create = &create;
    write(ctx, move |w| async move {
        if let Some(id) = w.replay(operation, key, hash).await? {
            return w.get::<E>(id, "idempotencyKey").await;
        }
        let id = Uuid::now_v7();
        let model = create(w.clone(), id).await?;
        w.remember(operation, key, hash, id).await?;
        Ok(model)
    })
    .await
}

/// Declares the payload of a deletion: the global id of what was removed.
macro_rules! deleted_payload {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            /// Global id of the object that was removed.
            pub deleted_id: async_graphql::ID,
        }
    };
}
pub(crate) use deleted_payload;
