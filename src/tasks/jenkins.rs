//! The simulated Jenkins: a post-install task (jenkins/call) runs its Ansible playbook
//! against the server; the record's `debug` is the build's console output.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::SqliteConnection;

use super::{Ctx, Step};
use crate::error::Result;
use crate::ops::jenkins;
use crate::sim::{Effect, Outcome};
use crate::store;

/// Runs task `key` (a catalogue tag, `noop`) with `params` on the record's server.
pub async fn run(
    cx: &Ctx<'_>,
    tx: &mut SqliteConnection,
    key: &str,
    params: &BTreeMap<String, String>,
) -> Result<Step> {
    let Some(server) = store::servers::get(&mut *tx, cx.record.server_id).await? else {
        return Ok(Step::Done(Outcome::fail(
            "Server is no longer available",
            None,
        )));
    };
    let task = jenkins::find(&cx.state.catalogue.jenkins_tasks, key).ok();
    let playbook = task
        .as_ref()
        .map(|t| t.playbook.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "noop.yml".into());
    let desc = task.as_ref().map_or(String::new(), |t| t.desc.clone());
    let ip = store::servers::main_ip(&mut *tx, server.id)
        .await
        .unwrap_or_default();
    let host = if ip.is_empty() {
        server.id.to_string()
    } else {
        ip
    };
    let build =
        u32::from_str_radix(cx.record.key.get(..4).unwrap_or("0"), 16).unwrap_or(0) % 900 + 100;
    let extra: String = params
        .iter()
        .map(|(k, v)| format!(" -e '{k}={}'", v.replace('\'', "'\\''")))
        .collect();
    let job = format!("invapi_{key}");
    let steps: Vec<String> = if key == "noop" {
        vec![]
    } else {
        vec![format!("TASK [{desc}] ***"), format!("changed: [{host}]")]
    };
    let changed = usize::from(!steps.is_empty());
    let mut console = vec![
        "Started by remote API call (invapi)".to_owned(),
        "Running as SYSTEM".to_owned(),
        format!("Building on node ansible-01 in workspace /var/lib/jenkins/workspace/{job}"),
        format!("[{job}] $ ansible-playbook -i {host}, {playbook}{extra}"),
        String::new(),
        "PLAY [all] ***".to_owned(),
        String::new(),
        "TASK [Gathering Facts] ***".to_owned(),
        format!("ok: [{host}]"),
    ];
    for s in steps {
        console.push(String::new());
        console.push(s);
    }
    console.extend([
        String::new(),
        "PLAY RECAP ***".to_owned(),
        format!(
            "{host} : ok={} changed={changed} unreachable=0 skipped=0",
            1 + changed
        ),
        String::new(),
        "Finished: SUCCESS".to_owned(),
    ]);
    let mut o = Outcome::ok("Finished: SUCCESS", Some(console.join("\n")), Effect::None);
    o.context.insert("build".into(), json!(build));
    o.context.insert("job".into(), json!(job));
    Ok(Step::Done(o))
}
