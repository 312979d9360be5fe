//! Summed months. Each local month's dashboard figures are kept summed per
//! facet combination (`dashboard_month_figures`, migration 33), so a
//! dashboard over years reads a few thousand sums instead of a million
//! records. Record-keeping sums months ([`Storage::sum_dashboard_months`]);
//! triggers on `records` mark the receipt instant of every record added,
//! removed or changed in a summed figure, and a month with such a stale
//! instant is counted from its records again until it is summed anew. Sums
//! belong to the calendar offset they were made under.

use std::collections::{BTreeMap, HashMap};

use closeloop_shared::analytics::{
    CountedBy, DAY_MS, DashboardFilter, DayTotals, LocalMonth, MAX_PERIOD_DAYS,
};
use closeloop_shared::calendar::WorkingCalendar;
use closeloop_shared::sla::Priority;
use closeloop_shared::stats::Compliance;
use sqlx::Row;

use super::days::{DayCount, day_sums, day_totals};
use super::sla::{clock_counts, compliance_rows};
use super::{count, facets_of, sum};
use crate::storage::{Backend, Sql, Storage, StorageError};

/// Months a dashboard of `f` may read as sums: for its volumes, and for
/// its SLA compliance (a month whose unfinished clocks are all past due by
/// now, so each counts as overdue).
#[derive(Debug, Default)]
pub(super) struct Summed {
    pub volumes: Vec<LocalMonth>,
    pub sla: Vec<LocalMonth>,
}

/// How a month's records are grouped: every facet a filter or a panel
/// reads.
const GROUPS: &str = "r.department, r.channel, r.feedback_type, r.nature, r.priority";

fn offset_of(calendar: &WorkingCalendar) -> i64 {
    i64::from(calendar.utc_offset_minutes)
}

/// ` AND` month `m` has no stale instant.
const NOT_STALE: &str = " AND NOT EXISTS (SELECT 1 FROM dashboard_stale s \
    WHERE s.received_at >= m.month_from AND s.received_at < m.month_to)";

/// ` AND f.month_from IN (…)` for `months`.
fn months_in<'a>(qb: &mut Sql<'a>, months: &[LocalMonth]) {
    qb.push(" AND f.month_from IN (");
    qb.in_list(months.iter().map(|m| m.from_ms));
}

impl Storage {
    /// The months wholly inside `f`'s period that are summed under
    /// `calendar`'s offset and have not gone stale since.
    pub(super) async fn summed_months(
        &self,
        f: &DashboardFilter,
        calendar: &WorkingCalendar,
        now_ms: i64,
    ) -> Result<Summed, StorageError> {
        let whole = closeloop_shared::analytics::whole_months(f.from_ms, f.to_ms, calendar);
        let (Some(first), Some(last)) = (whole.first(), whole.last()) else {
            return Ok(Summed::default());
        };
        let mut qb = self.sql("SELECT m.month_from, m.open_due_max FROM dashboard_months m");
        qb.push(" WHERE m.offset_minutes = ")
            .bind(offset_of(calendar));
        qb.push(" AND m.month_from >= ").bind(first.from_ms);
        qb.push(" AND m.month_to <= ").bind(last.to_ms);
        qb.push(NOT_STALE);
        let mut clean = HashMap::new();
        for row in qb.fetch_all(&self.pool).await? {
            let due: Option<i64> = row.try_get("open_due_max")?;
            clean.insert(row.try_get::<i64, _>("month_from")?, due);
        }
        let mut summed = Summed::default();
        for m in whole {
            if let Some(due) = clean.get(&m.from_ms) {
                summed.volumes.push(m);
                if due.is_none_or(|d| d < now_ms) {
                    summed.sla.push(m);
                }
            }
        }
        Ok(summed)
    }

