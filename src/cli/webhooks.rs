//! `nyckel webhook add | list | show | update | remove | rotate-secret | deliveries |
//! redeliver`: webhook endpoints as the operator (superadmin) manages them, for an
//! organisation (`--org`) or for the installation (no `--org`). A secret is printed once,
//! by `add` and `rotate-secret`.

use clap::Subcommand;
use serde_json::json;

use crate::admin::Caller;
use crate::admin::webhooks::{self, EndpointChange, NewEndpoint};
use crate::cli::Out;
use crate::cli::support::{missing, print_items, utc};
use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints its signing secret (shown once).
    Add {
        /// The organisation (id or slug); without it, an installation endpoint (every
        /// organisation's events).
        #[arg(long)]
        org: Option<String>,
        /// Where events are posted: https (or http on loopback for development).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (default: every type).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Add it switched off (`webhook update ID --enabled true` switches it on).
        #[arg(long)]
        disabled: bool,
    },
    /// List an organisation's endpoints (or the installation's, without --org).
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Change an endpoint's URL, events, description, or switch it off and on.
    Update {
        /// The endpoint id (`wh_…`).
        id: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        enabled: Option<bool>,
    },
    /// Delete an endpoint and its delivery history.
    Remove { id: String },
    /// Replace an endpoint's secret; prints the new one (the old one signs for a day more).
    RotateSecret { id: String },
    /// An endpoint's recent messages and their delivery state, newest first.
    Deliveries {
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Send a message again, under the same webhook-id.
    Redeliver {
        id: String,
        /// The message id (`msg_…`, from `deliveries`).
        message: String,
    },
}

pub async fn run(cmd: WebhookCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let caller = Caller::operator();
    let gone = |id: &str| {
        let id = id.to_string();
        missing(move || format!("no webhook endpoint {id:?}"))
    };
    match cmd {
        WebhookCommand::Add {
            org,
            url,
            events,
            description,
            disabled,
        } => {
            let req = NewEndpoint {
                url,
                description,
                events,
                enabled: !disabled,
            };
            let created = webhooks::create(&state, &caller, org.as_deref(), req).await?;
            out.print(
                &serde_json::to_value(&created)?,
                &format!(
                    "added webhook endpoint {} for {}\nsecret (shown once): {}",
                    created.endpoint.id, created.endpoint.url, created.secret
                ),
            );
        }
        WebhookCommand::List { org } => {
            let list = webhooks::list(&state, &caller, org.as_deref()).await?;
            print_items(out, &list, "no webhook endpoints", |e| {
                format!(
                    "{} {} events={} {}",
                    e.id,
                    e.url,
                    if e.events.is_empty() {
                        "all".to_string()
                    } else {
                        e.events.join(",")
                    },
                    if e.enabled { "enabled" } else { "disabled" }
                )
            });
        }
        WebhookCommand::Update {
            id,
            url,
            events,
            description,
            enabled,
        } => {
            let change = EndpointChange {
                url,
                description,
                events,
                enabled,
            };
            let e = webhooks::update(&state, &caller, &id, change)
                .await
                .map_err(gone(&id))?;
            out.print(
                &serde_json::to_value(&e)?,
                &format!("updated webhook endpoint {}", e.id),
            );
        }
        WebhookCommand::Remove { id } => {
            webhooks::delete(&state, &caller, &id)
                .await
                .map_err(gone(&id))?;
            out.print(
                &json!({ "deleted": true, "id": id }),
                &format!("deleted webhook endpoint {id}"),
            );
        }
        WebhookCommand::RotateSecret { id } => {
            let s = webhooks::rotate_secret(&state, &caller, &id)
                .await
                .map_err(gone(&id))?;
            out.print(
                &serde_json::to_value(&s)?,
                &format!(
                    "new secret (shown once): {}\nthe previous secret also signs until {}",
                    s.secret,
                    utc(s.previous_secret_until)
                ),
            );
        }
        WebhookCommand::Deliveries { id, limit } => {
            let page = webhooks::deliveries(&state, &caller, &id, None, Some(limit))
                .await
                .map_err(gone(&id))?;
            print_items(out, &page.items, "no messages", |d| {
                format!(
                    "{} {} {} {} attempts={} status={} {}",
                    d.id,
                    utc(d.created_at),
                    d.event_type,
                    d.state,
                    d.attempts,
                    d.last_status.map_or("-".to_string(), |s| s.to_string()),
                    d.last_error.as_deref().unwrap_or("")
                )
            });
        }
        WebhookCommand::Redeliver { id, message } => {
            let d = webhooks::redeliver(&state, &caller, &id, &message).await?;
            out.print(
                &serde_json::to_value(&d)?,
                &format!("{} is queued again", d.id),
            );
        }
    }
    Ok(())
}
