//! Bulk import of an organisation's members from a CSV file (`nyckel org import`, the admin
//! UI's import page). Each row becomes a SCIM User record of the organisation (`users.rs`),
//! so an import follows exactly the rules of provisioning: a person who is not yet a member
//! is invited by mail in their language (else the organisation's) and becomes a member by
//! accepting; a present member is linked at once; a row whose record exists and says the
//! same changes nothing, so importing the same file twice creates each membership once.
//!
//! The file: a header row naming the columns (any order, any case; English or Swedish:
//! `name`/`namn`, `email`/`e-post`, `phone`/`telefon`, `roles`/`roller`,
//! `external_id`/`medlemsnummer`), separated by commas or semicolons (as Swedish
//! spreadsheets save them), UTF-8 with or without a byte order mark. `email` is required;
//! roles are separated by spaces, `|`, or the other separator. A row is matched to its
//! record by `external_id` when it has one, else by email. An import adds roles and never
//! takes one away (SCIM and the admin UI do that).
//!
//! [`plan`] is the dry run: what each row would do, reading only. [`run`] applies the rows one
//! by one, each in its own transaction, paced (at most `[admin] import_rows_per_second`, and
//! writing at most a fifth of the time), so that an import shares the database with the
//! logins running beside it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::admin::users::valid_email;
use crate::store;
use crate::store::scim::{Lookup, UserRow};

use super::Scim;
use super::error::ScimError;
use super::users;

/// Most rows in one file.
pub const MAX_ROWS: usize = 50_000;
/// Largest file, bytes.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Why a file cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the file has more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("the header row has no email column (columns: name, email, phone, roles, external_id)")]
    NoEmailColumn,
    #[error(
        "the header row names an unknown column {0:?} (columns: name, email, phone, roles, external_id)"
    )]
    UnknownColumn(String),
    #[error("line {line}: {reason}")]
    Unreadable { line: usize, reason: String },
}

/// One row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line in the file (the header is line 1).
    pub line: usize,
    pub name: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    pub roles: Vec<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Email,
    Phone,
    Roles,
    ExternalId,
}

fn column(name: &str) -> Option<Column> {
    let n = name.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match n.as_str() {
        "name" | "namn" => Column::Name,
        "email" | "e_mail" | "e_post" | "epost" | "mail" => Column::Email,
        "phone" | "telefon" | "mobile" | "mobil" | "mobilnummer" => Column::Phone,
        "roles" | "role" | "roller" | "roll" => Column::Roles,
        "external_id" | "externalid" | "member_number" | "medlemsnummer" | "medlemsnr" => {
            Column::ExternalId
        }
        _ => return None,
    })
}

