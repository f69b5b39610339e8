//! Keyset ("cursor") pagination, written once for every type.
//!
//! A page is ordered by one column plus `id` as a tie-breaker, so pages never overlap and stay
//! stable when rows are inserted. A cursor carries the ordering it belongs to, the sort value and
//! the id of its row, sealed with the server's cursor key (`seal`). Nested connections (the residents of fifty grids) are fetched in one
//! statement: `ROW_NUMBER() OVER (PARTITION BY parent …)` ranks rows per parent and the outer
//! query keeps `limit + 1` rows of each.

use super::Table;
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, ColumnRef, Expr, ExprTrait, Func, Order, Query, WindowStatement,
};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn order(self, reversed: bool) -> Order {
        match (self, reversed) {
            (Direction::Asc, false) | (Direction::Desc, true) => Order::Asc,
            _ => Order::Desc,
        }
    }
}

/// The ordering of a connection: one column, a direction, and the name cursors carry.
#[derive(Debug, Clone)]
pub struct OrderSpec<E: EntityTrait> {
    pub column: E::Column,
    pub direction: Direction,
    pub tag: &'static str,
}

/// The sort value stored in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
enum SortValue {
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "d")]
    Time(DateTime<Utc>),
    #[serde(rename = "n")]
    Day(NaiveDate),
}

impl SortValue {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::String(Some(s)) => Some(SortValue::Text(s)),
            Value::Int(Some(i)) => Some(SortValue::Int(i64::from(i))),
            Value::BigInt(Some(i)) => Some(SortValue::Int(i)),
            Value::ChronoDateTimeUtc(Some(d)) => Some(SortValue::Time(d)),
            Value::ChronoDate(Some(d)) => Some(SortValue::Day(d)),
            _ => None,
        }
    }

    fn into_value(self) -> ApiResult<Value> {
        Ok(match self {
            SortValue::Text(s) => s.into(),
            SortValue::Int(i) => i32::try_from(i)
                .map_err(|_| ApiError::bad_input("after", "invalid cursor"))?
                .into(),
            SortValue::Time(d) => d.into(),
            SortValue::Day(d) => d.into(),
        })
    }
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "o")]
    order: String,
    #[serde(rename = "v")]
    value: SortValue,
    #[serde(rename = "i")]
    id: Uuid,
}

impl Cursor {
    /// The sealed form handed to clients (see [`super::seal`]): it reveals neither the sort
    /// value nor the row.
    fn encode(&self) -> ApiResult<String> {
        let json = serde_json::to_vec(self)
            .map_err(|_| ApiError::internal("a cursor could not be serialised"))?;
        super::seal::seal(&json)
    }

    fn decode(s: &str, field: &str) -> ApiResult<Self> {
        let plain = super::seal::open(s, field, "cursor")?;
        serde_json::from_slice(&plain)
            .map_err(|_| ApiError::bad_input(field, format!("`{field}` is not a valid cursor")))
    }
}

/// A validated page request (`first`/`after`/`last`/`before`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub limit: u64,
    /// `last` was given: take the rows at the end of the window.
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl PageRequest {
    /// Validates Relay connection arguments: at most one of `first`/`last`, each in 0..=100.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Self> {
        fn size(field: &str, n: i32) -> ApiResult<u64> {
            let n = u64::try_from(n).map_err(|_| {
                ApiError::bad_input(field, format!("`{field}` must not be negative"))
            })?;
            let max = crate::caps::current().max_page_size;
            if n > max {
                return Err(ApiError::bad_input(
                    field,
                    format!("`{field}` must be at most {max} (asked for {n})"),
                ));
            }
            Ok(n)
        }
        let (limit, backward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "last",
                    "pass either `first` or `last`, not both",
                ));
            }
            (Some(f), None) => (size("first", f)?, false),
            (None, Some(l)) => (size("last", l)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        Ok(PageRequest {
            limit,
            backward,
            after: after.map(|c| Cursor::decode(&c, "after")).transpose()?,
            before: before.map(|c| Cursor::decode(&c, "before")).transpose()?,
        })
    }
}

/// Encodes the cursor of one row of a page.
pub type CursorFn<M> = Arc<dyn Fn(&M) -> ApiResult<String> + Send + Sync>;

/// One page of rows. Cursors are encoded only for the rows a client asks them of (most
/// queries select none), by [`Page::cursor_of`].
#[derive(Clone)]
pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_next: bool,
    pub has_previous: bool,
    cursor: Option<CursorFn<M>>,
}

impl<M> Default for Page<M> {
    fn default() -> Self {
        Page {
            rows: Vec::new(),
            has_next: false,
            has_previous: false,
            cursor: None,
        }
    }
}

impl<M> Page<M> {
    /// The cursor of `row` (a row of this page).
    pub fn cursor_of(&self, row: &M) -> ApiResult<String> {
        match &self.cursor {
            Some(encode) => encode(row),
            None => Err(ApiError::internal("a page without rows has no cursors")),
        }
    }
}

fn col<E: Table>(c: E::Column) -> Expr {
    Expr::col((E::default(), c))
}

