//! Statements that run unchanged on SQLite and PostgreSQL.
//!
//! sqlx's `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL
//! rejects; numbered `$1, $2, …` work on both, so filters built at run time
//! go through [`Sql`].

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool, Arguments, Encode, Type};

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
    error: Option<sqlx::error::BoxDynError>,
}

impl<'a> Sql<'a> {
    pub(crate) fn new(backend: Backend, text: impl Into<String>) -> Self {
        Sql {
            backend,
            text: text.into(),
            args: AnyArguments::default(),
            bound: 0,
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
        self.text.push_str(&format!("${}", self.bound));
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

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) async fn execute(self, pool: &AnyPool) -> Result<u64, sqlx::Error> {
        let (text, args) = self.checked()?;
        Ok(sqlx::query_with(&text, args)
            .execute(pool)
            .await?
            .rows_affected())
    }

    /// The first column of the only row, as an integer (counts).
    pub(crate) async fn fetch_i64(self, pool: &AnyPool) -> Result<i64, sqlx::Error> {
        let (text, args) = self.checked()?;
        sqlx::query_scalar_with(&text, args).fetch_one(pool).await
    }
}
