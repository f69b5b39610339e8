//! Per-request batched loading: every relation is one `IN (…)` statement per level of the query.
//!
//! The DataLoader's batch futures are driven by the request's own task (see
//! `schema::execute`), so a batch starts only once every sibling resolver that can run has
//! registered its key: the number of statements depends on the shape of the query, never on
//! timing or page sizes.
//!
//! Each batch is a `dataloader.batch` span (loader, table, number of keys) inside the
//! request's `graphql.operation` span, with its SQL statements as children.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Scoped;
use crate::store::Table;
use crate::store::page::{self, OrderSpec, Page, PageRequest};
use async_graphql::dataloader::Loader;
use entity::*;
use sea_orm::sea_query::{ColumnRef, Expr, ExprTrait, PostgresQueryBuilder};
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter, QueryTrait, Select};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use uuid::Uuid;

/// The loader behind the request's `DataLoader`; implements `Loader` for every key type below.
pub struct DbLoader {
    pub db: DatabaseConnection,
    /// Rows the caller may not see are never loaded.
    pub caller: Arc<Caller>,
}

/// Loads one row of `E` by id.
pub struct ById<E>(pub Uuid, PhantomData<fn() -> E>);

impl<E> ById<E> {
    pub fn new(id: Uuid) -> Self {
        ById(id, PhantomData)
    }
}
impl<E> Clone for ById<E> {
    fn clone(&self) -> Self {
        ById(self.0, PhantomData)
    }
}
impl<E> PartialEq for ById<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<E> Eq for ById<E> {}
impl<E> Hash for ById<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<E: Scoped> Loader<ById<E>> for DbLoader {
    type Value = E::Model;
    type Error = ApiError;

    #[tracing::instrument(
        name = "dataloader.batch",
        skip_all,
        fields(loader = "ById", table = E::default().table_name(), keys = keys.len())
    )]
    async fn load(&self, keys: &[ById<E>]) -> Result<HashMap<ById<E>, E::Model>, ApiError> {
        E::readable(&self.caller)?;
        let rows = E::find()
            .filter(Expr::col((E::default(), E::id_col())).is_in(keys.iter().map(|k| k.0)))
            .filter(E::visible(&self.caller))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| (ById::new(E::model_id(&m)), m))
            .collect())
    }
}

/// What a nested connection asks for, shared by the keys of all its parents.
pub struct ChildSpec<E: Table> {
    fingerprint: String,
    /// Hash of `fingerprint`, so that keys hash a number rather than the SQL text.
    fingerprint_hash: u64,
    select: Select<E>,
    partition: ColumnRef,
    order: OrderSpec<E>,
    page: PageRequest,
}

impl<E: Table> ChildSpec<E> {
    /// `select` is the filtered base query; `partition` the column holding the parent id.
    pub fn new(
        select: Select<E>,
        partition: ColumnRef,
        order: OrderSpec<E>,
        page: PageRequest,
    ) -> Arc<Self> {
        // Two fields of one request batch together exactly when they would run the same SQL.
        let fingerprint = format!(
            "{}|{:?}|{}|{:?}|{:?}",
            select.as_query().to_string(PostgresQueryBuilder),
            partition,
            order.tag,
            order.direction,
            page
        );
        let fingerprint_hash = {
            let mut h = std::hash::DefaultHasher::new();
            fingerprint.hash(&mut h);
            h.finish()
        };
        Arc::new(ChildSpec {
            fingerprint,
            fingerprint_hash,
            select,
            partition,
            order,
            page,
        })
    }

    fn same(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
            || (self.fingerprint_hash == other.fingerprint_hash
                && self.fingerprint == other.fingerprint)
    }
}

/// The specs of one request's nested connections, by field of the query document: the same
/// field under many parents (every resident's `participations`) builds its spec — filter,
/// visibility condition, SQL fingerprint — once instead of once per parent. A field of the
/// document is resolved by one resolver: only a fragment on an interface declaring a connection
/// field could send one field to two object types, and no interface does (`Node` has `id`
/// only); an interface that ever does needs the parent type in the key.
#[derive(Default)]
pub struct ChildSpecs(
    std::sync::Mutex<HashMap<(usize, std::any::TypeId), Arc<dyn std::any::Any + Send + Sync>>>,
);