/// Rows strictly past `cursor` in the connection's order (`later`), or strictly before it.
fn beyond<E: Table>(
    order: &OrderSpec<E>,
    cursor: &Cursor,
    later: bool,
    field: &str,
) -> ApiResult<sea_orm::Condition> {
    if cursor.order != order.tag {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is a cursor of another ordering"),
        ));
    }
    let value = cursor.value.clone().into_value()?;
    let ascending = (order.direction == Direction::Asc) == later;
    let (sort, id) = (col::<E>(order.column), col::<E>(E::id_col()));
    let (strict, tie) = if ascending {
        (sort.clone().gt(value.clone()), id.gt(cursor.id))
    } else {
        (sort.clone().lt(value.clone()), id.lt(cursor.id))
    };
    Ok(sea_orm::Condition::any()
        .add(strict)
        .add(sea_orm::Condition::all().add(sort.eq(value)).add(tie)))
}

fn keyset<E: Table>(order: &OrderSpec<E>, page: &PageRequest) -> ApiResult<sea_orm::Condition> {
    let mut cond = sea_orm::Condition::all();
    if let Some(c) = &page.after {
        cond = cond.add(beyond(order, c, true, "after")?);
    }
    if let Some(c) = &page.before {
        cond = cond.add(beyond(order, c, false, "before")?);
    }
    Ok(cond)
}

fn cursor_of<E: Table>(order: &OrderSpec<E>, m: &E::Model) -> ApiResult<String> {
    let value = SortValue::from_value(m.get(order.column)).ok_or_else(|| {
        ApiError::internal(format!("{}: unsupported sort column for cursors", E::NAME))
    })?;
    Cursor {
        order: order.tag.to_owned(),
        value,
        id: E::model_id(m),
    }
    .encode()
}

/// Turns `limit + 1` fetched rows into a page.
fn finish<E: Table>(
    mut rows: Vec<E::Model>,
    order: &OrderSpec<E>,
    page: &PageRequest,
) -> ApiResult<Page<E::Model>> {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    if page.backward {
        rows.reverse();
    }
    let order = order.clone();
    let cursor: CursorFn<E::Model> = Arc::new(move |m| cursor_of(&order, m));
    let (has_next, has_previous) = if page.backward {
        (page.before.is_some(), more)
    } else {
        (more, page.after.is_some())
    };
    Ok(Page {
        rows,
        has_next,
        has_previous,
        cursor: Some(cursor),
    })
}

/// One page of `select` (already filtered) in `order`.
pub async fn fetch_page<E: Table>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    order: &OrderSpec<E>,
    page: &PageRequest,
) -> ApiResult<Page<E::Model>> {
    let dir = order.direction.order(page.backward);
    let rows = select
        .filter(keyset(order, page)?)
        .order_by(col::<E>(order.column), dir.clone())
        .order_by(col::<E>(E::id_col()), dir)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    finish(rows, order, page)
}

/// Total number of rows of `select`.
pub async fn count(db: &impl ConnectionTrait, select: Select<impl Table>) -> ApiResult<u64> {
    Ok(select.count(db).await?)
}

/// A row together with the parent it was fetched for.
struct WithParent<M> {
    parent: Uuid,
    model: M,
}

impl<M: FromQueryResult> FromQueryResult for WithParent<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(WithParent {
            parent: res.try_get(pre, "gg_parent")?,
            model: M::from_query_result(res, pre)?,
        })
    }
}

/// One page per parent in a single statement. `partition` is the column that holds the parent id
/// (possibly of a joined table); rows whose parent is not in `parents` are not read.
pub async fn fetch_child_pages<E: Table>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    partition: ColumnRef,
    parents: &[Uuid],
    order: &OrderSpec<E>,
    page: &PageRequest,
) -> ApiResult<HashMap<Uuid, Page<E::Model>>> {
    let dir = order.direction.order(page.backward);
    let mut window = WindowStatement::partition_by(partition.clone());
    window
        .order_by_expr(col::<E>(order.column), dir.clone())
        .order_by_expr(col::<E>(E::id_col()), dir);
    let mut inner = select
        .filter(Expr::col(partition.clone()).is_in(parents.iter().copied()))
        .filter(keyset(order, page)?)
        .into_query();
    inner
        .expr_as(Expr::col(partition), Alias::new("gg_parent"))
        .expr_window_as(Func::cust("ROW_NUMBER"), window, Alias::new("gg_rn"));
    let mut outer = Query::select();
    outer
        .column(Asterisk)
        .from_subquery(inner, Alias::new("gg_page"))
        .and_where(Expr::col(Alias::new("gg_rn")).lte(page.limit + 1))
        .order_by(Alias::new("gg_parent"), Order::Asc)
        .order_by(Alias::new("gg_rn"), Order::Asc);
    let stmt = db.get_database_backend().build(&outer);
    let rows = WithParent::<E::Model>::find_by_statement(stmt)
        .all(db)
        .await?;
    let mut grouped: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(row.parent).or_default().push(row.model);
    }
    let mut pages = HashMap::with_capacity(parents.len());
    for parent in parents {
        let rows = grouped.remove(parent).unwrap_or_default();
        pages.insert(*parent, finish(rows, order, page)?);
    }
    Ok(pages)
}

/// Row counts per parent of `select`, in one grouped statement.
pub async fn count_children<E: Table>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    partition: ColumnRef,
    parents: &[Uuid],
) -> ApiResult<HashMap<Uuid, u64>> {
    let rows: Vec<(Uuid, i64)> = select
        .select_only()
        .column_as(Expr::col(partition.clone()), "gg_parent")
        .column_as(col::<E>(E::id_col()).count(), "gg_count")
        .filter(Expr::col(partition.clone()).is_in(parents.iter().copied()))
        .group_by(Expr::col(partition))
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, u64> = parents.iter().map(|p| (*p, 0)).collect();
    for (parent, n) in rows {
        counts.insert(parent, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}