    /// The summed figures of `months`: totals and counts by each dimension,
    /// each month's under its first local day.
    pub(super) async fn month_figures(
        &self,
        f: &DashboardFilter,
        months: &[LocalMonth],
        calendar: &WorkingCalendar,
    ) -> Result<(Vec<DayTotals>, Vec<DayCount>), StorageError> {
        if months.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let first_day: HashMap<i64, i64> =
            months.iter().map(|m| (m.from_ms, m.first_day)).collect();
        let day_of = |from: i64| {
            first_day
                .get(&from)
                .copied()
                .ok_or_else(|| StorageError::Corrupt(format!("summed month {from} not asked for")))
        };
        let figures = |select: String, group: String| {
            let mut qb = self.sql(format!("SELECT f.month_from AS m, {select}"));
            qb.push(" FROM dashboard_month_figures f WHERE f.offset_minutes = ")
                .bind(offset_of(calendar));
            months_in(&mut qb, months);
            facets_of(&mut qb, f, "f");
            qb.push(format!(" GROUP BY {group}"));
            qb.fetch_all(&self.pool)
        };
        let totals = figures(
            day_sums()
                .iter()
                .map(|(_, name)| sum(&format!("f.{name}"), name))
                .collect::<Vec<_>>()
                .join(", "),
            "f.month_from".to_string(),
        );
        let pair = |a: &'static str, b: &'static str| {
            figures(
                format!("f.{a} AS a, f.{b} AS b, {}", sum("f.n", "n")),
                format!("f.month_from, f.{a}, f.{b}"),
            )
        };
        let (totals, kinds, places) = tokio::try_join!(
            totals,
            pair("feedback_type", "channel"),
            pair("nature", "department"),
        )?;
        let mut out = Vec::new();
        for r in &totals {
            let mut v = [0; 6];
            for (x, (_, name)) in v.iter_mut().zip(day_sums()) {
                *x = r.try_get(name)?;
            }
            out.push(day_totals(day_of(r.try_get("m")?)?, v));
        }
        let mut counts = Vec::new();
        for (rows, dims) in [
            (&kinds, [CountedBy::FeedbackType, CountedBy::Channel]),
            (&places, [CountedBy::Nature, CountedBy::Department]),
        ] {
            for r in rows {
                let day = day_of(r.try_get("m")?)?;
                let n = count(r.try_get("n")?);
                for (dim, column) in dims.into_iter().zip(["a", "b"]) {
                    counts.push(DayCount {
                        dim,
                        day,
                        value: r.try_get(column)?,
                        n,
                    });
                }
            }
        }
        Ok((out, counts))
    }

    /// SLA compliance per priority from the sums of `months`, each of
    /// whose unfinished clocks is past due (see [`Summed`]).
    pub(super) async fn month_compliance(
        &self,
        f: &DashboardFilter,
        months: &[LocalMonth],
        calendar: &WorkingCalendar,
    ) -> Result<BTreeMap<Priority, [Compliance; 2]>, StorageError> {
        if months.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sums: Vec<String> = clock_counts(None)
            .iter()
            .map(|(_, name)| sum(&format!("f.{name}"), name))
            .collect();
        let mut qb = self.sql(format!("SELECT f.priority, {}", sums.join(", ")));
        qb.push(" FROM dashboard_month_figures f WHERE f.offset_minutes = ")
            .bind(offset_of(calendar));
        months_in(&mut qb, months);
        facets_of(&mut qb, f, "f");
        qb.push(" AND f.priority IS NOT NULL GROUP BY f.priority");
        compliance_rows(&qb.fetch_all(&self.pool).await?, "unfinished", None)
    }

