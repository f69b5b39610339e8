//! Column and index helpers shared by the migrations.

use sea_orm_migration::prelude::*;

/// A table with the columns every gridgov table has: a UUID primary key, timestamps and version.
pub fn table(name: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(name))
        .col(
            ColumnDef::new(Alias::new("id"))
                .uuid()
                .not_null()
                .primary_key(),
        )
        .to_owned()
}

/// Appends `created_at`, `updated_at` and `version`.
pub fn with_audit_columns(mut t: TableCreateStatement) -> TableCreateStatement {
    t.col(
        ColumnDef::new(Alias::new("created_at"))
            .timestamp_with_time_zone()
            .not_null(),
    )
    .col(
        ColumnDef::new(Alias::new("updated_at"))
            .timestamp_with_time_zone()
            .not_null(),
    )
    .col(
        ColumnDef::new(Alias::new("version"))
            .integer()
            .not_null()
            .default(1),
    );
    t
}

pub fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(
    table: &str,
    column: &str,
    target: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(on_delete)
        .to_owned()
}

/// An index on `columns` named after them; `unique` for uniqueness constraints.
pub fn index(table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!(
        "{}_{}_{}",
        if unique { "ux" } else { "ix" },
        table,
        columns.join("_")
    ))
    .table(Alias::new(table));
    for c in columns {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

pub async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    for i in indexes {
        manager.create_index(i).await?;
    }
    Ok(())
}

pub async fn drop_table(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(Alias::new(name)).to_owned())
        .await
}
