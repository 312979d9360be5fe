//! Statements that run unchanged on SQLite and PostgreSQL.
//!
//! sqlx's `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL
//! rejects; numbered `$1, $2, …` work on both, so filters built at run time
//! go through [`Sql`].

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Arguments, Encode, Type};

/// The most rows in one multi-row statement. One statement is one round
/// trip to the database's thread instead of one per row; groups are cut to
/// powers of two (see [`groups`]) so the few texts stay prepared.
pub(crate) const ROWS_PER_STATEMENT: usize = 64;

/// `items` in groups of powers of two, the largest first: a batch runs as
/// its full groups of [`ROWS_PER_STATEMENT`] and at most six smaller ones,
/// in at most seven distinct shapes, each prepared once per connection and
/// then found in sqlx's cache.
pub(crate) fn groups<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = items.len().min(ROWS_PER_STATEMENT);
        let size = 1 << n.ilog2();
        let (group, rest) = items.split_at(size);
        items = rest;
        Some(group)
    })
}

/// Which database a [`super::Storage`] talks to; the few spots where the
/// dialects differ ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The function returning the 1-based position of a substring (0 if absent).
    pub(crate) fn position_fn(self) -> &'static str {
        match self {
            Backend::Sqlite => "instr",
            Backend::Postgres => "strpos",
        }
    }

    /// An aggregate joining an integer expression's values with commas
    /// (NULL over no rows): many numbers in one value, where fetching a row
    /// each costs more in the driver than the database spends finding them.
    pub(crate) fn joined_integers(self, expr: &str) -> String {
        match self {
            Backend::Sqlite => format!("group_concat({expr}, ',')"),
            Backend::Postgres => format!("string_agg(CAST({expr} AS TEXT), ',')"),
        }
    }
}

/// The numbers of a [`Backend::joined_integers`] value.
pub(crate) fn split_integers(joined: Option<&str>) -> Result<Vec<i64>, std::num::ParseIntError> {
    match joined {
        None | Some("") => Ok(Vec::new()),
        Some(text) => text.split(',').map(str::parse).collect(),
    }
}

/// A statement assembled from pieces and bound values.
pub(crate) struct Sql<'a> {
    backend: Backend,
    text: String,
    args: AnyArguments<'a>,
    bound: usize,
    /// Rows appended by [`Sql::row`].
    rows: usize,
    error: Option<sqlx::error::BoxDynError>,
}

impl<'a> Sql<'a> {
    pub(crate) fn new(backend: Backend, text: impl Into<String>) -> Self {
        Sql {
            backend,
            text: text.into(),
            args: AnyArguments::default(),
            bound: 0,
            rows: 0,
            error: None,
        }
    }

