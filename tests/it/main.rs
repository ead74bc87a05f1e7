//! One integration test binary (STYLE.md 2.5): every test starts the real server on
//! 127.0.0.1 port 0 over TLS and talks HTTP to it. The database is SQLite, or PostgreSQL
//! when `NYCKEL_TEST_POSTGRES_URL` is set (each test gets its own database).

mod helpers;

mod admin_api;
mod admin_api_isolation;
mod admin_api_lists;
mod admin_api_secrets;
mod admin_api_support;
mod admin_api_tokens;
mod admin_matrix;
mod admin_notify;
mod admin_tokens;
mod admin_ui;
mod admin_ui_matrix;
mod admin_ui_objects;
mod admin_ui_support;
mod admin_world;
mod authorize;
mod authorize_support;
mod canary;
mod cli;
mod cli_admin;
mod discovery;
mod flows;
mod forgot;
mod invite;
mod keys;
mod login;
mod login_keys;
mod login_keys_flows;
mod login_support;
mod login_throttle;
mod logout;
mod mail_dkim;
mod mail_outbox;
mod mail_smtp;
mod mail_smtp_keys;
mod metrics_sms;
mod must_change;
mod nodes;
mod refresh_race;
mod reset;
mod rp;
mod setup_link;
mod shutdown;
mod sms_gateways;
mod sms_limits;
mod token_client_credentials;
mod token_code;
mod token_common;
mod token_refresh;
mod token_revoke_introspect;
mod token_userinfo;
mod upkeep;
mod verify_channels;
