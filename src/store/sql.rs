//! Why this exists: most store functions are one statement, and written out with sqlx each
//! took a query, one `.bind` line per value, an executor and a mapping of the result, the
//! same dozen lines again in every file. These helpers take the SQL text, the values to bind
//! as a tuple (`(now, id)`, bound as `$1, $2` in order) and where to run it, so each call
//! site still shows exactly which statement runs with which values, in one or two lines.
//! They add nothing to the SQL and change nothing in how sqlx runs it.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::{Any, Arguments, Encode, Executor, FromRow, Type};

use crate::store::Conn;

/// Values to bind, in placeholder order: a tuple of up to 16 values (`()` for none, `(x,)`
/// for one).
pub trait Binds<'q>: Send {
    /// The arguments, or the first value that failed to encode.
    fn arguments(self) -> Result<AnyArguments<'q>, BoxDynError>;
}

impl<'q> Binds<'q> for () {
    fn arguments(self) -> Result<AnyArguments<'q>, BoxDynError> {
        Ok(AnyArguments::default())
    }
}

macro_rules! tuple_binds {
    ($($ty:ident $value:ident),+) => {
        impl<'q, $($ty),+> Binds<'q> for ($($ty,)+)
        where
            $($ty: 'q + Send + Encode<'q, Any> + Type<Any>),+
        {
            fn arguments(self) -> Result<AnyArguments<'q>, BoxDynError> {
                let ($($value,)+) = self;
                let mut arguments = AnyArguments::default();
                $(arguments.add($value)?;)+
                Ok(arguments)
            }
        }
    };
}

tuple_binds!(A a);
tuple_binds!(A a, B b);
tuple_binds!(A a, B b, C c);
tuple_binds!(A a, B b, C c, D d);
tuple_binds!(A a, B b, C c, D d, E e);
tuple_binds!(A a, B b, C c, D d, E e, F f);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p, Q q);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p, Q q, R r);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p, Q q, R r, S s);
tuple_binds!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l, M m, N n, O o, P p, Q q, R r, S s, T t);

/// What a query's rows can be read as: a `FromRow` struct or a tuple.
pub trait Row: for<'r> FromRow<'r, AnyRow> + Send + Unpin {}

impl<T: for<'r> FromRow<'r, AnyRow> + Send + Unpin> Row for T {}

/// The arguments of `binds`; a value that fails to encode is the error sqlx's own `bind`
/// gives when the statement runs.
fn encoded<'q>(binds: impl Binds<'q>) -> Result<AnyArguments<'q>, sqlx::Error> {
    binds.arguments().map_err(sqlx::Error::Encode)
}

/// Runs a statement that returns no rows on `conn` (the write pool or the caller's
/// transaction) and answers how many rows it changed.
pub async fn run<'q>(
    conn: impl Into<Conn<'_>>,
    sql: &'q str,
    binds: impl Binds<'q>,
) -> Result<u64, sqlx::Error> {
    let mut conn = conn.into().get().await?;
    let done = sqlx::query_with(sql, encoded(binds)?)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// [`run`] for a statement whose count of changed rows nobody reads.
pub async fn exec<'q>(
    conn: impl Into<Conn<'_>>,
    sql: &'q str,
    binds: impl Binds<'q>,
) -> Result<(), sqlx::Error> {
    run(conn, sql, binds).await.map(drop)
}

/// The row a query returns, if any, as `T` (a `FromRow` struct or a tuple), read on `on`: a
/// pool (`db.pool()` for reads, `db.writer()`) or a connection (`&mut **tx`).
pub async fn optional<'q, 'c, T: Row>(
    on: impl Executor<'c, Database = Any>,
    sql: &'q str,
    binds: impl Binds<'q>,
) -> Result<Option<T>, sqlx::Error> {
    sqlx::query_as_with(sql, encoded(binds)?)
        .fetch_optional(on)
        .await
}

/// The one row a query returns (`RowNotFound` when it returns none), as `T`; see
/// [`optional`].
pub async fn one<'q, 'c, T: Row>(
    on: impl Executor<'c, Database = Any>,
    sql: &'q str,
    binds: impl Binds<'q>,
) -> Result<T, sqlx::Error> {
    optional(on, sql, binds)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Every row a query returns, as `T`; see [`optional`].
pub async fn all<'q, 'c, T: Row>(
    on: impl Executor<'c, Database = Any>,
    sql: &'q str,
    binds: impl Binds<'q>,
) -> Result<Vec<T>, sqlx::Error> {
    sqlx::query_as_with(sql, encoded(binds)?)
        .fetch_all(on)
        .await
}
