//! Console → Mail (the outbox), Account → Notifications, and the unsubscribe page.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::auth::pages::AuthCard;
use crate::components::ui::*;

#[component]
pub fn MailOutboxPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || query.with(|q| q.get("before"));
    let page = Resource::new(before, mail_outbox);
    view! {
        <Title text="Mail"/>
        <PageHeader title="Mail" subtitle="Every e-mail the platform sent or tried to send, newest first."/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                page.get()
                    .map(|r| match r {
                        Err(e) => {
                            // The page itself answers with the error's status (403 for tenant users).
                            #[cfg(feature = "ssr")]
                            if let (Some(resp), Ok(code)) = (
                                use_context::<leptos_axum::ResponseOptions>(),
                                http::StatusCode::from_u16(e.status()),
                            ) {
                                resp.set_status(code);
                            }
                            view! { <ErrorBox err=e/> }.into_any()
                        }
                        Ok(p) if p.rows.is_empty() => {
                            view! {
                                <EmptyState
                                    title="No mail yet"
                                    body="Invitations, security notices and notifications appear here once they are queued."
                                />
                            }
                                .into_any()
                        }
                        Ok(p) => {
                            let next = p.next.clone();
                            view! {
                                <Table label="Outgoing mail" headers=vec!["Queued", "Kind", "To", "Subject", "Result", "Attempts", "Sent"]>
                                    {p.rows
                                        .into_iter()
                                        .map(|m| {
                                            let tone = match m.status.as_str() {
                                                "sent" => "green",
                                                "failed" => "red",
                                                "suppressed" => "slate",
                                                _ => "amber",
                                            };
                                            view! {
                                                <tr>
                                                    <td class=TD>{m.created_at.clone()}</td>
                                                    <td class=TD>{m.kind.clone()}</td>
                                                    <td class=TD>{m.recipient.clone()}</td>
                                                    <td class=TD>{m.subject.clone()}</td>
                                                    <td class=TD>
                                                        <Badge text=m.status.clone() tone=tone/>
                                                        {m.last_error.clone().map(|e| view! { <span class="ml-2 text-xs text-slate-600 dark:text-slate-300">{e}</span> })}
                                                    </td>
                                                    <td class=TD>{m.attempts}</td>
                                                    <td class=TD>{m.sent_at.clone().unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </Table>
                                {next.map(|c| {
                                    let href = format!("/console/mail?before={}", crate::audit::urlencode(&c));
                                    view! { <p class="mt-4 text-right"><a href=href class=BTN_LINK>"Older mail →"</a></p> }
                                })}
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let set = ServerAction::<SetMailPreference>::new();
    let prefs = Resource::new(move || set.version().get(), |_| my_mail_preferences());
    let err = action_error(set);
    view! {
        <Title text="E-mail notifications"/>
        <PageHeader title="E-mail notifications" subtitle="Choose which e-mail Patchbay sends you. Mail needed to use and protect your account is always sent."/>
        <FormError err=err/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                prefs
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(rows) => {
                            view! {
                                <div class="space-y-3">
                                    {rows
                                        .into_iter()
                                        .map(|p| {
                                            let id = format!("pref-{}", p.kind.key());
                                            view! {
                                                <Card>
                                                    <ActionForm action=set attr:class="flex flex-wrap items-center justify-between gap-4">
                                                        <input type="hidden" name="kind" value=p.kind.key()/>
                                                        <div>
                                                            <label for=id.clone() class="text-sm font-semibold text-slate-900 dark:text-white">{p.label.clone()}</label>
                                                            <p class="text-sm text-slate-600 dark:text-slate-300">{p.description.clone()}</p>
                                                            {p.mandatory.then(|| view! { <p class="mt-1 text-xs text-slate-600 dark:text-slate-300">"Always sent."</p> })}
                                                        </div>
                                                        <div class="flex items-center gap-3">
                                                            <input id=id type="checkbox" name="enabled" checked=p.enabled disabled=p.mandatory class="h-4 w-4"/>
                                                            {(!p.mandatory).then(|| view! { <button type="submit" class=BTN_SECONDARY>"Save"</button> })}
                                                        </div>
                                                    </ActionForm>
                                                </Card>
                                            }
                                        })
                                        .collect_view()}
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// `/unsubscribe/:token`: confirm first (a GET never changes anything), then a plain
/// form posts to the one-click endpoint. Works signed out.
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.with(|p| p.get("token")).unwrap_or_default();
    let done = move || query.with(|q| q.get("done")).is_some();
    let info = Resource::new(token, unsubscribe_info);
    view! {
        <Title text="Unsubscribe"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                info.get()
                    .map(|r| match r {
                        Err(e) => {
                            view! {
                                <AuthCard title="Unsubscribe">
                                    <ErrorBox err=e/>
                                    <a href="/account/notifications" class=BTN_LINK>"Sign in to change your e-mail settings"</a>
                                </AuthCard>
                            }
                                .into_any()
                        }
                        Ok(i) if done() || !i.subscribed => {
                            view! {
                                <AuthCard title="Unsubscribed">
                                    <Alert tone="success">
                                        {format!("{} will no longer get “{}” e-mail.", i.email, i.kind_label)}
                                    </Alert>
                                    <a href="/account/notifications" class=BTN_LINK>"Change your e-mail settings"</a>
                                </AuthCard>
                            }
                                .into_any()
                        }
                        Ok(i) => {
                            let action = format!("/mail/unsubscribe/{}", token());
                            view! {
                                <AuthCard title="Unsubscribe" subtitle=format!("Stop “{}” e-mail to {}?", i.kind_label, i.email)>
                                    <form method="post" action=action class="space-y-4">
                                        <input type="hidden" name="List-Unsubscribe" value="One-Click"/>
                                        <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Unsubscribe"</button>
                                    </form>
                                    <p class="mt-4 text-xs text-slate-600 dark:text-slate-300">
                                        "Invitations and security notices are always sent."
                                    </p>
                                </AuthCard>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
