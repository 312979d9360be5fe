//! The dashboard from SQL aggregates: one grouped scan per figure over the
//! covering index `records_for_dashboard` (per local day on SQLite, see
//! `days`), past months from their sums (`months`), SLA compliance in
//! `sla`, folded by the shared [`SeriesBuilder`]. The property test `server/tests/analytics.rs` holds
//! the result equal to [`closeloop_shared::analytics::pure::dashboard`].

use std::collections::BTreeMap;

use closeloop_shared::analytics::{
    Dashboard, DashboardFilter, DayTotals, Granularity, LocalMonth, REPEAT_WINDOW_MS,
    SeriesBuilder, Share, ranges_between,
};
use closeloop_shared::calendar::WorkingCalendar;
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::stats::duration_stats;
use closeloop_shared::survey::score::{Csat, Nps};
use sqlx::Row;

use super::sql::split_integers;
use super::{Backend, Sql, Storage, StorageError};

mod days;
mod months;
mod sla;

/// Which records a query reads: the facet filters and, unless `None`, the
/// received period.
fn records_where<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter, period: Option<(i64, i64)>) {
    qb.push(" FROM records r");
    period_and_facets(qb, f, period);
}

/// The filter's records of its period, read from the covering index
/// `records_for_dashboard` alone. SQLite is told to: with statistics it
/// chose a skip-scan of the index by status for periods of a few weeks,
/// reading the table for every row (3-5x slower).
fn covered_where<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter) {
    qb.push(" FROM records r");
    if qb.backend() == Backend::Sqlite {
        qb.push(" INDEXED BY records_for_dashboard");
    }
    period_and_facets(qb, f, Some((f.from_ms, f.to_ms)));
}

fn period_and_facets<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter, period: Option<(i64, i64)>) {
    qb.push(" WHERE 1 = 1");
    if let Some((from, to)) = period {
        qb.push(" AND r.received_at >= ").bind(from);
        qb.push(" AND r.received_at < ").bind(to);
    }
    facets_where(qb, f);
}

/// ` AND` the filter's department, channel and type on records `r`.
fn facets_where<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter) {
    facets_of(qb, f, "r");
}

/// ` AND` the filter's department, channel and type on the columns of
/// `table` (records, or survey answers' copies of them).
fn facets_of<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter, table: &str) {
    for (column, value) in [
        ("department", &f.department),
        ("channel", &f.channel),
        ("feedback_type", &f.feedback_type),
    ] {
        if let Some(v) = value {
            qb.push(format!(" AND {table}.{column} = "))
                .bind(v.as_str());
        }
    }
}

/// `SUM` as a 64-bit integer on both databases (PostgreSQL sums BIGINT as
/// NUMERIC).
fn sum(expr: &str, name: &str) -> String {
    format!("CAST(SUM({expr}) AS BIGINT) AS {name}")
}