/// Reads a file into rows.
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>, FileError> {
    if bytes.len() > MAX_BYTES {
        return Err(FileError::TooLarge);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let unreadable = |line: usize, e: csv::Error| FileError::Unreadable {
        line,
        reason: e.to_string(),
    };
    let header = reader.headers().map_err(|e| unreadable(1, e))?.clone();
    if header.iter().all(str::is_empty) {
        return Err(FileError::Empty);
    }
    let mut columns = Vec::new();
    for h in header.iter() {
        columns.push(column(h).ok_or_else(|| FileError::UnknownColumn(h.to_string()))?);
    }
    if !columns.contains(&Column::Email) {
        return Err(FileError::NoEmailColumn);
    }
    let other = if delimiter == b';' { ',' } else { ';' };
    let mut rows = Vec::new();
    let (mut line, mut counted_to) = (1, 0);
    for record in reader.records() {
        // The line a record starts on, counted here: the csv crate's position is where the
        // previous record's terminator ended (before a `\n` after `\r`), and its line count
        // leaves out the blank lines it skips.
        let mut start = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(counted_to, |p| p.byte() as usize)
            .clamp(counted_to, bytes.len());
        while bytes.get(start).is_some_and(|b| *b == b'\r' || *b == b'\n') {
            start += 1;
        }
        line += bytes[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted_to = start;
        let record = record.map_err(|e| unreadable(line, e))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let mut row = Row {
            line,
            name: None,
            email: String::new(),
            phone: None,
            roles: Vec::new(),
            external_id: None,
        };
        for (value, col) in record.iter().zip(&columns) {
            let value = value.trim();
            let some = (!value.is_empty()).then(|| value.to_string());
            match col {
                Column::Name => row.name = some,
                Column::Email => row.email = value.to_string(),
                Column::Phone => row.phone = some,
                Column::ExternalId => row.external_id = some,
                Column::Roles => {
                    row.roles = value
                        .split(|c: char| c.is_whitespace() || c == '|' || c == other)
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect();
                }
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(rows)
}

/// What a row does (or did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// Not a member yet: an invitation is mailed; a member once they accept.
    Invite,
    /// Already a member: the record is linked to them, with these roles joined to theirs.
    Link,
    /// The row's record exists and changes.
    Update,
    /// The row's record exists and is as the row says.
    Unchanged,
    /// The row is not imported, and why.
    Refused(String),
}

/// One row's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub line: usize,
    pub email: String,
    pub external_id: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Summary {
    pub rows: usize,
    pub invited: usize,
    pub linked: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub refused: usize,
}

impl Summary {
    /// The counts of `lines`.
    pub fn of(lines: &[Line]) -> Summary {
        let mut s = Summary {
            rows: lines.len(),
            ..Summary::default()
        };
        for l in lines {
            match l.outcome {
                Outcome::Invite => s.invited += 1,
                Outcome::Link => s.linked += 1,
                Outcome::Update => s.updated += 1,
                Outcome::Unchanged => s.unchanged += 1,
                Outcome::Refused(_) => s.refused += 1,
            }
        }
        s
    }
}

/// The record document a row asks for, on top of the record's current one (attributes the
/// file has no column for stay as they are, and so do the roles the record has).
fn document(row: &Row, current: Option<&Value>) -> Value {
    let mut doc = current.map(users::writable).unwrap_or_default();
    doc.insert("userName".into(), json!(row.email));
    if let Some(ext) = &row.external_id {
        doc.insert("externalId".into(), json!(ext));
    }
    if let Some(name) = &row.name {
        doc.insert("displayName".into(), json!(name));
        let mut n = doc
            .get("name")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        n.insert("formatted".into(), json!(name));
        doc.insert("name".into(), Value::Object(n));
    }
    doc.insert(
        "emails".into(),
        json!([{ "value": row.email, "type": "home", "primary": true }]),
    );
    if let Some(phone) = &row.phone {
        doc.insert(
            "phoneNumbers".into(),
            json!([{ "value": phone, "type": "mobile", "primary": true }]),
        );
    }
    // An import adds roles and never takes one away: the record keeps the roles it has.
    let mut roles = row.roles.clone();
    if let Some(have) = doc.get("roles").and_then(Value::as_array) {
        roles.extend(
            have.iter()
                .filter_map(|r| r["value"].as_str())
                .map(str::to_string),
        );
    }
    roles.sort();
    roles.dedup();
    doc.insert(
        "roles".into(),
        roles.iter().map(|r| json!({ "value": r })).collect(),
    );
    doc.insert("active".into(), json!(true));
    Value::Object(doc)
}

/// The record a row names: by external id when it has one, else by email.
async fn record_of(s: &Scim<'_>, row: &Row) -> Result<Option<UserRow>, ScimError> {
    let lookup = match &row.external_id {
        Some(ext) => Lookup::ExternalId(ext),
        None => Lookup::UserName(&row.email),
    };
    Ok(store::scim::users(&s.state.db, &s.org.id, lookup)
        .await?
        .into_iter()
        .next())
}

/// What the row would do now, without doing it.
async fn decide(
    s: &Scim<'_>,
    row: &Row,
    known: &Known,
) -> Result<(Outcome, Option<UserRow>), ScimError> {
    let refused = |m: String| Ok((Outcome::Refused(m), None));
    if !valid_email(&row.email) {
        return refused("the email is not an email address".into());
    }
    if let Some(bad) = row.roles.iter().find(|r| !known.roles.contains(r)) {
        return refused(format!("{bad:?} is not a role of this organisation"));
    }
    let existing = record_of(s, row).await?;
    // The email may be taken by another record (another member number).
    let same_name =
        store::scim::users(&s.state.db, &s.org.id, Lookup::UserName(&row.email)).await?;
    if same_name
        .iter()
        .any(|r| existing.as_ref().is_none_or(|e| e.id != r.id))
    {
        return refused("another member of the organisation's records has this email".into());
    }
    let Some(record) = existing else {
        let member = match store::users::find_by_email(&s.state.db, &row.email).await? {
            Some(u) => store::orgs::member(&s.state.db, &s.org.id, &u.id)
                .await?
                .is_some(),
            None => false,
        };
        return Ok((
            if member {
                Outcome::Link
            } else {
                Outcome::Invite
            },
            None,
        ));
    };
    let current = users::render(s, &record, &known.names);
    let wanted = document(row, Some(&current));
    let now = Value::Object(users::writable(&current));
    // A waiting record whose invitation lapsed is written again, which invites again.
    let lapsed = match (&record.user_id, &record.invitation_id) {
        (Some(_), _) => false,
        (None, None) => !record.email.is_empty(),
        (None, Some(id)) => store::invitations::find(&s.state.db, id)
            .await?
            .is_none_or(|i| !i.is_open(s.state.now())),
    };
    let outcome = if same_doc(&now, &wanted) && !lapsed {
        Outcome::Unchanged
    } else {
        Outcome::Update
    };
    Ok((outcome, Some(record)))
}

/// Equal documents, whatever the order of the roles.
fn same_doc(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| {
        let mut v = v.clone();
        if let Some(roles) = v.get_mut("roles").and_then(Value::as_array_mut) {
            roles.sort_by_key(|r| r["value"].as_str().unwrap_or_default().to_string());
        }
        if v.get("roles")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            v.as_object_mut().map(|o| o.remove("roles"));
        }
        v
    };
    norm(a) == norm(b)
}

/// For each row, the refusal of a row that repeats an earlier row's email or external id.
fn repeats(rows: &[Row]) -> Vec<Option<String>> {
    let mut emails: HashMap<String, usize> = HashMap::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    rows.iter()
        .map(|row| {
            let by_email = *emails.entry(row.email.to_lowercase()).or_insert(row.line);
            let by_id = row
                .external_id
                .as_deref()
                .map_or(row.line, |id| *ids.entry(id).or_insert(row.line));
            let first = by_email.min(by_id);
            (first != row.line).then(|| format!("repeats line {first}"))
        })
        .collect()
}

/// What every row's decision needs to know of the organisation, read once.
struct Known {
    roles: Vec<String>,
    names: Vec<(String, String)>,
}

async fn known(s: &Scim<'_>) -> Result<Known, ScimError> {
    Ok(Known {
        roles: store::orgs::roles(&s.state.db, &s.org.id)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect(),
        names: users::group_names(s).await?,
    })
}

/// The dry run: what every row would do.
pub async fn plan(s: &Scim<'_>, rows: &[Row]) -> Result<Vec<Line>, ScimError> {
    let known = known(s).await?;
    let repeated = repeats(rows);
    let mut out = Vec::with_capacity(rows.len());
    for (row, repeat) in rows.iter().zip(repeated) {
        let outcome = match repeat {
            Some(why) => Outcome::Refused(why),
            None => decide(s, row, &known).await?.0,
        };
        out.push(line(row, outcome));
    }
    Ok(out)
}

fn line(row: &Row, outcome: Outcome) -> Line {
    Line {
        line: row.line,
        email: row.email.clone(),
        external_id: row.external_id.clone(),
        outcome,
    }
}

/// Imports the rows, calling `progress(done, total)` after each; returns what each did.
/// A refusal of one row (a conflict found only now) is reported and the import goes on.
///
/// Rows that write are paced two ways: at most `[admin] import_rows_per_second`, and never
/// more than [`DUTY`] of the time spent writing (after a row that took `t` to write, the
/// import rests at least `t * (1 - DUTY) / DUTY`), so that the logins beside it find the
/// database free. Rows that change nothing are not paced.
pub async fn run(
    s: &Scim<'_>,
    rows: &[Row],
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Line>, ScimError> {
    let known = known(s).await?;
    let repeated = repeats(rows);
    let interval = Duration::from_secs_f64(
        1.0 / f64::from(s.state.config.admin.import_rows_per_second.max(1)),
    );
    let mut out = Vec::with_capacity(rows.len());
    let mut next = Instant::now();
    for (i, (row, repeat)) in rows.iter().zip(repeated).enumerate() {
        let started = Instant::now();
        let outcome = match repeat {
            Some(why) => Outcome::Refused(why),
            None => apply(s, row, &known).await?,
        };
        let wrote = matches!(outcome, Outcome::Invite | Outcome::Link | Outcome::Update);
        out.push(line(row, outcome));
        progress(i + 1, rows.len());
        if wrote {
            let rest = started.elapsed().mul_f64((1.0 - DUTY) / DUTY);
            next = (next + interval).max(Instant::now() + rest);
            tokio::time::sleep_until(next.into()).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    Ok(out)
}

/// The most of its time an import spends writing.
pub const DUTY: f64 = 0.2;

async fn apply(s: &Scim<'_>, row: &Row, known: &Known) -> Result<Outcome, ScimError> {
    let (outcome, record) = decide(s, row, known).await?;
    let done = match (&outcome, record) {
        (Outcome::Invite | Outcome::Link, _) => {
            users::create(s, &document(row, None)).await.map(|_| ())
        }
        (Outcome::Update, Some(record)) => {
            let current = users::render(s, &record, &known.names);
            users::replace(s, &record.id, &document(row, Some(&current)), None)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    match done {
        Ok(()) => Ok(outcome),
        // A refusal the row can be blamed for; a failure of the database stops the import.
        Err(e) if e.status() < 500 => Ok(Outcome::Refused(
            e.detail.clone().unwrap_or_else(|| e.to_string()),
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swedish_spreadsheet_with_a_bom_and_semicolons_reads() {
        let file = "\u{feff}Namn;E-post;Telefon;Roller;Medlemsnummer\r\n\
                    Åsa Öberg;asa@example.org;+46701234567;member coach;1001\r\n\
                    \r\n\
                    \"Berg, Anna\";anna@example.org;;member,board;1002\r\n";
        let rows = parse(file.as_bytes()).expect("parsed");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name.as_deref(), Some("Åsa Öberg"));
        assert_eq!(rows[0].roles, ["member", "coach"]);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].name.as_deref(), Some("Berg, Anna"));
        assert_eq!(rows[1].phone, None);
        assert_eq!(rows[1].roles, ["member", "board"]);
        assert_eq!(rows[1].external_id.as_deref(), Some("1002"));
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn files_that_cannot_be_read_say_why() {
        assert_eq!(parse(b""), Err(FileError::Empty));
        assert_eq!(parse(b"name,phone\nA,1\n"), Err(FileError::NoEmailColumn));
        assert_eq!(
            parse(b"email,shoe size\na@x.se,44\n"),
            Err(FileError::UnknownColumn("shoe size".into()))
        );
        assert_eq!(parse(b"email\n"), Err(FileError::Empty));
        let many = format!("email\n{}", "a@x.se\n".repeat(MAX_ROWS + 1));
        assert_eq!(parse(many.as_bytes()), Err(FileError::TooManyRows));
    }

    #[test]
    fn repeated_rows_are_refused_with_the_line_they_repeat() {
        let rows =
            parse(b"email,external_id\na@x.se,1\nb@x.se,1\nA@X.SE,\nc@x.se,\n").expect("rows");
        let r = repeats(&rows);
        assert_eq!(r[0], None);
        assert_eq!(r[1].as_deref(), Some("repeats line 2"));
        assert_eq!(r[2].as_deref(), Some("repeats line 2"));
        assert_eq!(r[3], None);
    }
}
