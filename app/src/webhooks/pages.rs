//! Portal → Webhooks: subscriptions (create, the secret shown once), and one subscription's
//! settings, test event, secret rotation and delivery log with replay and dead-letter.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::list::PagedTable;
use crate::components::ui::*;

const CHECK: &str = "h-4 w-4 rounded border-slate-300 text-indigo-600 dark:border-slate-600 dark:bg-slate-950";
const MUTED: &str = "text-xs text-slate-600 dark:text-slate-400";

fn status_badge(s: &SubscriptionRow) -> AnyView {
    match (s.enabled, s.failing_since.is_some()) {
        (false, _) => view! { <Badge text="disabled" tone="red"/> }.into_any(),
        (true, true) => view! { <Badge text="failing" tone="amber"/> }.into_any(),
        (true, false) => view! { <Badge text="enabled" tone="green"/> }.into_any(),
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let query = use_query_map();
    let list = Resource::new(
        move || (query.with(|q| q.get("cursor")), create.version().get()),
        |(cursor, _)| list_webhooks(cursor),
    );
    let err = action_error(create);
    view! {
        <Title text="Webhooks"/>
        <PageHeader title="Webhooks" subtitle="Signed HTTPS callbacks when your orders and services change (Standard Webhooks)."/>
        {move || create.value().get().and_then(Result::ok).map(|m| view! { <SecretAlert m=m/> })}
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                list.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(v) => {
                            let full = v.count >= v.cap.max(0) as u64;
                            let can = v.can_manage;
                            view! {
                                <div class="space-y-6">
                                    <p class="text-sm text-slate-600 dark:text-slate-300">
                                        {format!(
                                            "{} of {} subscriptions in use on the {} edition; delivery logs are kept {} days.",
                                            v.count, v.cap, v.edition, v.log_days,
                                        )}
                                    </p>
                                    <PagedTable
                                        page=Ok(v.subscriptions)
                                        headers=vec!["Endpoint", "Events", "Status", "Created"]
                                        noun="subscriptions"
                                        empty_title="No webhooks yet"
                                        empty_body="Add an HTTPS endpoint with the form on this page; Patchbay signs every event so your endpoint can verify it came from us."
                                        row=move |s: SubscriptionRow| view! { <SubscriptionLine s=s/> }
                                    />
                                    <div class="max-w-3xl">
                                        {if can {
                                            view! { <CreateCard create=create err=err types=v.event_types full=full/> }.into_any()
                                        } else {
                                            view! {
                                                <Card title="Read-only">
                                                    <p class="text-sm text-slate-600 dark:text-slate-300">"Only tenant admins of an active tenant can add or change webhooks."</p>
                                                </Card>
                                            }
                                                .into_any()
                                        }}
                                    </div>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn SubscriptionLine(s: SubscriptionRow) -> impl IntoView {
    let href = format!("/portal/webhooks/{}", s.id);
    let badge = status_badge(&s);
    view! {
        <tr>
            <td class="max-w-md px-4 py-3">
                <a href=href class="break-all font-medium text-indigo-700 hover:underline dark:text-indigo-300">{s.url.clone()}</a>
                {(!s.description.is_empty()).then(|| view! { <p class=MUTED>{s.description.clone()}</p> })}
            </td>
            <td class="px-4 py-3 font-mono text-xs text-slate-700 dark:text-slate-300">{s.event_types.join(", ")}</td>
            <td class=TD>{badge}</td>
            <td class=TD>{s.created_at.clone()}</td>
        </tr>
    }
}

/// A secret just made, shown once.
#[component]
fn SecretAlert(m: CreatedWebhook) -> impl IntoView {
    view! {
        <Alert tone="success">
            <p class="font-medium">"Signing secret for " <span class="break-all">{m.subscription.url.clone()}</span> ". Copy it now: it is not shown again."</p>
            <p class="mt-2">
                <code data-testid="webhook-secret" class="block select-all break-all rounded bg-white/70 px-2 py-1 font-mono text-sm dark:bg-black/40">
                    {m.secret.clone()}
                </code>
            </p>
            <p class="mt-2 text-sm">
                "Verify " <code>"webhook-signature"</code> " with any Standard Webhooks library (HMAC-SHA256 of "
                <code>"webhook-id.webhook-timestamp.body"</code> ")."
            </p>
        </Alert>
    }
}

/// The event type checkboxes: wildcards first, then the catalogue.
#[component]
fn EventChoices(
    types: Vec<(String, String)>,
    #[prop(optional)] chosen: Vec<String>,
    err: Signal<Option<AppError>>,
) -> impl IntoView {
    let type_err = field_error(err, "event_types");
    let mut options: Vec<(String, String)> = vec![
        ("*".into(), "Every event".into()),
        ("order.*".into(), "Every order event".into()),
        ("service.*".into(), "Every service event".into()),
    ];
    options.extend(types);
    view! {
        <fieldset>
            <legend class=LABEL>"Events"</legend>
            <div class="mt-1 grid max-h-72 grid-cols-1 gap-2 overflow-y-auto rounded-lg p-1 ring-1 ring-inset ring-slate-200 dark:ring-slate-800 sm:grid-cols-2">
                {options
                    .into_iter()
                    .map(|(t, label)| {
                        let slug = if t == "*" { "all".to_string() } else { t.replace('.', "-").replace('*', "all") };
                        let id = format!("event-{slug}");
                        let checked = chosen.contains(&t);
                        view! {
                            <div class="flex items-start gap-2 p-1">
                                <input id=id.clone() type="checkbox" name="event_types[]" value=t.clone() checked=checked class=format!("{CHECK} mt-0.5 shrink-0")/>
                                <label for=id class="text-sm text-slate-700 dark:text-slate-300">
                                    <code class="font-mono text-xs">{t.clone()}</code>
                                    <span class="block text-xs text-slate-600 dark:text-slate-400">{label}</span>
                                </label>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
            {move || type_err.get().map(|e| view! { <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{e}</p> })}
        </fieldset>
    }
}

#[component]
fn CreateCard(
    create: ServerAction<CreateWebhook>,
    err: Signal<Option<AppError>>,
    types: Vec<(String, String)>,
    full: bool,
) -> impl IntoView {
    view! {
        <Card title="Add an endpoint">
            <FormError err=err/>
            {full.then(|| view! { <p class="mb-3 text-sm text-amber-700 dark:text-amber-300">"This tenant has as many subscriptions as its edition allows: delete one to add another."</p> })}
            <ActionForm action=create attr:class="space-y-4">
                <Field label="Endpoint URL" name="url" kind="url" placeholder="https://hooks.example.com/patchbay" required=true error=field_error(err, "url")/>
                <Field label="Description (optional)" name="description" placeholder="Ticketing integration" error=field_error(err, "description")/>
                <EventChoices types=types err=err/>
                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Add endpoint"</button>
            </ActionForm>
        </Card>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let test = ServerAction::<SendTestEvent>::new();
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let update = ServerAction::<UpdateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let replay = ServerAction::<ReplayMessage>::new();
    let bulk = ServerAction::<ReplayDead>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                query.with(|q| (q.get("cursor"), q.get("status"))),
                (test.version().get(), toggle.version().get(), rotate.version().get(), update.version().get()),
                (replay.version().get(), bulk.version().get()),
            )
        },
        |(id, (cursor, status), ..)| get_webhook(id, cursor, status),
    );
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/portal/webhooks", Default::default());
        }
    });
    let errors = Signal::derive(move || {
        action_error(toggle)
            .get()
            .or_else(|| action_error(rotate).get())
            .or_else(|| action_error(delete).get())
            .or_else(|| action_error(replay).get())
            .or_else(|| action_error(bulk).get())
            .or_else(|| action_error(test).get())
    });
    let update_err = action_error(update);
    view! {
        <p class="mb-2 text-sm"><a href="/portal/webhooks" class=BTN_LINK>"← Webhooks"</a></p>
        {move || rotate.value().get().and_then(Result::ok).map(|m| view! { <SecretAlert m=m/> })}
        {move || test.value().get().and_then(Result::ok).map(|t| view! { <TestAlert t=t/> })}
        {move || bulk.value().get().and_then(Result::ok).map(|n| view! {
            <Alert tone="info"><p>{format!("{n} dead-lettered message(s) queued for delivery again.")}</p></Alert>
        })}
        <FormError err=errors/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                detail
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(d) => view! { <Detail d=d test=test toggle=toggle rotate=rotate update=update update_err=update_err delete=delete replay=replay bulk=bulk/> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn TestAlert(t: TestOutcome) -> impl IntoView {
    if t.delivered {
        view! {
            <Alert tone="success">
                <p>{format!("Test event {} delivered (HTTP {}).", t.message_id, t.status_code.unwrap_or_default())}</p>
            </Alert>
        }
        .into_any()
    } else if t.message_id.is_empty() {
        view! { <Alert tone="info"><p>"The subscription is off: no events are sent to it."</p></Alert> }.into_any()
    } else {
        view! {
            <Alert tone="error">
                <p>{format!("Test event {} was not accepted: {}", t.message_id, t.error.clone().unwrap_or_default())}</p>
            </Alert>
        }
        .into_any()
    }
}

#[allow(clippy::too_many_arguments)]
#[component]
fn Detail(
    d: WebhookDetail,
    test: ServerAction<SendTestEvent>,
    toggle: ServerAction<SetWebhookEnabled>,
    rotate: ServerAction<RotateWebhookSecret>,
    update: ServerAction<UpdateWebhook>,
    update_err: Signal<Option<AppError>>,
    delete: ServerAction<DeleteWebhook>,
    replay: ServerAction<ReplayMessage>,
    bulk: ServerAction<ReplayDead>,
) -> impl IntoView {
    let s = d.subscription.clone();
    let can = d.can_manage;
    let badge = status_badge(&s);
    let overlap: Vec<(String, String)> = OVERLAP_CHOICES.iter().map(|(h, l)| (h.to_string(), l.to_string())).collect();
    let tabs = ["all", "pending", "delivered", "dead"].map(|t| {
        let current = d.status == t;
        let href = format!("/portal/webhooks/{}?status={t}", s.id);
        let label = match t {
            "dead" => format!("Dead-letter ({})", d.dead),
            "pending" => format!("Retrying ({})", d.pending),
            "delivered" => "Delivered".to_string(),
            _ => "All".to_string(),
        };
        let cls = if current {
            "rounded-md bg-indigo-50 px-3 py-1.5 text-sm font-medium text-indigo-700 dark:bg-indigo-500/10 dark:text-indigo-300"
        } else {
            "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white"
        };
        view! { <a href=href class=cls aria-current=current.then_some("page")>{label}</a> }
    });
    let sid = s.id.clone();
    let (edit_id, edit_url, edit_description, edit_types) =
        (s.id.clone(), s.url.clone(), s.description.clone(), s.event_types.clone());
    let catalogue = d.event_types.clone();
    view! {
        <Title text=format!("Webhook {}", s.url)/>
        <div class="mb-6 flex flex-wrap items-center gap-3">
            <h1 class="break-all text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{s.url.clone()}</h1>
            {badge}
        </div>
        <div class="grid gap-6 lg:grid-cols-3">
            <Card title="Status" class="self-start lg:col-span-1">
                <dl class="space-y-2 text-sm">
                    <div><dt class=MUTED>"Description"</dt><dd>{if s.description.is_empty() { "—".to_string() } else { s.description.clone() }}</dd></div>
                    <div><dt class=MUTED>"Events"</dt><dd class="font-mono text-xs">{s.event_types.join(", ")}</dd></div>
                    <div><dt class=MUTED>"Created"</dt><dd>{s.created_at.clone()}</dd></div>
                    {s.failing_since.clone().map(|f| view! { <div><dt class=MUTED>"Failing since"</dt><dd class="text-amber-700 dark:text-amber-300">{f}</dd></div> })}
                    {s.disabled_reason.clone().map(|r| view! { <div><dt class=MUTED>"Turned off"</dt><dd class="text-rose-700 dark:text-rose-300">{r}</dd></div> })}
                    {s.previous_secret_until.clone().map(|u| view! { <div><dt class=MUTED>"Previous secret"</dt><dd>{format!("also signs until {u}")}</dd></div> })}
                    <div><dt class=MUTED>"Log kept"</dt><dd>{format!("{} days", d.log_days)}</dd></div>
                </dl>
                {can.then(|| {
                    let (id1, id2, id3, id4) = (s.id.clone(), s.id.clone(), s.id.clone(), s.id.clone());
                    let enabled = s.enabled;
                    view! {
                        <div class="mt-5 space-y-3 border-t border-slate-200 pt-4 dark:border-slate-800">
                            <ActionForm action=test>
                                <input type="hidden" name="id" value=id1/>
                                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Send test event"</button>
                            </ActionForm>
                            <ActionForm action=toggle>
                                <input type="hidden" name="id" value=id2/>
                                <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                                <button type="submit" class=format!("{BTN_SECONDARY} w-full")>
                                    {if enabled { "Turn off" } else { "Test and turn on" }}
                                </button>
                            </ActionForm>
                            <ActionForm action=rotate attr:class="grid grid-cols-1 gap-2">
                                <input type="hidden" name="id" value=id3/>
                                <label for="rotate-overlap" class="sr-only">"How long the old secret keeps signing"</label>
                                <select id="rotate-overlap" name="overlap_hours" class="w-full rounded-md border-0 py-1.5 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300 dark:bg-slate-950 dark:ring-slate-700">
                                    {overlap.into_iter().map(|(v, l)| { let sel = v == "24"; view! { <option value=v selected=sel>{l}</option> } }).collect_view()}
                                </select>
                                <button type="submit" class=format!("{BTN_SECONDARY} w-full")>"Rotate secret"</button>
                            </ActionForm>
                            <ActionForm action=delete>
                                <input type="hidden" name="id" value=id4/>
                                <button type="submit" class=format!("{BTN_DANGER} w-full")>"Delete subscription"</button>
                            </ActionForm>
                        </div>
                    }
                })}
            </Card>
            <div class="space-y-6 lg:col-span-2">
                <Card title="Delivery log">
                    <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
                        <nav aria-label="Messages by status" class="flex flex-wrap gap-1">{tabs.into_iter().collect_view()}</nav>
                        {(can && d.dead > 0).then(|| view! {
                            <ActionForm action=bulk attr:class="flex items-center gap-2">
                                <input type="hidden" name="id" value=sid.clone()/>
                                <label for="replay-window" class="sr-only">"Dead-lettered messages from"</label>
                                <select id="replay-window" name="within_hours" class="rounded-md border-0 py-1.5 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300 dark:bg-slate-950 dark:ring-slate-700">
                                    <option value="">"All dead-lettered"</option>
                                    <option value="1">"From the last hour"</option>
                                    <option value="24">"From the last 24 h"</option>
                                    <option value="168">"From the last 7 days"</option>
                                </select>
                                <button type="submit" class=BTN_SECONDARY>"Replay"</button>
                            </ActionForm>
                        })}
                    </div>
                    <PagedTable
                        page=Ok(d.messages)
                        headers=vec!["Message", "Status", "Attempts", ""]
                        noun="messages"
                        empty_title="No messages here"
                        empty_body="Events this subscription asked for appear here as they are sent. Send a test event to try the endpoint."
                        row=move |m: MessageRow| view! { <MessageLine m=m can=can replay=replay/> }
                    />
                </Card>
                {can.then(move || view! {
                    <Card title="Change">
                        <FormError err=update_err/>
                        <ActionForm action=update attr:class="space-y-4">
                            <input type="hidden" name="id" value=edit_id/>
                            <Field label="Endpoint URL" name="url" kind="url" value=edit_url required=true error=field_error(update_err, "url")/>
                            <Field label="Description (optional)" name="description" value=edit_description error=field_error(update_err, "description")/>
                            <EventChoices types=catalogue chosen=edit_types err=update_err/>
                            <button type="submit" class=BTN_PRIMARY>"Save changes"</button>
                        </ActionForm>
                    </Card>
                })}
            </div>
        </div>
    }
}

#[component]
fn MessageLine(m: MessageRow, can: bool, replay: ServerAction<ReplayMessage>) -> impl IntoView {
    let tone = match m.status.as_str() {
        "delivered" => "green",
        "dead" => "red",
        _ => "amber",
    };
    let id = m.id.clone();
    let replayable = can && m.status != "pending";
    view! {
        <tr class="align-top">
            <td class="px-4 py-3 text-sm">
                <p class="font-mono text-xs text-slate-900 dark:text-white">{m.event_type.clone()}</p>
                <p class=format!("{MUTED} font-mono")>{m.id.clone()}</p>
                <p class=MUTED>{m.created_at.clone()}</p>
                <details class="mt-2">
                    <summary class="cursor-pointer text-xs font-medium text-indigo-700 dark:text-indigo-300">"Payload and attempts"</summary>
                    <pre class="mt-2 max-w-xl overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-50 p-2 font-mono text-xs text-slate-800 dark:bg-slate-950 dark:text-slate-200">{m.body.clone()}</pre>
                    <ol class="mt-2 space-y-2">
                        {m.log.iter().map(|a| {
                            let head = match a.status_code {
                                Some(c) => format!("#{} · HTTP {c} · {} ms · {}", a.attempt, a.latency_ms, a.started_at),
                                None => format!("#{} · no response · {} ms · {}", a.attempt, a.latency_ms, a.started_at),
                            };
                            let headers = a.response_headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n");
                            view! {
                                <li class="rounded border border-slate-200 p-2 text-xs dark:border-slate-800">
                                    <p class="font-medium text-slate-800 dark:text-slate-200">{head}</p>
                                    {a.error.clone().map(|e| view! { <p class="text-rose-700 dark:text-rose-300">{e}</p> })}
                                    {(!headers.is_empty()).then(|| view! { <pre class="mt-1 whitespace-pre-wrap break-all font-mono text-slate-600 dark:text-slate-400">{headers}</pre> })}
                                    {(!a.response_body.is_empty()).then(|| view! { <pre class="mt-1 whitespace-pre-wrap break-all font-mono text-slate-700 dark:text-slate-300">{a.response_body.clone()}</pre> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </details>
            </td>
            <td class=TD>
                <Badge text=m.status.clone() tone=tone/>
                {m.next_attempt_at.clone().map(|n| view! { <p class=MUTED>{format!("next try {n}")}</p> })}
                {m.last_error.clone().map(|e| view! { <p class="mt-1 max-w-xs whitespace-normal text-xs text-rose-700 dark:text-rose-300">{e}</p> })}
            </td>
            <td class=TD>{m.attempts}</td>
            <td class=format!("{TD} text-right")>
                {replayable.then(|| view! {
                    <ActionForm action=replay>
                        <input type="hidden" name="message_id" value=id/>
                        <button type="submit" class=BTN_SECONDARY>"Replay"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