/// Milliseconds from receipt to a moment, negative (clock skew) as zero.
fn elapsed(column: &str) -> String {
    format!(
        "CASE WHEN {column} IS NULL THEN 0 WHEN {column} > r.received_at \
         THEN {column} - r.received_at ELSE 0 END"
    )
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `f` narrowed to each range of its period that `summed` leaves.
fn unsummed(f: &DashboardFilter, summed: &[LocalMonth]) -> Vec<DashboardFilter> {
    ranges_between(f.from_ms, f.to_ms, summed)
        .into_iter()
        .map(|(from_ms, to_ms)| DashboardFilter {
            from_ms,
            to_ms,
            ..f.clone()
        })
        .collect()
}

impl Storage {
    /// The dashboard of `filter` at `now_ms`; head office sees every
    /// record, so no visibility applies.
    pub async fn dashboard(
        &self,
        filter: &DashboardFilter,
        sla: &SlaConfig,
        now_ms: i64,
    ) -> Result<Dashboard, StorageError> {
        let offset = i64::from(sla.calendar.utc_offset_minutes) * 60_000;
        let summed = self.summed_months(filter, &sla.calendar, now_ms).await?;
        let (days, scores, (first, resolved), compliance, complaints, classes, overdue) = tokio::try_join!(
            self.volume_figures(filter, &sla.calendar, &summed.volumes),
            self.day_scores(filter, offset),
            self.durations(filter),
            self.compliance(filter, sla, now_ms, &summed.sla),
            self.complaints(filter),
            self.problem_classes(filter),
            self.overdue_now(filter, now_ms),
        )?;
        let mut series = SeriesBuilder::new(filter, &sla.calendar);
        let (totals, counts) = days;
        for t in &totals {
            series.add_totals(t);
        }
        for c in &counts {
            series.add_count(c.dim, c.day, c.value.as_deref(), c.n);
        }
        let (mut csat, mut nps) = (Csat::default(), Nps::default());
        for s in &scores {
            csat = closeloop_shared::analytics::add_csat(csat, s.csat);
            nps = closeloop_shared::analytics::add_nps(nps, s.nps);
            series.add_scores(s);
        }
        Ok(Dashboard {
            filter: filter.clone(),
            granularity: Granularity::for_period(filter.from_ms, filter.to_ms),
            total: series.total,
            volumes: series.volumes.clone(),
            first_contact: series.first_contact,
            first_response: duration_stats(first),
            resolution: duration_stats(resolved),
            sla: compliance,
            repeat_complaints: complaints,
            csat,
            nps,
            problem_classes: classes,
            overdue_now: overdue,
            series: series.series(),
        })
    }

    /// Each of the dashboard's queries run alone and timed (for
    /// `cargo xtask bench analytics`), in the order the dashboard shows them.
    pub async fn dashboard_panels(
        &self,
        filter: &DashboardFilter,
        sla: &SlaConfig,
        now_ms: i64,
    ) -> Result<Vec<(&'static str, std::time::Duration)>, StorageError> {
        let offset = i64::from(sla.calendar.utc_offset_minutes) * 60_000;
        let mut out = Vec::new();
        let mut time = |name, started: std::time::Instant| out.push((name, started.elapsed()));
        let t = std::time::Instant::now();
        let summed = self.summed_months(filter, &sla.calendar, now_ms).await?;
        time("summed months", t);
        let t = std::time::Instant::now();
        self.volume_figures(filter, &sla.calendar, &summed.volumes)
            .await?;
        time("volumes, series, first contact", t);
        let t = std::time::Instant::now();
        self.durations(filter).await?;
        time("response and resolution times", t);
        let t = std::time::Instant::now();
        self.compliance(filter, sla, now_ms, &summed.sla).await?;
        time("SLA per priority", t);
        let t = std::time::Instant::now();
        self.complaints(filter).await?;
        time("repeat complaints", t);
        let t = std::time::Instant::now();
        self.day_scores(filter, offset).await?;
        time("CSAT and NPS", t);
        let t = std::time::Instant::now();
        self.problem_classes(filter).await?;
        time("problem classes", t);
        let t = std::time::Instant::now();
        self.overdue_now(filter, now_ms).await?;
        time("overdue now", t);
        Ok(out)
    }

    /// Every first-response and resolution time of the period, for the
    /// median and 90th percentile; each list comes as one joined value,
    /// since a row per time cost ten times the scan.
    async fn durations(&self, f: &DashboardFilter) -> Result<(Vec<i64>, Vec<i64>), StorageError> {
        let times = |column: &'static str| async move {
            let joined = self.backend.joined_integers(&elapsed(column));
            let mut qb = self.sql(format!("SELECT {joined} AS d"));
            covered_where(&mut qb, f);
            qb.push(format!(" AND {column} IS NOT NULL"));
            let row = qb.fetch_optional(&self.pool).await?;
            let joined: Option<String> = row.map(|r| r.try_get("d")).transpose()?.flatten();
            split_integers(joined.as_deref())
                .map_err(|e| StorageError::Corrupt(format!("durations of {column}: {e}")))
        };
        tokio::try_join!(times("r.first_response_at"), times("r.resolved_at"))
    }

    /// The period's volumes, times and first contacts per local day; at
    /// month granularity, the months in `summed` come from their sums, each
    /// under its first day (the bucket it falls in either way).
    async fn volume_figures(
        &self,
        f: &DashboardFilter,
        calendar: &WorkingCalendar,
        summed: &[LocalMonth],
    ) -> Result<(Vec<DayTotals>, Vec<days::DayCount>), StorageError> {
        let offset = i64::from(calendar.utc_offset_minutes) * 60_000;
        if Granularity::for_period(f.from_ms, f.to_ms) != Granularity::Month || summed.is_empty() {
            return self.day_figures(f, offset).await;
        }
        let (mut totals, mut counts) = self.month_figures(f, summed, calendar).await?;
        for part in unsummed(f, summed) {
            let (t, c) = self.day_figures(&part, offset).await?;
            totals.extend(t);
            counts.extend(c);
        }
        Ok((totals, counts))
    }

    /// Complaints of the period, and how many are repeats: each complaint
    /// is paired in SQL with the one before it of the same customer and
    /// kind (`LAG`), looking back into the window before the period, so no
    /// complaint leaves the database (`stats::repeat_complaints`' rule).
    async fn complaints(&self, f: &DashboardFilter) -> Result<Share, StorageError> {
        let mut qb = self.sql(
            "SELECT COUNT(*) AS whole, COALESCE(CAST(SUM(CASE WHEN t.prev IS NOT NULL \
             AND t.received_at - t.prev <= ",
        );
        qb.bind(REPEAT_WINDOW_MS).push(
            " THEN 1 ELSE 0 END) AS BIGINT), 0) AS part FROM (SELECT r.received_at, \
                 LAG(r.received_at) OVER (PARTITION BY r.customer, \
                 COALESCE(r.complaint_kind, r.feedback_type) ORDER BY r.received_at) AS prev",
        );
        // In the index's order. SQLite is told to: its planner prefers a range
        // of the dashboard index by receipt and then sorting the period's
        // complaints, which took twice as long at a million records.
        qb.push(" FROM records r");
        if qb.backend() == Backend::Sqlite {
            qb.push(" INDEXED BY records_complaint_chains");
        }
        period_and_facets(&mut qb, f, Some((f.from_ms - REPEAT_WINDOW_MS, f.to_ms)));
        // `stats::is_complaint`: by nature, else by type (the index's condition).
        qb.push(" AND (r.nature = 'complaint' OR r.feedback_type = 'complaint')) t");
        qb.push(" WHERE t.received_at >= ").bind(f.from_ms);
        let row = if qb.backend() == Backend::Postgres {
            // PostgreSQL is told the same by forbidding sorts for this one
            // statement: with some statistics it chose a range by receipt
            // and a sort of every complaint (over a million records 1.1 s
            // against 0.2–0.3 s).
            let mut tx = self.pool.begin().await?;
            sqlx::query("SET LOCAL enable_sort = off")
                .execute(&mut *tx)
                .await?;
            let row = qb.fetch_optional_on(&mut tx).await?;
            tx.commit().await?;
            row
        } else {
            qb.fetch_optional(&self.pool).await?
        };
        let get = |c: &str| -> Result<u64, StorageError> {
            Ok(row
                .as_ref()
                .map(|r| r.try_get::<i64, _>(c))
                .transpose()?
                .map_or(0, count))
        };
        Ok(Share {
            part: get("part")?,
            whole: get("whole")?,
        })
    }

    async fn problem_classes(
        &self,
        f: &DashboardFilter,
    ) -> Result<BTreeMap<String, u64>, StorageError> {
        let mut qb = self.sql("SELECT r.problem_class AS k, COUNT(*) AS n");
        covered_where(&mut qb, f);
        qb.push(" AND r.problem_class IS NOT NULL GROUP BY r.problem_class");
        let rows = qb.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("k")?, count(r.try_get("n")?))))
            .collect()
    }

    /// Open records past their running clock's due moment (the inbox's
    /// `due=overdue`), whenever received.
    async fn overdue_now(&self, f: &DashboardFilter, now_ms: i64) -> Result<u64, StorageError> {
        let mut qb = self.sql("SELECT COUNT(*)");
        records_where(&mut qb, f, None);
        qb.push(" AND r.status <> 'closed' AND r.clock_due_at < ")
            .bind(now_ms);
        Ok(count(qb.fetch_i64(&self.pool).await?))
    }
}
