//! Mail: templates escape, delivery goes through the job queue with retries, the
//! console outbox, preferences and one-click unsubscribe links.

use crate::common::*;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// Run due jobs until the outbox has no queued mail left (or give up).
async fn deliver(app: &TestApp) {
    for _ in 0..50 {
        app::workers::drain(&app.state, "test", 20).await.unwrap();
        let queued = entity::mail_outbox::Entity::find()
            .filter(entity::mail_outbox::Column::Status.eq("queued"))
            .all(&app.state.db)
            .await
            .unwrap();
        if queued.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("mail was still queued after 50 rounds");
}

async fn fast_retries() -> TestApp {
    spawn_app_custom(true, |cfg, _| cfg.job_backoff_base_ms = 1).await
}

async fn accept(app: &TestApp, link: &str, name: &str) {
    let token = link.rsplit('/').next().unwrap();
    let r = app
        .client()
        .call(
            "accept_invitation",
            &[
                ("token", token),
                ("display_name", name),
                ("password", "a-long-enough-password"),
                ("password_confirm", "a-long-enough-password"),
            ],
        )
        .await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, r.body);
}

#[tokio::test]
async fn invitation_is_escaped_and_delivered_once_after_the_relay_refuses_twice() {
    let app = fast_retries().await;
    let sink = app.mail.clone().unwrap();
    let acme = tenant_id(&app, "acme").await;
    let uid = user_id(&app, "tenant_admin@acme.example").await;
    let u = entity::user::Entity::find_by_id(uid).one(&app.state.db).await.unwrap().unwrap();
    let mut am: entity::user::ActiveModel = u.into();
    am.display_name = Set("O'Brien <b>&\"Co\"".into());
    am.update(&app.state.db).await.unwrap();

    sink.refuse_next(2);
    let admin = app.login("tenant_admin@acme.example").await;
    let r = admin.call("team/invite", &[("tenant_id", &acme), ("email", "esc@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emailed"], true);
    assert!(sink.received().is_empty(), "nothing is sent inline");

    deliver(&app).await;
    let mail = sink.received();
    assert_eq!(mail.len(), 1, "delivered exactly once");
    let msg = &mail[0];
    assert!(msg.contains("O&#39;Brien &#60;b&#62;&#38;&#34;Co&#34;"), "HTML part escapes every character: {msg}");
    let html_part = msg.split("Content-Type: text/html").nth(1).expect("an HTML part");
    assert!(!html_part.contains("<b>&"), "no raw markup in the HTML part: {html_part}");
    assert!(msg.contains("O'Brien <b>&\"Co\" invited you"), "the text part is plain: {msg}");
    assert!(!msg.contains("List-Unsubscribe"), "invitations are mandatory: {msg}");

    let row = entity::mail_outbox::Entity::find()
        .filter(entity::mail_outbox::Column::Recipient.eq("esc@acme.example"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 3, "two refusals, then delivery");
    assert!(row.sent_at.is_some());
    assert!(row.body_sealed.is_none(), "the body (with the invitation link) is dropped once sent");

    // Console → Mail: platform staff see it; a tenant admin does not.
    let staff = app.login("admin@patchbay.example").await;
    let page = staff.get("/console/mail").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("esc@acme.example") && html.contains("sent"), "{html}");
    let api = staff.call("mail/outbox", &[]).await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.body["rows"][0]["recipient"], "esc@acme.example");
    assert_eq!(api.body["rows"][0]["attempts"], 3);
    assert_eq!(admin.get("/console/mail").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.call("mail/outbox", &[]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn outbox_pages_newest_first_with_a_cursor() {
    let app = fast_retries().await;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    for i in 0..3 {
        let email = format!("p{i}@acme.example");
        let r = admin.call("team/invite", &[("tenant_id", &acme), ("email", &email), ("role", "member")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let first = app::mail::ssr::outbox_page(&app.state.db, None, 2).await.unwrap();
    let names: Vec<_> = first.rows.iter().map(|r| r.recipient.clone()).collect();
    assert_eq!(names, ["p2@acme.example", "p1@acme.example"]);
    let second = app::mail::ssr::outbox_page(&app.state.db, first.next.as_deref(), 2).await.unwrap();
    assert_eq!(second.rows.len(), 1);
    assert_eq!(second.rows[0].recipient, "p0@acme.example");
    assert!(second.next.is_none());
    // The "more" link carries the cursor in the query string.
    let staff = app.login("admin@patchbay.example").await;
    let r = staff.call("mail/outbox", &[("before", first.next.as_deref().unwrap())]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["rows"][0]["recipient"], "p0@acme.example");
}

#[tokio::test]
async fn unsubscribing_by_link_stops_notifications_but_not_invitations() {
    let app = fast_retries().await;
    let sink = app.mail.clone().unwrap();
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    let admin = app.login("tenant_admin@acme.example").await;

    // Someone accepts the tenant admin's invitation: the admin gets a notification
    // with an unsubscribe link and the one-click headers.
    let r = admin.call("team/invite", &[("tenant_id", &acme), ("email", "one@acme.example"), ("role", "member")]).await;
    accept(&app, r.body["link"].as_str().unwrap(), "Person One").await;
    deliver(&app).await;
    let mail = sink.received();
    let note = mail.iter().find(|m| m.contains("To: tenant_admin@acme.example")).expect("notification to the inviter");
    assert!(note.contains("Person One"), "{note}");
    assert!(note.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{note}");
    let header = note.lines().find(|l| l.starts_with("List-Unsubscribe:")).expect("List-Unsubscribe header");
    let post_url = header.split('<').nth(1).and_then(|s| s.split('>').next()).unwrap().to_string();
    assert!(post_url.starts_with(&format!("{}/mail/unsubscribe/", app.base)), "{post_url}");
    let start = note.find("/unsubscribe/").expect("link in the body");
    let token: String = note[start + 13..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
        .collect();

    // The link works signed out: GET only asks, POST (one-click) unsubscribes.
    let anon = app.client();
    let page = anon.get(&format!("/unsubscribe/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("New team members") && html.contains("tenant_admin@acme.example"), "{html}");
    let prefs = admin.call("mail/preferences", &[]).await;
    let joined = prefs.body.as_array().unwrap().iter().find(|p| p["kind"] == "MemberJoined").unwrap().clone();
    assert_eq!(joined["enabled"], true, "GET changed nothing");
    // A tampered token is refused.
    let bad = reqwest::Client::new()
        .post(format!("{}/mail/unsubscribe/{}x", app.base, token))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
    let ok = reqwest::Client::new().post(&post_url).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let prefs = admin.call("mail/preferences", &[]).await;
    let joined = prefs.body.as_array().unwrap().iter().find(|p| p["kind"] == "MemberJoined").unwrap().clone();
    assert_eq!(joined["enabled"], false);

    // The next acceptance sends no notification; an invitation still arrives.
    let before = sink.received().len();
    let r = admin.call("team/invite", &[("tenant_id", &acme), ("email", "two@acme.example"), ("role", "member")]).await;
    accept(&app, r.body["link"].as_str().unwrap(), "Person Two").await;
    let globex_admin = app.login("tenant_admin@globex.example").await;
    let r = globex_admin
        .call("team/invite", &[("tenant_id", &globex), ("email", "tenant_admin@acme.example"), ("role", "member")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    deliver(&app).await;
    let new: Vec<String> = sink.received().into_iter().skip(before).collect();
    let to_admin: Vec<&String> = new.iter().filter(|m| m.contains("To: tenant_admin@acme.example")).collect();
    assert_eq!(to_admin.len(), 1, "only the invitation: {new:?}");
    assert!(to_admin[0].contains("invited you to join"), "{}", to_admin[0]);
    let suppressed = entity::mail_outbox::Entity::find()
        .filter(entity::mail_outbox::Column::Status.eq("suppressed"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0].kind, "member_joined");

    // Preferences page: turn it back on without JavaScript; mandatory kinds stay on.
    let page = admin.get("/account/notifications").await;
    assert_eq!(page.status(), StatusCode::OK);
    let res = admin
        .post_form("mail/preferences/set", &[("kind", "member_joined"), ("enabled", "on")], "/account/notifications")
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let prefs = admin.call("mail/preferences", &[]).await;
    let joined = prefs.body.as_array().unwrap().iter().find(|p| p["kind"] == "MemberJoined").unwrap().clone();
    assert_eq!(joined["enabled"], true);
    let r = admin.call("mail/preferences/set", &[("kind", "invitation")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "invitations cannot be turned off");
}

#[tokio::test]
async fn mail_that_runs_out_of_attempts_is_marked_failed_with_the_reason() {
    // Queued while SMTP was configured, then run by a server without it (a replica started
    // without PATCHBAY_SMTP_URL): every attempt is retried until the attempts run out.
    let app = fast_retries().await;
    let mut without_smtp = app.state.clone();
    without_smtp.mailer = None;
    let acme = tenant_id(&app, "acme").await;
    let admin = app.login("tenant_admin@acme.example").await;
    let r =
        admin.call("team/invite", &[("tenant_id", &acme), ("email", "nosmtp@acme.example"), ("role", "member")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let row = || async {
        entity::mail_outbox::Entity::find()
            .filter(entity::mail_outbox::Column::Recipient.eq("nosmtp@acme.example"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(row().await.status, "queued");
    for _ in 0..200 {
        app::workers::drain(&without_smtp, "test", 20).await.unwrap();
        if row().await.status != "queued" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let failed = row().await;
    assert_eq!(failed.status, "failed", "the outbox no longer shows it waiting");
    assert!(failed.last_error.as_deref().unwrap_or("").contains("SMTP is not configured"), "{:?}", failed.last_error);
    assert!(app.mail.clone().unwrap().received().is_empty());
    let job = entity::job::Entity::find()
        .filter(entity::job::Column::Kind.eq("send_mail"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "failed");
    assert_eq!(job.attempts, job.max_attempts);
}