    /// The dialect this statement will run on.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends SQL text (never user input: that goes through [`Sql::bind`]).
    pub(crate) fn push(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.text.push_str(text.as_ref());
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any> + Send,
    {
        if let Err(e) = self.args.add(value) {
            self.error.get_or_insert(e);
        }
        self.bound += 1;
        // SQLite looks a numbered parameter's name up by walking a list:
        // binding n of them costs n², which a multi-row statement feels.
        // Placeholders are appended in binding order, so plain `?` binds
        // the same values there.
        match self.backend {
            Backend::Sqlite => self.text.push('?'),
            Backend::Postgres => self.text.push_str(&format!("${}", self.bound)),
        }
        self
    }

    /// Binds `values` as `$a, $b, …)` after an open `IN (`.
    pub(crate) fn in_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any> + Send,
    {
        for (n, v) in values.into_iter().enumerate() {
            if n > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// Appends one `(…)` row of a multi-row `VALUES` list (`, (…)` after
    /// the first), its values bound by `bind` through [`ValuesRow::value`].
    pub(crate) fn row(&mut self, bind: impl FnOnce(&mut ValuesRow<'_, 'a>)) -> &mut Self {
        self.push(if self.rows == 0 { "(" } else { ", (" });
        self.rows += 1;
        bind(&mut ValuesRow {
            sql: self,
            values: 0,
        });
        self.push(")")
    }

    /// The text and arguments, to run inside a transaction.
    pub(crate) fn into_parts(self) -> Result<(String, AnyArguments<'a>), sqlx::Error> {
        self.checked()
    }

    fn checked(self) -> Result<(String, AnyArguments<'a>), sqlx::Error> {
        match self.error {
            Some(e) => Err(sqlx::Error::Encode(e)),
            None => Ok((self.text, self.args)),
        }
    }

    pub(crate) async fn fetch_all(self, pool: &AnyPool) -> Result<Vec<AnyRow>, sqlx::Error> {
        let (text, args) = self.checked()?;
        sqlx::query_with(&text, args).fetch_all(pool).await
    }

    pub(crate) async fn fetch_optional(
        self,
        pool: &AnyPool,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let (text, args) = self.checked()?;
        sqlx::query_with(&text, args).fetch_optional(pool).await
    }

    /// [`Self::fetch_optional`] on a connection (inside a transaction).
    pub(crate) async fn fetch_optional_on(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let (text, args) = self.checked()?;
        sqlx::query_with(&text, args).fetch_optional(conn).await
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) async fn execute(self, pool: &AnyPool) -> Result<u64, sqlx::Error> {
        let (text, args) = self.checked()?;
        Ok(sqlx::query_with(&text, args)
            .execute(pool)
            .await?
            .rows_affected())
    }

    /// Runs the statement on a connection (inside a transaction).
    pub(crate) async fn execute_on(self, conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
        let (text, args) = self.checked()?;
        Ok(sqlx::query_with(&text, args)
            .execute(conn)
            .await?
            .rows_affected())
    }

    /// The first column of the only row, as an integer (counts).
    pub(crate) async fn fetch_i64(self, pool: &AnyPool) -> Result<i64, sqlx::Error> {
        let (text, args) = self.checked()?;
        sqlx::query_scalar_with(&text, args).fetch_one(pool).await
    }
}

/// One row of a multi-row `VALUES` list being bound.
pub(crate) struct ValuesRow<'s, 'a> {
    sql: &'s mut Sql<'a>,
    values: usize,
}

impl<'a> ValuesRow<'_, 'a> {
    /// The row's next value.
    pub(crate) fn value<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any> + Send,
    {
        if self.values > 0 {
            self.sql.push(", ");
        }
        self.values += 1;
        self.sql.bind(value);
        self
    }
}

/// Runs `head (…), (…) tail` over `items` inside a transaction, one
/// statement per group (see [`groups`]), each row bound by `bind`.
pub(crate) async fn insert_rows<'i, T>(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    items: &'i [T],
    bind: impl Fn(&mut ValuesRow<'_, 'i>, &'i T),
) -> Result<(), sqlx::Error> {
    for group in groups(items) {
        let mut q = Sql::new(backend, head);
        for item in group {
            q.row(|r| bind(r, item));
        }
        q.push(tail);
        q.execute_on(&mut *conn).await?;
    }
    Ok(())
}

/// Runs `head IN (…)` over `keys` inside a transaction, one statement per
/// group of keys (see [`groups`]).
pub(crate) async fn where_in(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    keys: &[&str],
) -> Result<(), sqlx::Error> {
    for group in groups(keys) {
        let mut q = Sql::new(backend, head);
        q.push(" IN (").in_list(group.iter().copied());
        q.execute_on(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups cover the items in order, each a power of two of at most
    /// [`ROWS_PER_STATEMENT`] rows, the largest first.
    #[test]
    fn groups_are_powers_of_two_in_order() {
        for n in 0..300usize {
            let items: Vec<usize> = (0..n).collect();
            let sizes: Vec<usize> = groups(&items).map(<[usize]>::len).collect();
            let joined: Vec<usize> = groups(&items).flatten().copied().collect();
            assert_eq!(joined, items, "n = {n}");
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= ROWS_PER_STATEMENT),
                "n = {n}: {sizes:?}"
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "n = {n}: {sizes:?}");
            let tail = n % ROWS_PER_STATEMENT;
            assert_eq!(
                sizes.len(),
                n / ROWS_PER_STATEMENT + tail.count_ones() as usize,
                "n = {n}"
            );
        }
    }
}