impl ChildSpecs {
    /// The spec of the document field at `field` (its address in the parsed document, which
    /// outlives the request), built by `build` the first time.
    pub fn get_or_build<E: Table>(
        &self,
        field: usize,
        build: impl FnOnce() -> Result<Arc<ChildSpec<E>>, ApiError>,
    ) -> Result<Arc<ChildSpec<E>>, ApiError> {
        let key = (field, std::any::TypeId::of::<E>());
        let cached = {
            let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&key).cloned()
        };
        if let Some(spec) = cached.and_then(|a| a.downcast::<ChildSpec<E>>().ok()) {
            return Ok(spec);
        }
        let spec = build()?;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, spec.clone());
        Ok(spec)
    }
}

/// The page of a nested connection under one parent.
pub struct ChildPage<E: Table> {
    pub parent: Uuid,
    pub spec: Arc<ChildSpec<E>>,
}

/// The `totalCount` of a nested connection under one parent.
pub struct ChildCount<E: Table> {
    pub parent: Uuid,
    pub spec: Arc<ChildSpec<E>>,
}

macro_rules! spec_key {
    ($key:ident) => {
        impl<E: Table> Clone for $key<E> {
            fn clone(&self) -> Self {
                $key {
                    parent: self.parent,
                    spec: self.spec.clone(),
                }
            }
        }
        impl<E: Table> PartialEq for $key<E> {
            fn eq(&self, other: &Self) -> bool {
                self.parent == other.parent && self.spec.same(&other.spec)
            }
        }
        impl<E: Table> Eq for $key<E> {}
        impl<E: Table> Hash for $key<E> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.parent.hash(state);
                self.spec.fingerprint_hash.hash(state);
            }
        }
    };
}
spec_key!(ChildPage);
spec_key!(ChildCount);

/// Groups keys by the spec they share.
fn by_spec<E: Table>(
    keys: impl Iterator<Item = (Uuid, Arc<ChildSpec<E>>)>,
) -> Vec<(Arc<ChildSpec<E>>, Vec<Uuid>)> {
    let mut groups: Vec<(Arc<ChildSpec<E>>, Vec<Uuid>)> = Vec::new();
    for (parent, spec) in keys {
        match groups.iter_mut().find(|(s, _)| s.same(&spec)) {
            Some((_, parents)) => parents.push(parent),
            None => groups.push((spec, vec![parent])),
        }
    }
    groups
}

impl<E: Table> Loader<ChildPage<E>> for DbLoader {
    type Value = Arc<Page<E::Model>>;
    type Error = ApiError;

    #[tracing::instrument(
        name = "dataloader.batch",
        skip_all,
        fields(loader = "ChildPage", table = E::default().table_name(), keys = keys.len())
    )]
    async fn load(
        &self,
        keys: &[ChildPage<E>],
    ) -> Result<HashMap<ChildPage<E>, Self::Value>, ApiError> {
        let mut out = HashMap::with_capacity(keys.len());
        for (spec, parents) in by_spec(keys.iter().map(|k| (k.parent, k.spec.clone()))) {
            let pages = page::fetch_child_pages(
                &self.db,
                spec.select.clone(),
                spec.partition.clone(),
                &parents,
                &spec.order,
                &spec.page,
            )
            .await?;
            for (parent, p) in pages {
                out.insert(
                    ChildPage {
                        parent,
                        spec: spec.clone(),
                    },
                    Arc::new(p),
                );
            }
        }
        Ok(out)
    }
}

impl<E: Table> Loader<ChildCount<E>> for DbLoader {
    type Value = u64;
    type Error = ApiError;

