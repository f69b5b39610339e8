//! Filter building blocks shared by every type: grid subtrees and text search.

use entity::grid;
use sea_orm::sea_query::{
    BinOper, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, SubQueryStatement,
};
use sea_orm::{ColumnTrait, Condition, IntoSimpleExpr};
use uuid::Uuid;

/// `path` of the grid `root`, as a scalar subquery.
fn root_path(root: Uuid, upper: bool) -> Expr {
    let path = Expr::col(grid::Column::Path);
    let expr = if upper {
        subtree_upper_bound(path)
    } else {
        path
    };
    let mut q = Query::select();
    q.expr(expr)
        .from(grid::Entity)
        .and_where(Expr::col(grid::Column::Id).eq(root));
    subquery(q)
}

/// The smallest string greater than every path in the subtree whose root has path `path`:
/// paths end in '/', and '0' is the byte after '/'.
pub fn subtree_upper_bound(path: Expr) -> Expr {
    let length = Expr::expr(Func::cust("LENGTH").arg(path.clone()));
    Expr::expr(Func::cust("SUBSTR").args([path, Expr::val(1), length.sub(1)]))
        .binary(BinOper::Custom("||"), Expr::val("0"))
}

fn subquery(q: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(q)))
}

/// Condition on `path_col` (a grid `path` column) selecting `root` and its whole subtree:
/// one index range scan (`root.path <= path < root.path[..-1] + '0'`).
pub fn path_in_subtree(path_col: impl IntoSimpleExpr + Clone, root: Uuid) -> Condition {
    Condition::all()
        .add(
            path_col
                .clone()
                .into_simple_expr()
                .gte(root_path(root, false)),
        )
        .add(path_col.into_simple_expr().lt(root_path(root, true)))
}

/// Condition on a column holding a grid id: the grid is `root` or one of its descendants.
pub fn grid_id_in_subtree(grid_id_col: impl ColumnTrait, root: Uuid) -> Condition {
    let mut q = Query::select();
    q.column(grid::Column::Id)
        .from(grid::Entity)
        .cond_where(path_in_subtree(
            Expr::col((grid::Entity, grid::Column::Path)),
            root,
        ));
    Condition::all().add(grid_id_col.in_subquery(q))
}

/// Case-insensitive substring match on any of `cols`, with LIKE wildcards in `needle` escaped.
pub fn search<C: ColumnTrait>(cols: &[C], needle: &str) -> Condition {
    let escaped: String = needle
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let pattern = format!("%{}%", escaped.to_lowercase());
    let mut any = Condition::any();
    for col in cols {
        let lowered = Expr::expr(Func::lower(Expr::col((col.entity_name(), *col))));
        any = any.add(lowered.like(LikeExpr::new(pattern.clone()).escape('\\')));
    }
    any
}
