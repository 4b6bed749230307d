//! Stored responses of creating requests, by `Idempotency-Key`.
//!
//! A service looks the key up inside the transaction that would create the
//! thing; if found with the same request, it answers with the stored
//! response; if found with a different request, the key was reused by
//! mistake. Otherwise it creates, then saves its response in the same
//! transaction, so the thing and its key commit together.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, Set};

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

/// The stored response for a key, if any.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    key: &str,
) -> Result<Option<Model>, StoreError> {
    Ok(Entity::find_by_id((scope.to_owned(), key.to_owned()))
        .one(db)
        .await?)
}

/// Saves the response for a key, inside the creating transaction.
pub async fn save<C: ConnectionTrait>(
    txn: &C,
    scope: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
) -> Result<(), StoreError> {
    Entity::insert(ActiveModel {
        scope: Set(scope.to_owned()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        status: Set(i32::from(status)),
        body: Set(body.to_owned()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
