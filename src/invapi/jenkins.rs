//! `jenkins.php`: get_tasks (001 "jenkins/get_tasks"): post-install Ansible tasks. No token needed.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::Result;

/// `jenkins.php`, declared once. No token needed.
pub static MODULE: Module = Module {
    name: "jenkins",
    actions: actions![public "get_tasks" => get_tasks],
};

/// jenkins/get_tasks (001 "jenkins/get_tasks").
async fn get_tasks(ctx: &Ctx) -> Result<Value> {
    Ok(json!({"result": "OK", "tasks": ctx.state.catalogue.jenkins_tasks}))
}
