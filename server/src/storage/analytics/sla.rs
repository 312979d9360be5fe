//! SLA compliance per priority: clocks with a due moment counted in SQL
//! (from a month's sums where they stand in), waiting records evaluated
//! with the policy.

use std::collections::BTreeMap;

use closeloop_shared::analytics::{DashboardFilter, LocalMonth, PrioritySla};
use closeloop_shared::sla::{Priority, SlaConfig};
use closeloop_shared::stats::{Compliance, SlaTarget, sla_compliance_of};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{count, covered_where, records_where, sum, unsummed};
use crate::storage::{Storage, StorageError};

/// Each SLA clock's records `r` per state, as (count, name `{clock}_{state}`):
/// met or breached when stopped with a due moment; while running, overdue
/// or in time at `now`, or (`None`, for a month's sums) unfinished.
pub(super) fn clock_counts(now: Option<i64>) -> Vec<(String, String)> {
    let mut counts = Vec::new();
    for (clock, done, due) in [
        ("fr", "r.first_response_at", "r.first_response_due_at"),
        ("res", "r.resolved_at", "r.resolution_due_at"),
    ] {
        let mut states = vec![
            ("met", format!("{done} <= {due}")),
            ("breached", format!("{done} > {due}")),
        ];
        match now {
            Some(now) => {
                states.push(("overdue", format!("{done} IS NULL AND {due} < {now}")));
                states.push(("open", format!("{done} IS NULL AND {due} >= {now}")));
            }
            None => states.push((
                "unfinished",
                format!("{done} IS NULL AND {due} IS NOT NULL"),
            )),
        }
        for (state, when) in states {
            counts.push((
                format!("CASE WHEN {when} THEN 1 ELSE 0 END"),
                format!("{clock}_{state}"),
            ));
        }
    }
    counts
}

/// Rows of clock counts per priority (`priority`, `{clock}_{state}`) as
/// compliance: running clocks are counted as overdue from the `overdue`
/// columns and in time from the `in_time` ones.
pub(super) fn compliance_rows(
    rows: &[AnyRow],
    overdue: &str,
    in_time: Option<&str>,
) -> Result<BTreeMap<Priority, [Compliance; 2]>, StorageError> {
    let mut counted: BTreeMap<Priority, [Compliance; 2]> = BTreeMap::new();
    for row in rows {
        let key: Option<String> = row.try_get("priority")?;
        let Some(p) = key.as_deref().and_then(Priority::from_key) else {
            continue;
        };
        let get = |c: &str| -> Result<usize, StorageError> { Ok(count(row.try_get(c)?) as usize) };
        let both = counted.entry(p).or_default();
        for (i, clock) in ["fr", "res"].into_iter().enumerate() {
            both[i].met += get(&format!("{clock}_met"))?;
            both[i].breached += get(&format!("{clock}_breached"))?;
            both[i].overdue += get(&format!("{clock}_{overdue}"))?;
            if let Some(in_time) = in_time {
                both[i].open_in_time += get(&format!("{clock}_{in_time}"))?;
            }
        }
    }
    Ok(counted)
}

impl Storage {
    /// SLA compliance per priority. A clock with a fixed due moment (every
    /// first-response clock; a resolution clock unless the record waits for
    /// the customer) is counted in SQL against `now`, which gives the
    /// policy's states exactly: met or breached when stopped, overdue when
    /// past due, in time otherwise; in the months of `summed`, from their
    /// sums. Only clocks without one — waiting records — are evaluated with
    /// the policy here.
    pub(super) async fn compliance(
        &self,
        f: &DashboardFilter,
        sla: &SlaConfig,
        now_ms: i64,
        summed: &[LocalMonth],
    ) -> Result<Vec<PrioritySla>, StorageError> {
        let mut counted = self.month_compliance(f, summed, &sla.calendar).await?;
        for part in unsummed(f, summed) {
            for (p, [fr, res]) in self.counted_compliance(&part, now_ms).await? {
                let both = counted.entry(p).or_default();
                both[0] = closeloop_shared::stats::add_compliance(both[0], fr);
                both[1] = closeloop_shared::stats::add_compliance(both[1], res);
            }
        }
        // Resolution clocks without a due moment, of priorities that have
        // a resolution target.
        let timed: Vec<&str> = Priority::ALL
            .into_iter()
            .filter(|p| {
                sla.policy
                    .targets
                    .get(p)
                    .is_some_and(|t| t.resolution.is_some())
            })
            .map(Priority::key)
            .collect();
        let mut waiting: BTreeMap<Priority, Vec<_>> = BTreeMap::new();
        if !timed.is_empty() {
            let mut qb = self.sql(
                "SELECT r.document_id, r.priority, r.received_at, r.first_response_at, \
                 r.resolved_at, r.pauses",
            );
            records_where(&mut qb, f, Some((f.from_ms, f.to_ms)));
            qb.push(" AND r.resolution_due_at IS NULL AND r.priority IN (");
            qb.in_list(timed);
            for row in qb.fetch_all(&self.pool).await? {
                let clock = crate::storage::read_model::sla_columns(&row)?;
                if let Some(p) = clock.priority {
                    waiting.entry(p).or_default().push((p, clock.facts));
                }
            }
        }
        let calendar = |e| StorageError::Corrupt(format!("SLA calendar: {e}"));
        Priority::ALL
            .into_iter()
            .map(|priority| {
                let [fr, res] = counted.get(&priority).copied().unwrap_or_default();
                let facts = waiting.remove(&priority).unwrap_or_default();
                let evaluated = sla_compliance_of(
                    facts,
                    &sla.policy,
                    &sla.calendar,
                    SlaTarget::Resolution,
                    now_ms,
                )
                .map_err(calendar)?;
                let add = closeloop_shared::stats::add_compliance;
                Ok(PrioritySla {
                    priority,
                    first_response: add(fr, Compliance::default()),
                    resolution: add(res, evaluated),
                })
            })
            .collect()
    }

    /// Clocks with a due moment of `f`'s period, per priority, counted
    /// against `now`.
    async fn counted_compliance(
        &self,
        f: &DashboardFilter,
        now_ms: i64,
    ) -> Result<BTreeMap<Priority, [Compliance; 2]>, StorageError> {
        let sums: Vec<String> = clock_counts(Some(now_ms))
            .iter()
            .map(|(e, name)| sum(e, name))
            .collect();
        let mut qb = self.sql(format!("SELECT r.priority, {}", sums.join(", ")));
        covered_where(&mut qb, f);
        qb.push(" AND r.priority IS NOT NULL GROUP BY r.priority");
        compliance_rows(&qb.fetch_all(&self.pool).await?, "overdue", Some("open"))
    }
}
