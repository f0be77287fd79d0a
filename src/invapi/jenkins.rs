//! `jenkins.php`: get_tasks (001 "jenkins/get_tasks"): post-install Ansible tasks. No token
//! needed. call (issue 13; the MCP server's run_post_install_task) runs one on a server.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::error::Result;
use crate::ops::jenkins;

/// `jenkins.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "jenkins",
    actions: actions![public "get_tasks" => get_tasks, session "call" => call],
};

/// jenkins/get_tasks (001 "jenkins/get_tasks").
async fn get_tasks(ctx: &Ctx) -> Result<Value> {
    Ok(json!({"result": "OK", "tasks": ctx.state.catalogue.jenkins_tasks}))
}

/// jenkins/call (`id`: the server; `task`: an id, tag or playbook from get_tasks;
/// `params[k]=v`: the playbook's extra variables): async, the record's `debug` is the
/// build's console output.
async fn call(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let task = call.params.req_str("task")?;
    let params = call
        .params
        .wrapped()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "task" | "token" | "action"))
        .collect();
    let key = jenkins::call(state, caller, &server, &task, params).await?;
    Ok(json!({"result": "OK", "module": "jenkins", "action": "call", "callback": key}))
}
