//! `jenkins.php`: get_tasks (001 "jenkins/get_tasks"): post-install Ansible tasks. No token needed.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::{respond, Call};
use crate::error::Error;
use crate::state::AppState;

pub async fn handle(State(state): State<AppState>, call: Call) -> Response {
    let action = call.action().to_owned();
    let result = match action.as_str() {
        "get_tasks" => Ok(json!({"result": "OK", "tasks": state.catalogue.jenkins_tasks})),
        other => Err(Error::UnknownAction(other.to_owned())),
    };
    respond("jenkins", &action, result)
}
