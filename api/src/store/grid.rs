//! Grid writes: the hierarchy's rules and subtree moves.

use super::changes::SubtreeScopes;
use super::filters;
use super::write::{Writer, db, snapshot};
use crate::error::{ApiError, ApiResult};
use entity::{GridLevel, grid, person, service};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// A new grid, already validated field by field.
pub struct NewGrid {
    pub code: String,
    pub name: String,
    pub level: GridLevel,
    pub parent_id: Option<Uuid>,
    pub boundary: Option<String>,
}

/// Changes to a grid; `None` leaves a field as it is.
#[derive(Default, Clone)]
pub struct GridChanges {
    pub code: Option<String>,
    pub name: Option<String>,
    pub level: Option<GridLevel>,
    /// `Some(None)` makes the grid a root.
    pub parent_id: Option<Option<Uuid>>,
    pub boundary: Option<Option<String>>,
}

fn level_name(level: GridLevel) -> &'static str {
    match level {
        GridLevel::District => "DISTRICT",
        GridLevel::Street => "STREET",
        GridLevel::Community => "COMMUNITY",
        GridLevel::Grid => "GRID",
    }
}

fn depth(level: GridLevel) -> i32 {
    match level {
        GridLevel::District => 1,
        GridLevel::Street => 2,
        GridLevel::Community => 3,
        GridLevel::Grid => 4,
    }
}

/// A root grid is a district; a child is deeper in the hierarchy than its parent.
fn check_level(level: GridLevel, parent: Option<&grid::Model>) -> ApiResult<()> {
    match parent {
        None if level != GridLevel::District => Err(ApiError::bad_input(
            "parentId",
            "only a DISTRICT grid can be without a parent",
        )),
        Some(p) if depth(level) <= depth(p.level) => Err(ApiError::bad_input(
            "level",
            format!(
                "a {} grid cannot be under a {} grid",
                level_name(level),
                level_name(p.level)
            ),
        )),
        _ => Ok(()),
    }
}

async fn ensure_code_free(w: &Writer, code: &str, except: Option<Uuid>) -> ApiResult<()> {
    let mut q = grid::Entity::find().filter(grid::Column::Code.eq(code));
    if let Some(id) = except {
        q = q.filter(grid::Column::Id.ne(id));
    }
    if q.count(&w.txn).await.map_err(db)? > 0 {
        return Err(ApiError::Conflict {
            message: "another grid already has this code".into(),
            reason: Some("CODE_TAKEN"),
            details: vec![("field".into(), "code".into())],
        });
    }
    Ok(())
}

async fn parent(w: &Writer, id: Option<Uuid>) -> ApiResult<Option<grid::Model>> {
    match id {
        None => Ok(None),
        Some(id) => Ok(Some(w.get::<grid::Entity>(id, "parentId").await?)),
    }
}

/// A GRID_MANAGER works below its grids: it cannot make a grid a root.
fn check_root(w: &Writer, parent_id: Option<Uuid>) -> ApiResult<()> {
    if parent_id.is_none() && w.actor.caller.role == crate::auth::Role::GridManager {
        return Err(ApiError::Forbidden(
            "a GRID_MANAGER cannot create or move a root grid".into(),
        ));
    }
    Ok(())
}

