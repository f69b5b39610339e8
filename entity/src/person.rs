//! A resident (or worker, or volunteer) with a home grid.

use crate::Gender;
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "person")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_date: Option<Date>,
    /// Mainland mobile number (personal data).
    pub phone: Option<String>,
    /// 18-character resident ID number (personal data).
    #[sea_orm(unique)]
    pub id_number: Option<String>,
    pub grid_id: Uuid,
    pub address: Option<String>,
    /// When the personal data was erased (PIPL Art. 47); an erased person is invisible.
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
