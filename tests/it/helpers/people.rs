//! The people of a test and what reached them, read from the app: a stored account, a
//! verified number given, whether a password is now the one set; the newest mail with a
//! given kind of link and that link, the newest SMS code, whether a mailed key was used;
//! audit event counts. One call each, so that a test's "world" and its checks stay short.

use nyckel::admin::users::CreateUser;
use nyckel::auth::password::{Password, Verdict};
use nyckel::auth::policy::PasswordPolicy;
use nyckel::crypto::sha256_b64;
use nyckel::store;

use crate::helpers::{TestApp, code_in};
use crate::mail_outbox::Mail;

impl TestApp {
    /// The stored account of `email`.
    pub async fn account(&self, email: &str) -> store::users::User {
        store::users::find_by_email(&self.state.db, email)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("no account {email}"))
    }

    /// The stored account with id `sub`.
    pub async fn account_by_id(&self, sub: &str) -> store::users::User {
        store::users::find(&self.state.db, sub)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("no account {sub}"))
    }

    /// Creates an account without a password (no hashing: fast); returns its `sub`.
    pub async fn create_user_without_password(&self, email: &str, name: Option<&str>) -> String {
        let user = CreateUser {
            email: email.into(),
            name: name.map(str::to_string),
            phone: None,
            password: None,
        };
        let policy = PasswordPolicy::from_config(&self.state.config.password);
        let (db, hasher, now) = (&self.state.db, &self.state.hasher, self.state.now());
        nyckel::admin::users::create(db, hasher, &policy, user, now)
            .await
            .expect("user created")
    }

    /// Gives `email` the number `phone`, verified or not.
    pub async fn set_phone(&self, email: &str, phone: &str, verified: bool) {
        let id = self.account(email).await.id;
        store::users::set_phone(&self.state.db, &id, Some(phone), verified, self.state.now())
            .await
            .expect("phone set");
    }

    /// Gives `email` the verified number `phone`.
    pub async fn verify_phone(&self, email: &str, phone: &str) {
        self.set_phone(email, phone, true).await;
    }

    /// Creates an account (with the test password) whose verified number is `phone`;
    /// returns its `sub`.
    pub async fn create_user_with_phone(&self, email: &str, phone: &str) -> String {
        let sub = self.create_user(email).await;
        self.verify_phone(email, phone).await;
        sub
    }

    /// Whether `email`'s password is now `password`.
    pub async fn password_is(&self, email: &str, password: &str) -> bool {
        self.password_verdict(email, password).await != Verdict::Mismatch
    }

    /// What checking `password` against `email`'s stored hash says.
    pub async fn password_verdict(&self, email: &str, password: &str) -> Verdict {
        let hash = self.account(email).await.password_hash;
        self.state
            .hasher
            .verify(&Password::new(password.into()), hash.as_deref())
            .await
            .expect("verify")
    }

    /// The newest mail to `to` whose text holds `marker` (after a delivery pass).
    pub async fn mail_with(&self, to: &str, marker: &str) -> Mail {
        self.mails_to(to)
            .await
            .into_iter()
            .rev()
            .find(|m| m.text.contains(marker))
            .unwrap_or_else(|| panic!("no mail to {to} with {marker}"))
    }

    /// The `marker` link (e.g. `/reset/`) of the newest mail to `to` that has one.
    pub async fn link_in_mail(&self, to: &str, marker: &str) -> String {
        self.mail_with(to, marker).await.link(marker)
    }

    /// The code in the newest mail to `to` with a `marker` link.
    pub async fn code_in_mail(&self, to: &str, marker: &str) -> String {
        code_in(&self.mail_with(to, marker).await.text).expect("a code in the mail")
    }

    /// The newest password reset link mailed to `email`.
    pub async fn reset_link(&self, email: &str) -> String {
        self.link_in_mail(email, "/reset/").await
    }

    /// The code of the newest SMS with a code to `phone`.
    pub async fn sms_code(&self, phone: &str) -> String {
        self.sms_to(phone)
            .await
            .iter()
            .rev()
            .find_map(|m| code_in(&m.body))
            .unwrap_or_else(|| panic!("no SMS with a code to {phone}"))
    }

    /// When the key of a mailed link (reset, login, confirmation: its last path segment)
    /// was used, if it was.
    pub async fn key_used(&self, link: &str) -> Option<i64> {
        let key = link.rsplit('/').next().expect("a key");
        let (used,): (Option<i64>,) =
            sqlx::query_as("select used_at from login_keys where key_hash = $1")
                .bind(sha256_b64(key))
                .fetch_one(self.state.db.pool())
                .await
                .expect("the key row");
        used
    }

    /// How many audit events of `kind` there are.
    pub async fn audit_count(&self, kind: &str) -> i64 {
        self.count_with("select count(*) from audit_events where kind = $1", &[kind])
            .await
    }

    /// How many audit events of `kind` are about the account `sub`.
    pub async fn audit_count_of(&self, kind: &str, sub: &str) -> i64 {
        let sql = "select count(*) from audit_events where kind = $1 and user_id = $2";
        self.count_with(sql, &[kind, sub]).await
    }

    /// The details of the audit events of `kind`, oldest first.
    pub async fn audit_details(&self, kind: &str) -> Vec<String> {
        sqlx::query_scalar("select detail from audit_events where kind = $1 order by at")
            .bind(kind)
            .fetch_all(self.state.db.pool())
            .await
            .expect("audit details")
    }

    /// How many sessions the account `sub` has.
    pub async fn sessions_of(&self, sub: &str) -> i64 {
        self.count_with("select count(*) from sessions where user_id = $1", &[sub])
            .await
    }

    /// The number `sql` (a query without parameters) counts.
    pub async fn count(&self, sql: &str) -> i64 {
        self.count_with(sql, &[]).await
    }

    /// The number `sql` counts with its parameters bound to `args` in order.
    pub async fn count_with(&self, sql: &str, args: &[&str]) -> i64 {
        let mut query = sqlx::query_scalar(sql);
        for arg in args {
            query = query.bind(*arg);
        }
        query
            .fetch_one(self.state.db.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Sets the language `email` chose.
    pub async fn set_locale(&self, email: &str, locale: &str) {
        self.update_user("locale", locale.to_string(), email).await;
    }

    /// Disables the account `email`, or enables it again.
    pub async fn set_disabled(&self, email: &str, disabled: bool) {
        self.update_user("disabled", i64::from(disabled), email)
            .await;
    }

    /// Sets one column of the account `email`.
    async fn update_user<T>(&self, column: &str, value: T, email: &str)
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let sql = format!("update users set {column} = $1 where email = $2");
        let update = sqlx::query(&sql).bind(value).bind(email);
        update.execute(self.state.db.writer()).await.expect(column);
    }
}