pub async fn create(w: &Writer, new: NewGrid, id: Uuid) -> ApiResult<grid::Model> {
    check_root(w, new.parent_id)?;
    let parent = parent(w, new.parent_id).await?;
    check_level(new.level, parent.as_ref())?;
    ensure_code_free(w, &new.code, None).await?;
    let parent_path = parent.as_ref().map_or("/", |p| p.path.as_str());
    let model = grid::Model {
        id,
        code: new.code,
        name: new.name,
        level: new.level,
        parent_id: new.parent_id,
        path: format!("{parent_path}{id}/"),
        boundary: new.boundary,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<grid::Entity>(model).await?;
    w.created::<grid::Entity>(&[id]).await?;
    w.audit("createGrid", "Grid", id, None, Some(snapshot(&model)), None)
        .await?;
    Ok(model)
}

pub async fn update(
    w: &Writer,
    id: Uuid,
    changes: GridChanges,
    expected: Option<i32>,
) -> ApiResult<grid::Model> {
    let current = w.lock::<grid::Entity>(id).await?;
    super::write::check_version(current.version, expected)?;
    let before = snapshot(&current);
    let mut next = current.clone();
    if let Some(code) = changes.code {
        ensure_code_free(w, &code, Some(id)).await?;
        next.code = code;
    }
    if let Some(name) = changes.name {
        next.name = name;
    }
    if let Some(level) = changes.level {
        next.level = level;
    }
    if let Some(boundary) = changes.boundary {
        next.boundary = boundary;
    }
    if let Some(parent_id) = changes.parent_id {
        next.parent_id = parent_id;
    }
    if next.parent_id != current.parent_id {
        check_root(w, next.parent_id)?;
    }
    let new_parent = parent(w, next.parent_id).await?;
    if let Some(p) = &new_parent
        && p.path.starts_with(&current.path)
    {
        return Err(ApiError::Conflict {
            message: "a grid cannot be moved under itself or its descendants".into(),
            reason: Some("CYCLE"),
            details: vec![("field".into(), "parentId".into())],
        });
    }
    check_level(next.level, new_parent.as_ref())?;
    // Children must stay deeper than their parent.
    let shallowest_child: Option<Option<i32>> = grid::Entity::find()
        .select_only()
        .column_as(grid::Column::Level.min(), "m")
        .filter(grid::Column::ParentId.eq(id))
        .into_tuple()
        .one(&w.txn)
        .await
        .map_err(db)?;
    if let Some(Some(child)) = shallowest_child
        && child <= depth(next.level)
    {
        return Err(ApiError::bad_input(
            "level",
            "the grid has children at this level or above",
        ));
    }
    let moved = if next.parent_id != current.parent_id {
        Some(SubtreeScopes::of(w, id).await?)
    } else {
        None
    };
    if next.parent_id != current.parent_id {
        let new_path = format!(
            "{}{id}/",
            new_parent.as_ref().map_or("/", |p| p.path.as_str())
        );
        move_subtree(w, id, &current.path, &new_path).await?;
        next.path = new_path;
    }
    let saved = w.update::<grid::Entity>(next, current.version).await?;
    match moved {
        Some(subtree) => subtree.record(w).await?,
        None => w.touched::<grid::Entity>(&[id]).await?,
    }
    w.audit(
        "updateGrid",
        "Grid",
        id,
        Some(before),
        Some(snapshot(&saved)),
        None,
    )
    .await?;
    Ok(saved)
}

/// Rewrites the paths of every descendant of `id` in one statement.
async fn move_subtree(w: &Writer, id: Uuid, old: &str, new: &str) -> ApiResult<()> {
    let old_len = i32::try_from(old.chars().count()).map_err(ApiError::internal)?;
    let tail = Func::cust("SUBSTR").args([Expr::col(grid::Column::Path), Expr::val(old_len + 1)]);
    grid::Entity::update_many()
        .col_expr(
            grid::Column::Path,
            Expr::val(new).binary(BinOper::Custom("||"), Expr::expr(tail)),
        )
        .col_expr(
            grid::Column::Version,
            Expr::col(grid::Column::Version).add(1),
        )
        .col_expr(grid::Column::UpdatedAt, Expr::val(w.now))
        .filter(filters::path_in_subtree(Expr::col(grid::Column::Path), id))
        .filter(grid::Column::Id.ne(id))
        .exec(&w.txn)
        .await
        .map_err(db)?;
    Ok(())
}

pub async fn delete(w: &Writer, id: Uuid, expected: Option<i32>) -> ApiResult<Uuid> {
    let current = w.lock::<grid::Entity>(id).await?;
    super::write::check_version(current.version, expected)?;
    let children = grid::Entity::find()
        .filter(grid::Column::ParentId.eq(id))
        .count(&w.txn)
        .await
        .map_err(db)?;
    let residents = person::Entity::find()
        .filter(person::Column::GridId.eq(id))
        .count(&w.txn)
        .await
        .map_err(db)?;
    let services = service::Entity::find()
        .filter(service::Column::GridId.eq(id))
        .count(&w.txn)
        .await
        .map_err(db)?;
    if children + residents + services > 0 {
        return Err(ApiError::Conflict {
            message: format!(
                "the grid still has {children} children, {residents} residents and {services} services"
            ),
            reason: Some("GRID_IN_USE"),
            details: vec![
                ("children".into(), children.into()),
                ("residents".into(), residents.into()),
                ("services".into(), services.into()),
            ],
        });
    }
    let scope = w.scopes::<grid::Entity>(&[id]).await?;
    grid::Entity::delete_by_id(id)
        .exec(&w.txn)
        .await
        .map_err(db)?;
    w.deleted::<grid::Entity>(&scope).await?;
    w.audit(
        "deleteGrid",
        "Grid",
        id,
        Some(snapshot(&current)),
        None,
        None,
    )
    .await?;
    Ok(id)
}
