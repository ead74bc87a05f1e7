//! `clients` and `client_organisations`: the relying parties and where they may be used.

use sqlx::FromRow;

use crate::store::{Db, flag, from_json_list, to_json_list};

/// A registered client. `secret_hash` is the SHA-256 of a 256-bit secret, base64url.
#[derive(Clone, FromRow)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub public: i64,
    pub first_party: i64,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub id_token_alg: String,
    pub require_organisation: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A client as the protocol engine sees it.
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub public: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub id_token_alg: String,
    pub require_organisation: bool,
    /// Organisations the client is restricted to; empty means any.
    pub organisations: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Whether the client may use a grant type.
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// Inserts a client and its organisation restrictions.
pub async fn insert(db: &Db, c: &Client, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "insert into clients (id, name, secret_hash, public, first_party, redirect_uris, post_logout_redirect_uris,
                              grant_types, id_token_alg, require_organisation, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(flag(c.public))
    .bind(flag(c.first_party))
    .bind(to_json_list(&c.redirect_uris))
    .bind(to_json_list(&c.post_logout_redirect_uris))
    .bind(to_json_list(&c.grant_types))
    .bind(&c.id_token_alg)
    .bind(flag(c.require_organisation))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for org in &c.organisations {
        sqlx::query(
            "insert into client_organisations (client_id, organisation_id) values ($1, $2)",
        )
        .bind(&c.id)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// A client row joined with one of its organisation restrictions (or none).
#[derive(FromRow)]
struct ClientOrgRow {
    #[sqlx(flatten)]
    row: ClientRow,
    organisation_id: Option<String>,
}

/// Finds a client with its organisation restrictions, in one round trip (a left join): the
/// token endpoint authenticates a client on every request.
pub async fn find(db: &Db, id: &str) -> Result<Option<Client>, sqlx::Error> {
    let rows = sqlx::query_as::<_, ClientOrgRow>(
        "select c.id, c.name, c.secret_hash, c.public, c.first_party, c.redirect_uris,
                c.post_logout_redirect_uris, c.grant_types, c.id_token_alg, c.require_organisation,
                c.created_at, c.updated_at, co.organisation_id
         from clients c left join client_organisations co on co.client_id = c.id
         where c.id = $1",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let organisations: Vec<String> = rows
        .iter()
        .filter_map(|r| r.organisation_id.clone())
        .collect();
    let Some(first) = rows.into_iter().next() else {
        return Ok(None);
    };
    let row = first.row;
    Ok(Some(Client {
        id: row.id,
        name: row.name,
        secret_hash: row.secret_hash,
        public: row.public != 0,
        first_party: row.first_party != 0,
        redirect_uris: from_json_list(&row.redirect_uris),
        post_logout_redirect_uris: from_json_list(&row.post_logout_redirect_uris),
        grant_types: from_json_list(&row.grant_types),
        id_token_alg: row.id_token_alg,
        require_organisation: row.require_organisation != 0,
        organisations,
    }))
}
