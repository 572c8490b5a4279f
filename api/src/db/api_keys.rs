//! API keys for integrations. Only a SHA-256 hash of each key is stored.

use super::schema::api_keys::dsl as k;
use super::{now, utc, AnyConnection};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use postamt_wire::{ApiKey, Scope};

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::api_keys)]
struct Row {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_wire(self) -> ApiKey {
        ApiKey {
            id: self.id,
            name: self.name,
            scopes: decode_scopes(&self.scopes),
            prefix: self.prefix,
            created_at: utc(self.created_at),
            last_used_at: self.last_used_at.map(utc),
        }
    }
}

pub struct NewKey<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a [Scope],
    pub created_by: &'a str,
}

pub fn insert(conn: &mut AnyConnection, key: &NewKey<'_>) -> anyhow::Result<ApiKey> {
    let created_at = now();
    diesel::insert_into(k::api_keys)
        .values((
            k::id.eq(key.id),
            k::name.eq(key.name),
            k::prefix.eq(key.prefix),
            k::key_hash.eq(key.key_hash),
            k::scopes.eq(encode_scopes(key.scopes)),
            k::created_at.eq(created_at),
            k::created_by.eq(key.created_by),
        ))
        .execute(conn)
        .context("storing the API key")?;
    Ok(ApiKey {
        id: key.id.to_owned(),
        name: key.name.to_owned(),
        scopes: key.scopes.to_vec(),
        prefix: key.prefix.to_owned(),
        created_at: utc(created_at),
        last_used_at: None,
    })
}

pub fn list(conn: &mut AnyConnection) -> anyhow::Result<Vec<ApiKey>> {
    let rows: Vec<Row> =
        k::api_keys.select(Row::as_select()).order(k::created_at.asc()).load(conn).context("listing API keys")?;
    Ok(rows.into_iter().map(Row::into_wire).collect())
}

/// The key with this hash, marking it used (at most once a minute, to spare writes).
pub fn authenticate(conn: &mut AnyConnection, key_hash: &str) -> anyhow::Result<Option<ApiKey>> {
    let row: Option<Row> = k::api_keys
        .filter(k::key_hash.eq(key_hash))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .context("looking up the API key")?;
    let Some(row) = row else { return Ok(None) };
    let at = now();
    if row.last_used_at.is_none_or(|t| at - t > chrono::Duration::seconds(60)) {
        diesel::update(k::api_keys.filter(k::id.eq(&row.id)))
            .set(k::last_used_at.eq(at))
            .execute(conn)
            .context("marking the API key used")?;
    }
    Ok(Some(row.into_wire()))
}

/// Whether a key was deleted.
pub fn delete(conn: &mut AnyConnection, id: &str) -> anyhow::Result<bool> {
    let n = diesel::delete(k::api_keys.filter(k::id.eq(id))).execute(conn).context("deleting the API key")?;
    Ok(n > 0)
}

fn encode_scopes(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

fn decode_scopes(text: &str) -> Vec<Scope> {
    text.split_whitespace().filter_map(Scope::parse).collect()
}
