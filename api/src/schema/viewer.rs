//! `viewer`: who the caller is, as the server sees it, and what its rate-limit bucket holds.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Organization;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::loaders::ById;
use crate::ratelimit::{CostCtx, Throttle};
use async_graphql::{Context, Enum, Object, SimpleObject};
use std::sync::Arc;

/// A caller's role: what it may read and write (see `docs/security.md`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ViewerRole")]
pub enum ViewerRole {
    /// Everything, in every grid.
    Admin,
    /// The grids of its scope and their subtrees: people, services, participations.
    GridManager,
    /// Its own organisation, its members and their participations.
    VolunteerOrg,
    /// Statistics only, perturbed for small counts; no personal records.
    Agency,
    /// No credential: published services and the grid tree.
    Public,
}

impl From<Role> for ViewerRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => ViewerRole::Admin,
            Role::GridManager => ViewerRole::GridManager,
            Role::VolunteerOrg => ViewerRole::VolunteerOrg,
            Role::Agency => ViewerRole::Agency,
            Role::Public => ViewerRole::Public,
        }
    }
}

/// The cost-based rate limit of the caller: a bucket of points that each operation's cost is
/// taken from and that refills continuously (the same figures as `extensions.cost
/// .throttleStatus` and the `RateLimit` header).
#[derive(SimpleObject)]
pub struct RateLimitStatus {
    /// Points a full bucket holds: the most one operation may cost.
    maximum_available: u32,
    /// Points in the bucket now, after this operation's cost was taken.
    currently_available: u32,
    /// Points restored per second.
    restore_rate: u32,
}

impl From<Throttle> for RateLimitStatus {
    fn from(t: Throttle) -> Self {
        RateLimitStatus {
            maximum_available: t.maximum_available,
            currently_available: t.currently_available,
            restore_rate: t.restore_rate,
        }
    }
}

/// The caller of this operation.
pub struct Viewer;

/// The caller of this operation as the server sees it: its role, scopes, grids, organisation
/// and rate-limit bucket.
#[Object]
impl Viewer {
    /// The caller's role; `PUBLIC` without a credential.
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<ViewerRole> {
        Ok(RequestCtx::of(ctx)?.actor.caller.role.into())
    }
    /// The caller's scopes, e.g. `pii:read` (which unmasks phone and ID numbers within its
    /// grids); empty without a credential.
    async fn scopes(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        Ok(RequestCtx::of(ctx)?.actor.caller.scopes.clone())
    }
    /// The grids whose subtrees the caller's credential names (a grid manager's grids); empty
    /// for roles not bound to grids.
    async fn grids(&self, ctx: &Context<'_>) -> ApiResult<Vec<Grid>> {
        let rq = RequestCtx::of(ctx)?;
        let ids: Vec<_> = rq.actor.caller.grids.iter().map(|g| g.id).collect();
        super::grid::grids_in_order(rq, &ids).await
    }
    /// The caller's organisation (a volunteer organisation's key or token); null otherwise.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let rq = RequestCtx::of(ctx)?;
        let Some(id) = rq.actor.caller.organization_id else {
            return Ok(None);
        };
        Ok(rq
            .loader
            .load_one(ById::<entity::organization::Entity>::new(id))
            .await?
            .map(Organization))
    }
    /// The caller's rate-limit bucket.
    async fn rate_limit(&self, ctx: &Context<'_>) -> ApiResult<RateLimitStatus> {
        let cost = ctx
            .data::<Arc<CostCtx>>()
            .map_err(|_| ApiError::internal("cost context missing"))?;
        Ok(cost.throttle().into())
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who is calling: role, scopes, grids, organisation and rate-limit bucket, for any
    /// caller (PUBLIC included).
    async fn viewer(&self) -> Viewer {
        Viewer
    }
}
