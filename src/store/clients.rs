//! `clients` and `client_organisations`: the relying parties and where they may be used.

use sqlx::FromRow;

use crate::store::sql::{all, exec, run};
use crate::store::{Conn, Db, Tx, flag, from_json_list, to_json_list};

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
    pub owner_organisation_id: Option<String>,
    pub visible_roles: Option<String>,
    pub admin_api: i64,
    pub require_pkce: i64,
    pub require_two_factors: i64,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: i64,
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: i64,
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
    /// The organisation that owns (administers) the client; `None`: the installation.
    pub owner_organisation_id: Option<String>,
    /// Roles the client may see in tokens; `None`: all.
    pub visible_roles: Option<Vec<String>>,
    /// Whether the client may be granted the `admin` scope (the admin API).
    pub admin_api: bool,
    /// Whether authorization requests must carry a PKCE `code_challenge` (S256). Always
    /// true for public clients; a confidential legacy app may be registered without.
    pub require_pkce: bool,
    /// Every login through the client must be of two factors (a one-factor session is
    /// stepped up). New in 0.3.0: switched on only once the upgrade is finished.
    pub require_two_factors: bool,
    /// Where the client is told, by a logout token, that a session it had tokens in ended
    /// (OpenID Connect Back-Channel Logout 1.0). New in 0.4.0, set only once the upgrade is
    /// finished.
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs the `sid` claim in logout tokens.
    pub backchannel_logout_session_required: bool,
    /// A page of the client that the logged-out page loads in an iframe, so that it can
    /// clear its own cookies (OpenID Connect Front-Channel Logout 1.0). New in 0.5.0.
    pub frontchannel_logout_uri: Option<String>,
    /// Whether the client needs `iss` and `sid` on that page's URL.
    pub frontchannel_logout_session_required: bool,
    pub created_at: i64,
}

crate::redact::debug_showing!(Client { id, public });

impl Client {
    /// Whether the client may use a grant type.
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// Inserts a client and its organisation restrictions.
pub async fn insert(db: impl Into<Conn<'_>>, c: &Client, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.into().begin().await?;
    let sql = "insert into clients (id, name, secret_hash, public, first_party, redirect_uris, post_logout_redirect_uris,
                              grant_types, id_token_alg, require_organisation, created_at, updated_at,
                              owner_organisation_id, visible_roles, admin_api, require_pkce,
                              require_two_factors, backchannel_logout_uri,
                              backchannel_logout_session_required, frontchannel_logout_uri,
                              frontchannel_logout_session_required)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20)";
    let uris = (
        to_json_list(&c.redirect_uris),
        to_json_list(&c.post_logout_redirect_uris),
    );
    let (grant_types, roles) = (
        to_json_list(&c.grant_types),
        c.visible_roles.as_deref().map(to_json_list),
    );
    let binds = (
        &c.id,
        &c.name,
        &c.secret_hash,
        flag(c.public),
        flag(c.first_party),
        uris.0,
        uris.1,
        grant_types,
        &c.id_token_alg,
        flag(c.require_organisation),
        now,
        &c.owner_organisation_id,
        roles,
        flag(c.admin_api),
        flag(c.require_pkce || c.public),
        flag(c.require_two_factors),
        &c.backchannel_logout_uri,
        flag(c.backchannel_logout_session_required),
        &c.frontchannel_logout_uri,
        flag(c.frontchannel_logout_session_required),
    );
    run(&mut tx, sql, binds).await?;
    insert_organisations(&mut tx, c).await?;
    tx.commit().await
}

/// Inserts the client's organisation restrictions (inside [`insert`] and [`update`]).
async fn insert_organisations(tx: &mut Tx<'_>, c: &Client) -> Result<(), sqlx::Error> {
    let sql = "insert into client_organisations (client_id, organisation_id) values ($1, $2)";
    for org in &c.organisations {
        run(&mut *tx, sql, (&c.id, org)).await?;
    }
    Ok(())
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
    let sql = "select c.id, c.name, c.secret_hash, c.public, c.first_party, c.redirect_uris,
                c.post_logout_redirect_uris, c.grant_types, c.id_token_alg, c.require_organisation,
                c.created_at, c.updated_at, c.owner_organisation_id, c.visible_roles, c.admin_api,
                c.require_pkce, c.require_two_factors, c.backchannel_logout_uri,
                c.backchannel_logout_session_required, c.frontchannel_logout_uri,
                c.frontchannel_logout_session_required, co.organisation_id
         from clients c left join client_organisations co on co.client_id = c.id
         where c.id = $1";
    let rows: Vec<ClientOrgRow> = all(db.pool(), sql, (id,)).await?;
    let organisations: Vec<String> = rows
        .iter()
        .filter_map(|r| r.organisation_id.clone())
        .collect();
    let Some(first) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(from_row(first.row, organisations)))
}

