//! The dashboard's figures per local day: volumes, times, first contact
//! and survey scores.

use closeloop_shared::analytics::{
    CountedBy, DAY_MS, DashboardFilter, DayScores, DayTotals, Share,
};
use closeloop_shared::survey::score::{Csat, Nps};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{count, covered_where, elapsed, facets_of, facets_where, sum};
use crate::storage::{Backend, Sql, Storage, StorageError};

/// SQLite groups by sorting, and sorting a period's rows costs more than
/// reading them (a year: 400,000 rows, about 200 ms a grouped scan). So on
/// SQLite each local day of the period is read by its own index range and
/// grouped on its own (a day's few hundred rows sort in cache), its figures
/// coming back as one JSON value. This starts such a statement: `d` holds
/// the period's local days.
fn with_days<'a>(qb: &mut Sql<'a>, f: &DashboardFilter, offset: i64) {
    let first = (f.from_ms + offset).div_euclid(DAY_MS);
    let last = (f.to_ms - 1 + offset).div_euclid(DAY_MS);
    qb.push("WITH RECURSIVE d(day) AS (SELECT ")
        .bind(first)
        .push(" UNION ALL SELECT day + 1 FROM d WHERE day < ")
        .bind(last)
        .push(")");
}

/// The records of day `d.day` within the filter's period, from the
/// covering index.
fn day_where<'a>(qb: &mut Sql<'a>, f: &'a DashboardFilter, offset: i64) {
    qb.push(format!(
        " FROM records r INDEXED BY records_for_dashboard \
         WHERE r.received_at >= max(d.day * {DAY_MS} - {offset}, "
    ))
    .bind(f.from_ms);
    qb.push(format!(
        ") AND r.received_at < min((d.day + 1) * {DAY_MS} - {offset}, "
    ))
    .bind(f.to_ms)
    .push(")");
    facets_where(qb, f);
}