    #[tracing::instrument(
        name = "dataloader.batch",
        skip_all,
        fields(loader = "ChildCount", table = E::default().table_name(), keys = keys.len())
    )]
    async fn load(&self, keys: &[ChildCount<E>]) -> Result<HashMap<ChildCount<E>, u64>, ApiError> {
        let mut out = HashMap::with_capacity(keys.len());
        for (spec, parents) in by_spec(keys.iter().map(|k| (k.parent, k.spec.clone()))) {
            let counts = page::count_children(
                &self.db,
                spec.select.clone(),
                spec.partition.clone(),
                &parents,
            )
            .await?;
            for (parent, n) in counts {
                out.insert(
                    ChildCount {
                        parent,
                        spec: spec.clone(),
                    },
                    n,
                );
            }
        }
        Ok(out)
    }
}

/// All rows of `E` whose column `by` is one of the keys, grouped by that column: for small
/// bounded lists (a person's tags and memberships, a grid's workers).
pub struct ListBy<E: Table> {
    pub key: Uuid,
    pub by: E::Column,
}

impl<E: Table> Clone for ListBy<E> {
    fn clone(&self) -> Self {
        ListBy {
            key: self.key,
            by: self.by,
        }
    }
}
impl<E: Table> PartialEq for ListBy<E> {
    fn eq(&self, other: &Self) -> bool {
        use sea_orm::IdenStatic;
        self.key == other.key && self.by.as_str() == other.by.as_str()
    }
}
impl<E: Table> Eq for ListBy<E> {}
impl<E: Table> Hash for ListBy<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        use sea_orm::IdenStatic;
        self.key.hash(state);
        self.by.as_str().hash(state);
    }
}

impl<E: Scoped> Loader<ListBy<E>> for DbLoader {
    type Value = Arc<Vec<E::Model>>;
    type Error = ApiError;

    #[tracing::instrument(
        name = "dataloader.batch",
        skip_all,
        fields(loader = "ListBy", table = E::default().table_name(), keys = keys.len())
    )]
    async fn load(&self, keys: &[ListBy<E>]) -> Result<HashMap<ListBy<E>, Self::Value>, ApiError> {
        use sea_orm::{ModelTrait, QueryOrder};
        E::readable(&self.caller)?;
        let mut out = HashMap::with_capacity(keys.len());
        let mut columns: Vec<E::Column> = Vec::new();
        for k in keys {
            use sea_orm::IdenStatic;
            if !columns.iter().any(|c| c.as_str() == k.by.as_str()) {
                columns.push(k.by);
            }
        }
        for by in columns {
            use sea_orm::IdenStatic;
            let ids: Vec<Uuid> = keys
                .iter()
                .filter(|k| k.by.as_str() == by.as_str())
                .map(|k| k.key)
                .collect();
            let rows = E::find()
                .filter(Expr::col((E::default(), by)).is_in(ids.iter().copied()))
                .filter(E::visible(&self.caller))
                .order_by_asc(Expr::col((E::default(), E::id_col())))
                .all(&self.db)
                .await?;
            let mut grouped: HashMap<Uuid, Vec<E::Model>> =
                ids.iter().map(|id| (*id, Vec::new())).collect();
            for row in rows {
                if let sea_orm::Value::Uuid(Some(k)) = row.get(by) {
                    grouped.entry(k).or_default().push(row);
                }
            }
            for (key, rows) in grouped {
                out.insert(ListBy { key, by }, Arc::new(rows));
            }
        }
        Ok(out)
    }
}

/// Number of participations of a service that hold a place (not cancelled).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParticipantCount(pub Uuid);

impl Loader<ParticipantCount> for DbLoader {
    type Value = u64;
    type Error = ApiError;

    #[tracing::instrument(
        name = "dataloader.batch",
        skip_all,
        fields(loader = "ParticipantCount", table = "participation", keys = keys.len())
    )]
    async fn load(
        &self,
        keys: &[ParticipantCount],
    ) -> Result<HashMap<ParticipantCount, u64>, ApiError> {
        use sea_orm::ColumnTrait;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let select = participation::Entity::find()
            .filter(participation::Column::Status.ne(ParticipationStatus::Cancelled));
        let counts = page::count_children(
            &self.db,
            select,
            ColumnRef::from((participation::Entity, participation::Column::ServiceId)),
            &ids,
        )
        .await?;
        Ok(counts
            .into_iter()
            .map(|(k, n)| (ParticipantCount(k), n))
            .collect())
    }
}