    /// Sums up to `limit` local months, newest first, that end by
    /// `until_ms`, lie within a dashboard's longest period of it and are
    /// not summed under `calendar`'s offset or have gone stale; returns how
    /// many it summed. Each month is summed in its own transaction, which
    /// first clears the month's stale instants (on PostgreSQL, but those a
    /// writer in flight holds): a record changed after that marks it stale
    /// again, so no change is missed on either database.
    pub async fn sum_dashboard_months(
        &self,
        calendar: &WorkingCalendar,
        until_ms: i64,
        limit: usize,
    ) -> Result<usize, StorageError> {
        let offset = offset_of(calendar);
        for table in ["dashboard_month_figures", "dashboard_months"] {
            let mut qb = self.sql(format!("DELETE FROM {table} WHERE offset_minutes <> "));
            qb.bind(offset);
            qb.execute(&self.pool).await?;
        }
        let row = self
            // Each its own subquery: SQLite reads one end of the index for a
            // lone MIN or MAX, and scans every record for both together.
            .sql(
                "SELECT (SELECT MIN(received_at) FROM records) AS lo, \
                 (SELECT MAX(received_at) FROM records) AS hi",
            )
            .fetch_optional(&self.pool)
            .await?;
        let bounds: Option<(Option<i64>, Option<i64>)> = row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("lo")?, r.try_get("hi")?)))
            .transpose()?;
        let Some((Some(lo), Some(hi))) = bounds else {
            return Ok(0);
        };
        let earliest = until_ms.saturating_sub(MAX_PERIOD_DAYS * DAY_MS);
        let lo = lo.max(earliest);
        let hi = hi.min(until_ms - 1);
        if lo > hi {
            return Ok(0);
        }
        let mut qb =
            self.sql("SELECT m.month_from FROM dashboard_months m WHERE m.offset_minutes = ");
        qb.bind(offset).push(NOT_STALE);
        let clean: std::collections::HashSet<i64> = qb
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("month_from"))
            .collect::<Result<_, _>>()?;
        let mut summed = 0;
        let mut month = LocalMonth::of(hi, calendar);
        while summed < limit && month.to_ms > lo {
            if month.to_ms <= until_ms && !clean.contains(&month.from_ms) {
                self.sum_month(month, offset).await?;
                summed += 1;
            }
            month = LocalMonth::of(month.from_ms - 1, calendar);
        }
        Ok(summed)
    }

    async fn sum_month(&self, m: LocalMonth, offset: i64) -> Result<(), StorageError> {
        let range = |qb: &mut Sql<'_>| {
            qb.push(" WHERE r.received_at >= ").bind(m.from_ms);
            qb.push(" AND r.received_at < ").bind(m.to_ms);
        };
        let mut tx = self.begin_write().await?;
        // On PostgreSQL a mark that a writer still in flight holds is left
        // (its change may not be in the sums read below), never waited for.
        let mut qb = self.sql(
            "DELETE FROM dashboard_stale WHERE received_at IN (SELECT s.received_at \
             FROM dashboard_stale s WHERE s.received_at >= ",
        );
        qb.bind(m.from_ms)
            .push(" AND s.received_at < ")
            .bind(m.to_ms);
        if self.backend == Backend::Postgres {
            qb.push(" FOR UPDATE SKIP LOCKED");
        }
        qb.push(")");
        qb.execute_on(&mut tx).await?;
        let mut qb = self.sql("DELETE FROM dashboard_month_figures WHERE offset_minutes = ");
        qb.bind(offset).push(" AND month_from = ").bind(m.from_ms);
        qb.execute_on(&mut tx).await?;
        let figures: Vec<(String, String)> = day_sums()
            .into_iter()
            .map(|(e, name)| (e, name.to_string()))
            .chain(clock_counts(None))
            .collect();
        let sums: Vec<String> = figures.iter().map(|(e, name)| sum(e, name)).collect();
        let names: Vec<&str> = figures.iter().map(|(_, name)| name.as_str()).collect();
        let mut qb = self.sql(format!(
            "INSERT INTO dashboard_month_figures (offset_minutes, month_from, department, \
             channel, feedback_type, nature, priority, {}) SELECT ",
            names.join(", ")
        ));
        qb.bind(offset).push(", ").bind(m.from_ms);
        qb.push(format!(", {GROUPS}, {} FROM records r", sums.join(", ")));
        range(&mut qb);
        qb.push(format!(" GROUP BY {GROUPS}"));
        qb.execute_on(&mut tx).await?;
        let mut qb = self.sql("DELETE FROM dashboard_months WHERE offset_minutes = ");
        qb.bind(offset).push(" AND month_from = ").bind(m.from_ms);
        qb.execute_on(&mut tx).await?;
        // The latest due moment of a clock still running: until it has
        // passed, the month's SLA is counted from its records.
        let mut qb =
            self.sql("INSERT INTO dashboard_months (offset_minutes, month_from, month_to, open_due_max) SELECT ");
        qb.bind(offset)
            .push(", ")
            .bind(m.from_ms)
            .push(", ")
            .bind(m.to_ms);
        qb.push(", MAX(d) FROM (SELECT CASE WHEN r.first_response_at IS NULL THEN r.first_response_due_at END AS d FROM records r");
        range(&mut qb);
        qb.push(" UNION ALL SELECT CASE WHEN r.resolved_at IS NULL THEN r.resolution_due_at END FROM records r");
        range(&mut qb);
        qb.push(") t");
        qb.execute_on(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