fn from_row(row: ClientRow, organisations: Vec<String>) -> Client {
    Client {
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
        owner_organisation_id: row.owner_organisation_id,
        visible_roles: row.visible_roles.as_deref().map(from_json_list),
        admin_api: row.admin_api != 0,
        require_pkce: row.require_pkce != 0 || row.public != 0,
        require_two_factors: row.require_two_factors != 0,
        backchannel_logout_uri: row.backchannel_logout_uri,
        backchannel_logout_session_required: row.backchannel_logout_session_required != 0,
        frontchannel_logout_uri: row.frontchannel_logout_uri,
        frontchannel_logout_session_required: row.frontchannel_logout_session_required != 0,
        created_at: row.created_at,
    }
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, public, first_party, redirect_uris,
    post_logout_redirect_uris, grant_types, id_token_alg, require_organisation, created_at,
    updated_at, owner_organisation_id, visible_roles, admin_api, require_pkce,
    require_two_factors, backchannel_logout_uri, backchannel_logout_session_required,
    frontchannel_logout_uri, frontchannel_logout_session_required";

/// Clients owned by an organisation (`None`: by the installation), by name then id, after
/// the cursor `(name, id)`.
pub async fn list_owned(
    db: &Db,
    owner: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<Client>, sqlx::Error> {
    let (after_name, after_id) = after.unwrap_or(("", ""));
    let sql = format!(
        "select {CLIENT_COLUMNS} from clients
         where coalesce(owner_organisation_id, '') = $1 and (name > $2 or (name = $2 and id > $3))
         order by name, id limit $4"
    );
    let binds = (owner.unwrap_or(""), after_name, after_id, limit + 1);
    let rows: Vec<ClientRow> = all(db.pool(), &sql, binds).await?;
    let mut out = Vec::with_capacity(rows.len());
    let sql = "select organisation_id from client_organisations where client_id = $1 order by organisation_id";
    for row in rows {
        let orgs: Vec<(String,)> = all(db.pool(), sql, (&row.id,)).await?;
        out.push(from_row(row, orgs.into_iter().map(|(o,)| o).collect()));
    }
    Ok(out)
}

/// Saves a client's editable settings (name, URIs, restrictions, role visibility, logout
/// channel).
pub async fn update(db: impl Into<Conn<'_>>, c: &Client, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.into().begin().await?;
    let sql = "update clients set name = $1, redirect_uris = $2, post_logout_redirect_uris = $3,
                require_organisation = $4, visible_roles = $5, updated_at = $6, require_pkce = $8,
                require_two_factors = $9, backchannel_logout_uri = $10,
                backchannel_logout_session_required = $11, frontchannel_logout_uri = $12,
                frontchannel_logout_session_required = $13
         where id = $7";
    let uris = (
        to_json_list(&c.redirect_uris),
        to_json_list(&c.post_logout_redirect_uris),
    );
    let roles = c.visible_roles.as_deref().map(to_json_list);
    let binds = (
        &c.name,
        uris.0,
        uris.1,
        flag(c.require_organisation),
        roles,
        now,
        &c.id,
        flag(c.require_pkce || c.public),
        flag(c.require_two_factors),
        &c.backchannel_logout_uri,
        flag(c.backchannel_logout_session_required),
        &c.frontchannel_logout_uri,
        flag(c.frontchannel_logout_session_required),
    );
    run(&mut tx, sql, binds).await?;
    let sql = "delete from client_organisations where client_id = $1";
    run(&mut tx, sql, (&c.id,)).await?;
    insert_organisations(&mut tx, c).await?;
    tx.commit().await
}

/// Replaces a client's secret hash.
pub async fn set_secret_hash(
    db: impl Into<Conn<'_>>,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "update clients set secret_hash = $1, updated_at = $2 where id = $3";
    exec(db, sql, (hash, now, id)).await
}

/// Deletes a client (its grants, codes and refresh tokens go with it).
pub async fn delete(db: impl Into<Conn<'_>>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(run(db, "delete from clients where id = $1", (id,)).await? > 0)
}