/// A day's totals: each a sum over its records, in this order (a summed
/// month's too, see `months`).
pub(super) fn day_sums() -> [(String, &'static str); 6] {
    [
        ("1".to_string(), "n"),
        (
            "CASE WHEN r.first_response_at IS NULL THEN 0 ELSE 1 END".into(),
            "fr_n",
        ),
        (elapsed("r.first_response_at"), "fr_ms"),
        (
            "CASE WHEN r.resolved_at IS NULL THEN 0 ELSE 1 END".into(),
            "res_n",
        ),
        (elapsed("r.resolved_at"), "res_ms"),
        (
            "CASE WHEN r.resolved_at IS NOT NULL AND r.detoured = 0 THEN 1 ELSE 0 END".into(),
            "first_contact",
        ),
    ]
}

/// A day's (or a summed month's) totals from the sums of [`day_sums`].
pub(super) fn day_totals(day: i64, sums: [i64; 6]) -> DayTotals {
    let [n, fr_n, fr_ms, res_n, res_ms, first_contact] = sums;
    DayTotals {
        day,
        received: count(n),
        first_response: (count(fr_n), fr_ms),
        resolution: (count(res_n), res_ms),
        first_contact: Share {
            part: count(first_contact),
            whole: count(res_n),
        },
    }
}

/// The `v` column of a per-day row, as JSON.
fn json<T: serde::de::DeserializeOwned>(row: &AnyRow) -> Result<T, StorageError> {
    let text: String = row.try_get("v")?;
    serde_json::from_str(&text).map_err(|e| StorageError::Corrupt(format!("day figures: {e}")))
}

/// Records of one day with one value of a dimension.
pub(super) struct DayCount {
    pub dim: CountedBy,
    pub day: i64,
    pub value: Option<String>,
    pub n: u64,
}

impl Storage {
    /// The period's records per local day: totals, times and first
    /// contacts in one query, the counts by each dimension in two more —
    /// a few dozen rows a day each, where grouping by every facet at once
    /// would return nearly a row per record.
    pub(super) async fn day_figures(
        &self,
        f: &DashboardFilter,
        offset: i64,
    ) -> Result<(Vec<DayTotals>, Vec<DayCount>), StorageError> {
        let per_day = self.backend == Backend::Sqlite;
        let day = format!("(r.received_at + {offset}) / {DAY_MS}");
        let figures = day_sums();
        let totals = async {
            let mut rows: Vec<(i64, [i64; 6])> = Vec::new();
            if per_day {
                let sums: Vec<String> = figures.iter().map(|(e, _)| format!("SUM({e})")).collect();
                let mut qb = self.sql(String::new());
                with_days(&mut qb, f, offset);
                qb.push(format!(
                    " SELECT d.day AS day, (SELECT json_array({})",
                    sums.join(", ")
                ));
                day_where(&mut qb, f, offset);
                qb.push(") AS v FROM d");
                for r in qb.fetch_all(&self.pool).await? {
                    // A day without records sums to nulls.
                    let v: [Option<i64>; 6] = json(&r)?;
                    if v[0].is_some() {
                        rows.push((r.try_get("day")?, v.map(|x| x.unwrap_or(0))));
                    }
                }
            } else {
                let sums: Vec<String> = figures.iter().map(|(e, name)| sum(e, name)).collect();
                let mut qb = self.sql(format!("SELECT {day} AS day, {}", sums.join(", ")));
                covered_where(&mut qb, f);
                qb.push(" GROUP BY 1");
                for r in qb.fetch_all(&self.pool).await? {
                    let mut v = [0; 6];
                    for (x, (_, name)) in v.iter_mut().zip(&figures) {
                        *x = r.try_get(*name)?;
                    }
                    rows.push((r.try_get("day")?, v));
                }
            }
            Ok::<_, StorageError>(
                rows.into_iter()
                    .map(|(day, sums)| day_totals(day, sums))
                    .collect(),
            )
        };
        // Two dimensions per scan: sorting the period's rows is most of a
        // grouped scan's cost, and a pair has a few dozen values a day.
        let by = |pair: [(CountedBy, &'static str); 2]| {
            let day = day.clone();
            async move {
                let [(first, a), (second, b)] = pair;
                let rows: Vec<(i64, Option<String>, Option<String>, i64)> = if per_day {
                    let mut qb = self.sql(String::new());
                    with_days(&mut qb, f, offset);
                    qb.push(format!(
                        " SELECT d.day AS day, (SELECT json_group_array(json_array(g.a, g.b, g.n)) \
                         FROM (SELECT {a} AS a, {b} AS b, COUNT(*) AS n"
                    ));
                    day_where(&mut qb, f, offset);
                    qb.push(" GROUP BY 1, 2) g) AS v FROM d");
                    let mut out = Vec::new();
                    for r in qb.fetch_all(&self.pool).await? {
                        let day = r.try_get("day")?;
                        let groups: Vec<(Option<String>, Option<String>, i64)> = json(&r)?;
                        out.extend(groups.into_iter().map(|(a, b, n)| (day, a, b, n)));
                    }
                    out
                } else {
                    let mut qb = self.sql(format!(
                        "SELECT {day} AS day, {a} AS a, {b} AS b, COUNT(*) AS n"
                    ));
                    covered_where(&mut qb, f);
                    qb.push(" GROUP BY 1, 2, 3");
                    let mut out = Vec::new();
                    for r in qb.fetch_all(&self.pool).await? {
                        out.push((
                            r.try_get("day")?,
                            r.try_get("a")?,
                            r.try_get("b")?,
                            r.try_get("n")?,
                        ));
                    }
                    out
                };
                let mut counts = Vec::new();
                for (day, a, b, n) in rows {
                    let n = count(n);
                    counts.push(DayCount {
                        dim: first,
                        day,
                        value: a,
                        n,
                    });
                    counts.push(DayCount {
                        dim: second,
                        day,
                        value: b,
                        n,
                    });
                }
                Ok::<_, StorageError>(counts)
            }
        };
        let (totals, kinds, places) = tokio::try_join!(
            totals,
            by([
                (CountedBy::FeedbackType, "r.feedback_type"),
                (CountedBy::Channel, "r.channel"),
            ]),
            by([
                (CountedBy::Nature, "r.nature"),
                (CountedBy::Department, "r.department"),
            ]),
        )?;
        let counts = kinds.into_iter().chain(places);
        Ok((totals, counts.collect()))
    }

    /// Survey scores per local day of answering; with a facet filter, only
    /// answers about a record that passes it.
    pub(super) async fn day_scores(
        &self,
        f: &DashboardFilter,
        offset: i64,
    ) -> Result<Vec<DayScores>, StorageError> {
        let sums = [
            "csat_answered",
            "csat_satisfied",
            "csat_total",
            "nps_promoters",
            "nps_passives",
            "nps_detractors",
        ]
        .map(|c| sum(&format!("COALESCE(a.{c}, 0)"), c))
        .join(", ");
        let mut qb = self.sql(format!(
            "SELECT (a.answered_at + {offset}) / {DAY_MS} AS day, {sums} FROM survey_answers a"
        ));
        qb.push(" WHERE a.answered_at >= ").bind(f.from_ms);
        qb.push(" AND a.answered_at < ").bind(f.to_ms);
        // The answer's copies of its record's facets (none for an answer
        // about no record, which a facet filter leaves out).
        facets_of(&mut qb, f, "a");
        qb.push(" GROUP BY 1");
        let rows = qb.fetch_all(&self.pool).await?;
        let get = |r: &AnyRow, c: &str| -> Result<u64, StorageError> { Ok(count(r.try_get(c)?)) };
        rows.iter()
            .map(|r| {
                Ok(DayScores {
                    day: r.try_get("day")?,
                    csat: Csat {
                        answered: get(r, "csat_answered")?,
                        satisfied: get(r, "csat_satisfied")?,
                        total: get(r, "csat_total")?,
                    },
                    nps: Nps {
                        promoters: get(r, "nps_promoters")?,
                        passives: get(r, "nps_passives")?,
                        detractors: get(r, "nps_detractors")?,
                    },
                })
            })
            .collect()
    }
}
