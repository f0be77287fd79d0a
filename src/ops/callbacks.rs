//! Reading an async action's record by its callback key (the capability: no session is
//! needed). A final record is marked read at the first look and stays readable for the
//! retention period after it (decisions.md §4).

use serde_json::{json, Value};

use crate::error::Result;
use crate::secrets;
use crate::state::AppState;
use crate::store;

/// Where an async action is.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Queued, nothing to report yet.
    Pending,
    /// Staged work in progress: the stage's scope and the request's context.
    Stage {
        scope: Option<String>,
        context: Value,
    },
    /// Over: succeeded or failed, with the outcome's scope, context and debug text.
    Done {
        ok: bool,
        scope: Option<String>,
        context: Value,
        debug: String,
        created_at: i64,
    },
}

/// The record of `key` among `module`'s (`eq`, `nat`), or `None` when there is none: a
/// malformed key, another module's, or one whose retention after its first read is over.
/// Looking at a final record marks it read.
pub async fn check(state: &AppState, module: &str, key: &str) -> Result<Option<Progress>> {
    if !secrets::is_hex32(key) {
        return Ok(None);
    }
    let now = state.clock.now();
    let Some(record) = store::callbacks::get(&state.db, key)
        .await?
        .filter(|r| r.module == module)
    else {
        return Ok(None);
    };
    if record
        .first_read_at
        .is_some_and(|read| read + state.config.callback_retention <= now)
    {
        return Ok(None);
    }
    let context: Value = serde_json::from_str(&record.context).unwrap_or_else(|_| json!({}));
    Ok(Some(match record.state.as_str() {
        "pending" => Progress::Pending,
        "stage" => Progress::Stage {
            scope: record.scope,
            context,
        },
        final_state => {
            store::callbacks::mark_read(&state.db, key, now).await?;
            Progress::Done {
                ok: final_state == "ok",
                scope: record.scope,
                context,
                // A string also where the outcome had none (decisions.md §2, §4).
                debug: record.debug.unwrap_or_default(),
                created_at: record.created_at,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::state;

    #[tokio::test]
    async fn a_final_record_is_read_until_its_retention_after_the_first_look_is_over() {
        let state = state().await;
        let key = secrets::callback_key();
        store::callbacks::create_final(
            &state.db,
            &store::callbacks::NewCallback {
                key: &key,
                module: "eq",
                account_id: None,
                server_id: 40101,
                action: "on",
                context: &json!({"action": "on"}),
            },
            true,
            "done",
            None,
            state.clock.now(),
        )
        .await
        .expect("record");
        assert_eq!(
            check(&state, "nat", &key).await.expect("check"),
            None,
            "another module's"
        );
        assert_eq!(
            check(&state, "eq", "zz").await.expect("check"),
            None,
            "malformed"
        );
        let first = check(&state, "eq", &key)
            .await
            .expect("check")
            .expect("found");
        assert!(
            matches!(&first, Progress::Done { ok: true, debug, .. } if debug.is_empty()),
            "{first:?}"
        );
        assert_eq!(
            check(&state, "eq", &key).await.expect("check").as_ref(),
            Some(&first),
            "readable again within the retention"
        );
        state
            .clock
            .set_offset_ms((state.config.callback_retention + 1) * 1000);
        assert_eq!(
            check(&state, "eq", &key).await.expect("check"),
            None,
            "gone after it"
        );
    }
}
