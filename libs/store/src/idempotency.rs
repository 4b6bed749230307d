//! Stored responses of creating requests, by `Idempotency-Key`.
//!
//! A service looks the key up inside the transaction that would create the
//! thing; if found with the same request, it answers with the stored
//! response; if found with a different request, the key was reused by
//! mistake. Otherwise it creates, then saves its response in the same
//! transaction, so the thing and its key commit together.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{Condition, ConnectionTrait};

use crate::error::StoreError;

/// A row of the `idempotency_keys` table.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// What the key is for, e.g. `POST /v1/applications/visit-visa`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    /// The client's key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// A hash of the request body, to tell a retry from a reuse.
    pub request_hash: String,
    /// The response status.
    pub status: i32,
    /// The response body.
    pub body: String,
    /// When the first request was answered.
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The stored responses for these `(scope, key)` pairs, in one query.
pub async fn find_all<C: ConnectionTrait>(
    db: &C,
    keys: &[(String, String)],
) -> Result<Vec<Model>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for (scope, key) in keys {
        any = any.add(
            Condition::all()
                .add(Column::Scope.eq(scope.as_str()))
                .add(Column::Key.eq(key.as_str())),
        );
    }
    Ok(Entity::find().filter(any).all(db).await?)
}

/// Saves responses for their keys, inside the creating transaction, in one
/// statement.
pub async fn save_all<C: ConnectionTrait>(txn: &C, rows: Vec<Model>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows.into_iter().map(ActiveModel::from))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// A response to save for `key`, made now.
pub fn response(scope: &str, key: &str, request_hash: &str, status: u16, body: &str) -> Model {
    Model {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        status: i32::from(status),
        body: body.to_owned(),
        created_at: Utc::now(),
    }
}
