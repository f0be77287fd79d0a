//! jenkins.php call: a post-install task run by the simulated Jenkins, with its console
//! output in the record.

use crate::helpers::*;

const GPU: &str = "40104"; // demo GPU bare metal, US, on

#[tokio::test]
async fn a_task_runs_with_its_parameters_and_reports_its_console() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let v = app
        .call(
            "jenkins",
            &[
                ("action", "call"),
                ("token", &t),
                ("id", GPU),
                ("task", "gpu_driver"),
                ("params[driver]", "550"),
                ("params[cuda]", "12.4"),
            ],
        )
        .await;
    assert_eq!(ok(&v)["action"], "call");
    let key = v["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.check(&key).await["result"], "Not ready");
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(done["scope"], "Finished: SUCCESS");
    assert_eq!(done["context"]["task"], "gpu_driver");
    let console = done["debug"].as_str().expect("console");
    assert!(
        console.starts_with("Started by remote API call (invapi)"),
        "{console}"
    );
    assert!(
        console.contains(
            "invapi_gpu_conf_iommu_patch_gpu_linux_auto.dsl -e 'cuda=12.4' -e 'driver=550'"
        ),
        "{console}"
    );
    assert!(
        console.contains("TASK [Install GPU drivers] ***"),
        "{console}"
    );
    assert!(console.ends_with("Finished: SUCCESS"));
    // The do-nothing task by id, on a VM.
    let v = app
        .call(
            "jenkins",
            &[
                ("action", "call"),
                ("token", &t),
                ("id", "40101"),
                ("task", "-1"),
            ],
        )
        .await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    assert_eq!(app.complete(&key).await["result"], "OK");
    app.stop().await;
}

#[tokio::test]
async fn tasks_that_do_not_apply_or_do_not_exist_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for (form, want) in [
        (
            vec![("action", "call"), ("id", "40101"), ("task", "1")],
            "jenkins/call: task gpu_driver (#1) does not apply to server 40101 (vm); it is for: gpu, vgpu",
        ),
        (
            vec![("action", "call"), ("id", GPU), ("task", "nothing")],
            "jenkins/call: task 'nothing' not found, see jenkins/get_tasks",
        ),
        (vec![("action", "call"), ("id", GPU)], "jenkins/call: task is required"),
        (
            vec![("action", "call"), ("id", GPU), ("task", "1"), ("params[a b]", "1")],
            "jenkins/call: invalid parameter name 'a b': use 1 to 64 of A-Z a-z 0-9 _",
        ),
        (
            vec![("action", "call"), ("id", "40106"), ("task", "-1")],
            "jenkins/call: server 40106 is suspended, a post-install task is unavailable until the service is reactivated",
        ),
    ] {
        let mut f = vec![("token", t.as_str())];
        f.extend(form.iter().copied());
        assert_eq!(error_of(&app.call("jenkins", &f).await), want, "{form:?}");
    }
    // Without a token, call is refused (get_tasks is public).
    let e = error_of(
        &app.call("jenkins", &[("action", "call"), ("id", GPU), ("task", "1")])
            .await,
    );
    assert_eq!(e, "auth: invalid token");
    app.stop().await;
}
