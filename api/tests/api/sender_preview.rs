use crate::both_backends;
use crate::helpers::{fields, problem, spawn_app, valid_settings, Backend, TestApp};
use postamt_wire::{EffectiveSender, MailAddress};
use serde_json::{json, Value};

both_backends!(preview_follows_the_sender_policy_for_saved_and_unsaved_settings);

async fn preview(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/mail-settings/preview"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn mailbox(name: &str, address: &str) -> MailAddress {
    MailAddress { name: Some(name.to_owned()), address: address.to_owned() }
}

async fn preview_follows_the_sender_policy_for_saved_and_unsaved_settings(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let user = json!({ "name": "Erika Mustermann", "address": "erika@example.org" });
    assert_eq!(preview(&app, json!({ "acting_user": user })).await.status(), 404, "nothing saved");

    let mut unsaved = serde_json::to_value(valid_settings()).unwrap();
    let cases = [
        // force, reply-to, expected From, expected Reply-To
        (false, false, mailbox("Erika Mustermann", "erika@example.org"), None),
        (true, false, mailbox("TEAMBOX", "teambox@example.org"), None),
        (true, true, mailbox("TEAMBOX", "teambox@example.org"), Some(mailbox("Erika Mustermann", "erika@example.org"))),
    ];
    for (force, reply_to, from, expected_reply_to) in cases {
        unsaved["force_default_sender"] = json!(force);
        unsaved["reply_to_individual_sender"] = json!(reply_to);
        let response = preview(&app, json!({ "settings": unsaved, "acting_user": user })).await;
        assert_eq!(response.status(), 200);
        let sender: EffectiveSender = response.json().await.unwrap();
        assert_eq!(sender.from, from, "force={force} reply_to={reply_to}");
        assert_eq!(sender.reply_to, expected_reply_to, "force={force} reply_to={reply_to}");
        assert_eq!(sender.envelope_from, "teambox@example.org");
    }

    // Without an acting user, the default sender; with saved settings when none are given.
    assert_eq!(app.put_settings(&valid_settings(), None).await.status(), 200);
    let sender: EffectiveSender = preview(&app, json!({})).await.json().await.unwrap();
    assert_eq!((sender.from, sender.reply_to), (mailbox("TEAMBOX", "teambox@example.org"), None));

    let bad =
        preview(&app, json!({ "settings": { "sender_address": "x" }, "acting_user": { "address": "nope" } })).await;
    assert_eq!(bad.status(), 422);
    let got = problem(bad).await;
    let names: Vec<&str> = fields(&got).into_iter().map(|(f, _)| f).collect();
    assert!(names.contains(&"sender_address") && names.contains(&"acting_user.address"), "{names:?}");
}
