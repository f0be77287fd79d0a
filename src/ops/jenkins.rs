//! Post-install tasks (issue 13, jenkins/call): an Ansible playbook from the catalogue's
//! `jenkins_tasks`, run by the simulated Jenkins on one of the caller's servers, with the
//! console output in the async record.

use std::collections::BTreeMap;

use serde_json::Value;

use super::servers;
use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::error::{Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::servers::Server;

/// How long a playbook runs, in realistic milliseconds (the no-op task: a moment).
const RUN_MS: i64 = 180_000;
const NOOP_MS: i64 = 5_000;
/// At most this many `params[k]=v`.
pub const MAX_PARAMS: usize = 32;

/// A catalogue task: its id, `tag` (unique), playbook, description and applicability tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: i64,
    pub tag: String,
    pub playbook: String,
    pub desc: String,
    pub tags: Vec<String>,
}

impl Task {
    fn of(v: &Value) -> Option<Task> {
        Some(Task {
            id: v["id"].as_i64()?,
            tag: v["tag"].as_str().unwrap_or("").to_owned(),
            playbook: v["task"].as_str().unwrap_or("").to_owned(),
            desc: v["desc"].as_str().unwrap_or("").to_owned(),
            tags: v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t["tag"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The name a job keeps: the task's tag (`noop` for the do-nothing task).
    pub fn key(&self) -> &str {
        if self.tag.is_empty() {
            "noop"
        } else {
            &self.tag
        }
    }
}

/// A task named by its id (`1`), its tag (`gpu_driver`) or its playbook.
pub fn find(catalogue: &[Value], given: &str) -> Result<Task> {
    let given = given.trim();
    let tasks: Vec<Task> = catalogue.iter().filter_map(Task::of).collect();
    let by_id = given.parse::<i64>().ok();
    tasks
        .iter()
        .find(|t| Some(t.id) == by_id)
        .or_else(|| tasks.iter().find(|t| !t.tag.is_empty() && t.tag == given))
        .or_else(|| tasks.iter().find(|t| given == "noop" && t.tag.is_empty()))
        .or_else(|| {
            tasks
                .iter()
                .find(|t| !t.playbook.is_empty() && t.playbook == given)
        })
        .cloned()
        .ok_or_else(|| {
            Error::not_found(format!(
                "task '{}' not found, see jenkins/get_tasks",
                shorten(given)
            ))
        })
}

/// The applicability tag of a server: `vm`, `gpu` or `bm`.
fn class_of(server: &Server) -> &'static str {
    if server.is_vm() {
        "vm"
    } else if server.r#type.eq_ignore_ascii_case("GPU") {
        "gpu"
    } else {
        "bm"
    }
}

/// Checks the task's parameters: names of `A-Za-z0-9_` (1 to 64), values of 1024
/// characters at most, [`MAX_PARAMS`] at most.
pub fn check_params(params: &BTreeMap<String, String>) -> Result<()> {
    if params.len() > MAX_PARAMS {
        return Err(Error::invalid(format!(
            "too many params (at most {MAX_PARAMS})"
        )));
    }
    for (k, v) in params {
        let ok = !k.is_empty()
            && k.len() <= 64
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::invalid(format!(
                "invalid parameter name '{}': use 1 to 64 of A-Z a-z 0-9 _",
                shorten(k)
            )));
        }
        if v.chars().count() > 1024 || v.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Error::invalid(format!(
                "invalid value of parameter {k}: at most 1024 printable characters"
            )));
        }
    }
    Ok(())
}

/// jenkins/call: runs `task` on a running server of the caller's that the task applies to.
/// Returns the record's key.
pub async fn call(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    task: &str,
    params: BTreeMap<String, String>,
) -> Result<String> {
    let task = find(&state.catalogue.jenkins_tasks, task)?;
    check_params(&params)?;
    let class = class_of(server);
    if !task.tags.iter().any(|t| t == class) {
        return Err(Error::invalid(format!(
            "task {} (#{}) does not apply to server {} ({class}); it is for: {}",
            task.key(),
            task.id,
            server.id,
            task.tags.join(", ")
        )));
    }
    servers::ensure_online(server, "a post-install task")?;
    if server.power != "on" {
        return Err(Error::Conflict(format!(
            "server {} is powered off, post-install tasks run on a running server",
            server.id
        )));
    }
    let mut context = queue::server_context("jenkins_call", server.id, &server.location);
    context["task"] = serde_json::json!(task.key());
    let took = if task.id < 0 { NOOP_MS } else { RUN_MS };
    let job = Job::Jenkins {
        task: task.key().to_owned(),
        params,
    };
    let t = NewTask::on_server(
        "eq",
        caller.account.id,
        server,
        "jenkins_call",
        context,
        job,
        took,
    );
    queue::submit(state, t).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalogue() -> Vec<Value> {
        vec![
            json!({"id": -1, "task": "", "desc": "Do nothing", "tag": "", "tags": [{"tag": "vm"}, {"tag": "bm"}]}),
            json!({"id": 1, "task": "gpu.dsl", "desc": "GPU", "tag": "gpu_driver", "tags": [{"tag": "gpu"}]}),
        ]
    }

    #[test]
    fn tasks_are_found_by_id_tag_or_playbook() {
        let c = catalogue();
        assert_eq!(find(&c, "1").expect("id").tag, "gpu_driver");
        assert_eq!(find(&c, "gpu_driver").expect("tag").id, 1);
        assert_eq!(find(&c, "gpu.dsl").expect("playbook").id, 1);
        assert_eq!(find(&c, "-1").expect("noop").key(), "noop");
        assert_eq!(find(&c, "noop").expect("noop").id, -1);
        assert!(find(&c, "7").is_err());
    }

    #[test]
    fn params_are_checked() {
        let ok: BTreeMap<String, String> = [("driver".into(), "550".into())].into();
        assert!(check_params(&ok).is_ok());
        let bad: BTreeMap<String, String> = [("a b".into(), "x".into())].into();
        assert!(check_params(&bad).is_err());
        let long: BTreeMap<String, String> = [("a".into(), "x".repeat(1025))].into();
        assert!(check_params(&long).is_err());
    }
}
