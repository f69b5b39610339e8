//! Grid mutations.

use super::{create_once, deleted_payload, write};
use crate::error::{ApiError, ApiResult};
use crate::schema::grid::Grid;
use crate::schema::input::{patch, required, text};
use crate::schema::relay::{gid, id_of};
use crate::schema::scalars::GridLevel;
use crate::store::grid::{self as store, GridChanges, NewGrid};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use entity::grid;
use serde::Serialize;

/// Fields of a new grid for `createGrid`.
#[derive(InputObject, Serialize)]
pub struct CreateGridInput {
    /// Administrative code: 6, 9 or 12 digits, a grid adds `-NN` (e.g. `370685001003-07`).
    pub code: String,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Level in the hierarchy: one below the parent's.
    pub level: GridLevel,
    /// The parent grid; only a DISTRICT may be without one.
    pub parent_id: Option<ID>,
    /// GeoJSON geometry.
    pub boundary: Option<Json<serde_json::Value>>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Changes to a grid for `updateGrid`. Omitted fields keep their value; null
/// clears an optional field (`BAD_USER_INPUT` on a required one).
#[derive(InputObject)]
pub struct UpdateGridInput {
    /// New administrative code (same format as in `createGrid`).
    pub code: MaybeUndefined<String>,
    /// New display name, 1–200 characters.
    pub name: MaybeUndefined<String>,
    /// New level.
    pub level: MaybeUndefined<GridLevel>,
    /// A new parent moves the grid with its whole subtree; null makes it a root district.
    pub parent_id: MaybeUndefined<ID>,
    /// New GeoJSON geometry (at most 256 KiB); null removes it.
    pub boundary: MaybeUndefined<Json<serde_json::Value>>,
}

/// Result of `createGrid`.
#[derive(SimpleObject)]
pub struct CreateGridPayload {
    /// The grid as it is after the mutation.
    pub grid: Grid,
}

/// Result of `updateGrid`.
#[derive(SimpleObject)]
pub struct UpdateGridPayload {
    /// The grid as it is after the mutation.
    pub grid: Grid,
}

deleted_payload!(
    /// Result of `deleteGrid`.
    DeleteGridPayload
);

/// Checks the shape of an administrative code.
fn code(value: &str) -> ApiResult<String> {
    let v = value.trim();
    let (digits, suffix) = match v.split_once('-') {
        Some((d, s)) => (d, Some(s)),
        None => (v, None),
    };
    let digits_ok =
        matches!(digits.len(), 6 | 9 | 12) && digits.bytes().all(|b| b.is_ascii_digit());
    let suffix_ok =
        suffix.is_none_or(|s| (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()));
    if !digits_ok || !suffix_ok || (suffix.is_some() && digits.len() != 12) {
        return Err(ApiError::bad_input(
            "code",
            "`code` must be 6, 9 or 12 digits, optionally followed by `-` and a 1–3 digit grid number after 12 digits",
        ));
    }
    Ok(v.to_owned())
}

/// Checks that a boundary is a GeoJSON geometry and returns its JSON text.
fn boundary(value: serde_json::Value) -> ApiResult<String> {
    const TYPES: [&str; 7] = [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    ];
    let ok = value
        .get("type")
        .and_then(|t| t.as_str())
        .is_some_and(|t| TYPES.contains(&t))
        && (value.get("coordinates").is_some_and(|c| c.is_array())
            || value.get("geometries").is_some_and(|g| g.is_array()));
    if !ok {
        return Err(ApiError::bad_input(
            "boundary",
            "`boundary` must be a GeoJSON geometry object",
        ));
    }
    crate::schema::input::json_strings("boundary", &value)?;
    let text = value.to_string();
    let max = crate::caps::current().max_boundary_bytes;
    if text.len() > max {
        return Err(ApiError::bad_input(
            "boundary",
            format!("`boundary` must be at most {max} bytes"),
        ));
    }
    Ok(text)
}

#[derive(Default)]
pub struct GridMutation;

#[Object]
impl GridMutation {
    /// Creates a grid under `parentId` (ADMIN; GRID_MANAGER within its subtrees, not a root
    /// district). Retries with the same `idempotencyKey` return the first grid.
    async fn create_grid(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new grid.")] input: CreateGridInput,
    ) -> ApiResult<CreateGridPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let hash = input_hash(&input);
        let new = || -> ApiResult<NewGrid> {
            Ok(NewGrid {
                code: code(&input.code)?,
                name: text("name", &input.name, 200)?,
                level: input.level.into(),
                parent_id: input
                    .parent_id
                    .as_ref()
                    .map(|p| id_of::<grid::Entity>(p, "parentId"))
                    .transpose()?,
                boundary: input
                    .boundary
                    .as_ref()
                    .map(|b| boundary(b.0.clone()))
                    .transpose()?,
            })
        };
        new()?;
        let new = &new;
        let model = create_once::<grid::Entity, _, _>(
            ctx,
            "createGrid",
            key,
            &hash,
            move |w, id| async move { store::create(&w, new()?, id).await },
        )
        .await?;
        Ok(CreateGridPayload { grid: Grid(model) })
    }

    /// Changes a grid; moving it to a new parent rewrites its whole subtree in the same
    /// transaction.
    async fn update_grid(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdateGridInput,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<UpdateGridPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let id = id_of::<grid::Entity>(&id, "id")?;
        let changes = GridChanges {
            code: required("code", input.code)?
                .map(|c| code(&c))
                .transpose()?,
            name: required("name", input.name)?
                .map(|n| text("name", &n, 200))
                .transpose()?,
            level: required("level", input.level)?.map(Into::into),
            parent_id: patch(input.parent_id, |p| {
                id_of::<grid::Entity>(&p, "parentId").map(Some)
            })?,
            boundary: patch(input.boundary, |b| boundary(b.0).map(Some))?,
        };
        let changes = &changes;
        let model = write(ctx, move |w| async move {
            store::update(&w, id, changes.clone(), expected_version).await
        })
        .await?;
        Ok(UpdateGridPayload { grid: Grid(model) })
    }

    /// Deletes a grid without children, residents or services (CONFLICT otherwise).
    async fn delete_grid(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid to delete.")] id: ID,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<DeleteGridPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = id_of::<grid::Entity>(&id, "id")?;
        write(ctx, move |w| async move {
            store::delete(&w, key, expected_version).await
        })
        .await?;
        Ok(DeleteGridPayload {
            deleted_id: gid::<grid::Entity>(key),
        })
    }
}
