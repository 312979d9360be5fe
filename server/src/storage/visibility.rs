//! The access rule ([`Visibility`]) as SQL: the one place it is rendered,
//! for every query that lists, counts or serves records or blobs.

use closeloop_shared::access::Visibility;

use super::Sql;

/// Appends ` AND (…)` limiting rows to what `v` admits, given the columns
/// holding a record's team and assignee. `Everything` appends nothing.
/// SQL's NULL never equals anything, exactly as `None` never matches in
/// [`Visibility::admits`].
pub(crate) fn restrict<'a>(q: &mut Sql<'a>, v: Visibility<'a>, team: &str, owner: &str) {
    let Visibility::TeamOrAssigned {
        team: user_team,
        username,
    } = v
    else {
        return;
    };
    match user_team {
        Some(t) => {
            q.push(format!(" AND ({team} = "))
                .bind(t)
                .push(format!(" OR {owner} = "))
                .bind(username)
                .push(")");
        }
        None => {
            q.push(format!(" AND {owner} = ")).bind(username);
        }
    }
}
