//! Console → Manual intervention, Jobs, Providers (adapter, backend, sandbox failure injection).
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::pages::service_tone;
use super::*;
use crate::components::list::{PagedTable, Pager};
use crate::components::ui::*;

fn job_tone(status: &str) -> &'static str {
    match status {
        "succeeded" => "green",
        "queued" | "running" => "amber",
        "failed" => "red",
        _ => "gray",
    }
}

#[component]
pub fn InterventionsPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|m| m.get("status")).unwrap_or_else(|| "open".into());
    let cursor = move || query.with(|m| m.get("cursor"));
    let retry = ServerAction::<RetryIntervention>::new();
    let complete = ServerAction::<CompleteIntervention>::new();
    let fail = ServerAction::<FailIntervention>::new();
    let list = Resource::new(
        move || (status(), cursor(), retry.version().get(), complete.version().get(), fail.version().get()),
        |(s, c, ..)| list_interventions(Some(s), c),
    );
    let errs = Signal::derive(move || {
        [action_error(retry), action_error(complete), action_error(fail)].into_iter().find_map(|s| s.get())
    });
    let complete_err = action_error(complete);
    let fail_err = action_error(fail);
    view! {
        <Title text="Manual intervention"/>
        <PageHeader title="Manual intervention" subtitle="Provisioning and service changes that failed for good and wait for an operator."/>
        <form method="get" action="/console/interventions" class="mb-4 flex items-end gap-3">
            <div>
                <label for="status" class=LABEL>"Show"</label>
                <select id="status" name="status" class=INPUT>
                    {[("open", "Open"), ("retried", "Retried"), ("completed", "Completed by hand"), ("failed", "Failed"), ("all", "All")].into_iter().map(|(v, l)| {
                        let sel = status() == v;
                        view! { <option value=v selected=sel>{l}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class=BTN_SECONDARY>"Show"</button>
        </form>
        <FormError err=errs/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                Ok(page) if page.items.is_empty() && !page.page_info.after_cursor => view! { <EmptyState title="Nothing waiting" body="Failed provisioning lands here with the provider's error."/> }.into_any(),
                Ok(page) => {
                    let info = page.page_info.clone();
                    let shown = page.items.len();
                    view! {
                    <div class="space-y-4" data-testid="interventions">
                        {page.items.into_iter().map(|i| {
                            let open = i.status == "open";
                            let (a, b, c) = (i.id.clone(), i.id.clone(), i.id.clone());
                            view! {
                                <Card>
                                    <div class="flex flex-wrap items-start justify-between gap-3">
                                        <div>
                                            <p class="text-sm font-semibold">
                                                <a href=format!("/portal/orders/{}", i.order_id) class=BTN_LINK>{format!("Order {}", i.order_number)}</a>
                                                {i.service_number.clone().map(|s| format!(" · {s}"))}
                                                <span class="ml-2 text-xs font-normal text-slate-500 dark:text-slate-400">{format!("{} · {} · {}", i.tenant, i.job_kind.replace('_', " "), i.created_at)}</span>
                                            </p>
                                            <p class="mt-2 rounded bg-slate-50 p-2 font-mono text-xs text-rose-700 dark:bg-slate-950 dark:text-rose-300" data-testid="intervention-error">{i.error.clone()}</p>
                                            {i.resolution.clone().map(|r| view! { <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">{format!("{r} — {}", i.resolved_by.clone().unwrap_or_default())}</p> })}
                                        </div>
                                        <Badge text=i.status.clone() tone=if open { "amber" } else { service_tone(&i.status) }/>
                                    </div>
                                    {open.then(|| view! {
                                        <div class="mt-4 grid grid-cols-1 gap-4 border-t border-slate-200 pt-4 lg:grid-cols-3 dark:border-slate-800">
                                            <ActionForm action=retry attr:class="space-y-2">
                                                <input type="hidden" name="intervention_id" value=a/>
                                                <p class="text-xs text-slate-500 dark:text-slate-400">"Run the job again with fresh attempts."</p>
                                                <button type="submit" class=BTN_SECONDARY>"Retry"</button>
                                            </ActionForm>
                                            <ActionForm action=complete attr:class="space-y-2">
                                                <input type="hidden" name="intervention_id" value=b/>
                                                <Field label="External reference" name="external_ref" error=field_error(complete_err, "external_ref") hint="Done by hand at the provider: their reference."/>
                                                <input type="hidden" name="note" value=""/>
                                                <button type="submit" class=BTN_PRIMARY>"Mark done"</button>
                                            </ActionForm>
                                            <ActionForm action=fail attr:class="space-y-2">
                                                <input type="hidden" name="intervention_id" value=c/>
                                                <Field label="Reason for the customer" name="reason" error=field_error(fail_err, "reason") hint="Shown on the order."/>
                                                <button type="submit" class=BTN_DANGER>"Fail the order"</button>
                                            </ActionForm>
                                        </div>
                                    })}
                                </Card>
                            }
                        }).collect_view()}
                    </div>
                    <Pager total=info.total shown=shown next=info.next_cursor after_cursor=info.after_cursor noun="interventions"/>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn JobsPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|m| m.get("status")).unwrap_or_default();
    let kind = move || query.with(|m| m.get("kind")).unwrap_or_default();
    let cursor = move || query.with(|m| m.get("cursor"));
    let retry = ServerAction::<RetryJob>::new();
    let cancel = ServerAction::<CancelJob>::new();
    let jobs = Resource::new(
        move || (status(), kind(), cursor(), retry.version().get(), cancel.version().get()),
        |(s, k, c, ..)| list_jobs(Some(s), Some(k), c),
    );
    let errs = Signal::derive(move || [action_error(retry), action_error(cancel)].into_iter().find_map(|s| s.get()));
    view! {
        <Title text="Jobs"/>
        <PageHeader title="Jobs" subtitle="Background work: provisioning and service changes, with their attempts and leases."/>
        <form method="get" action="/console/jobs" class="mb-4 flex flex-wrap items-end gap-3">
            <div>
                <label for="status" class=LABEL>"Status"</label>
                <select id="status" name="status" class=INPUT>
                    <option value="">"Any"</option>
                    {["queued", "running", "succeeded", "failed", "cancelled"].into_iter().map(|v| {
                        let sel = status() == v;
                        view! { <option value=v selected=sel>{v}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="kind" class=LABEL>"Kind"</label>
                <select id="kind" name="kind" class=INPUT>
                    <option value="">"Any"</option>
                    {["provision_order", "service_action", "send_mail"].into_iter().map(|v| {
                        let sel = kind() == v;
                        view! { <option value=v selected=sel>{v.replace('_', " ")}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class=BTN_SECONDARY>"Filter"</button>
        </form>
        <FormError err=errs/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || jobs.get().map(|page| view! {
                <PagedTable
                    page=page
                    headers=vec!["Job", "For", "Status", "Attempts", "Next run", "Last error", ""]
                    empty_title="No jobs"
                    empty_body="Jobs appear when orders are approved and services change."
                    noun="jobs"
                    row=move |j: JobRow| {
                            let (a, b) = (j.id.clone(), j.id.clone());
                            let can_retry = matches!(j.status.as_str(), "queued" | "failed" | "cancelled");
                            let can_cancel = j.status == "queued";
                            view! {
                                <tr class="align-top" data-testid="job-row" data-status=j.status.clone()>
                                    <td class=TD><span class="font-medium">{j.kind.replace('_', " ")}</span><span class="block font-mono text-xs text-slate-500 dark:text-slate-400" title=j.id.clone()>{j.id.chars().take(13).collect::<String>()}"…"</span></td>
                                    <td class=TD>
                                        {match j.resource_link.clone() {
                                            Some(l) => view! { <a href=l class=BTN_LINK>{j.resource.clone()}</a> }.into_any(),
                                            None => view! { <span>{j.resource.clone()}</span> }.into_any(),
                                        }}
                                        <span class="block text-xs text-slate-500 dark:text-slate-400">{j.tenant.clone()}</span>
                                    </td>
                                    <td class=TD>
                                        <Badge text=j.status.clone() tone=job_tone(&j.status)/>
                                        {j.lease.clone().map(|l| view! { <span class="block text-xs text-slate-500 dark:text-slate-400">{format!("leased by {l}")}</span> })}
                                        {j.cancel_reason.clone().map(|r| view! { <span class="block text-xs text-slate-500 dark:text-slate-400">{format!("cancelled: {r}")}</span> })}
                                    </td>
                                    <td class=format!("{TD} tabular-nums")>{format!("{} / {}", j.attempts, j.max_attempts)}</td>
                                    <td class=TD>{if j.status == "queued" { j.run_at.clone() } else { "—".into() }}</td>
                                    <td class="max-w-xs px-4 py-3 text-xs break-words text-rose-700 dark:text-rose-300">{j.last_error.clone().unwrap_or_default()}</td>
                                    <td class=TD>
                                        <div class="flex flex-col gap-2">
                                            {can_retry.then(|| view! {
                                                <ActionForm action=retry>
                                                    <input type="hidden" name="job_id" value=a/>
                                                    <button type="submit" class=BTN_SECONDARY>"Retry now"</button>
                                                </ActionForm>
                                            })}
                                            {can_cancel.then(|| view! {
                                                <ActionForm action=cancel attr:class="flex items-center gap-2">
                                                    <input type="hidden" name="job_id" value=b/>
                                                    <label class="sr-only" for=format!("reason-{}", j.id)>"Reason"</label>
                                                    <input id=format!("reason-{}", j.id) name="reason" required placeholder="Reason" class=format!("{INPUT} w-28")/>
                                                    <button type="submit" class=BTN_DANGER>"Cancel"</button>
                                                </ActionForm>
                                            })}
                                        </div>
                                    </td>
                                </tr>
                            }
                    }
                />
            })}
        </Suspense>
    }
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let save = ServerAction::<SaveProviderAdapter>::new();
    let list = Resource::new(move || save.version().get(), |_| list_provider_adapters());
    let err = action_error(save);
    view! {
        <Title text="Providers"/>
        <PageHeader title="Providers" subtitle="Which adapter reaches each provider, and the sandbox backend's latency and failure injection."/>
        <Alert tone="info">
            "Cloud and data-centre providers run on the sandbox backend: the provider side is simulated with the real lifecycle, references and customer steps. Failure injection applies to every call the sandbox answers."
        </Alert>
        <FormError err=err/>
        // Several forms share the page: list the field messages once, here.
        {move || err.get().and_then(|e| match e {
            crate::error::AppError::Validation { fields, .. } => Some(view! {
                <ul class="-mt-2 mb-4 list-disc pl-6 text-sm text-rose-700 dark:text-rose-300" data-testid="field-errors">
                    {fields.into_values().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            }),
            _ => None,
        })}
        <Suspense fallback=|| view! { <Loading/> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                Ok(rows) => view! {
                    <div class="grid grid-cols-1 gap-4 xl:grid-cols-2">
                        {rows.into_iter().map(|p| {
                            // Ids are unique per provider so every label names its own field.
                            let key = p.provider_id.clone();
                            let fid = move |name: &str| format!("{name}-{key}");
                            view! {
                                <Card title=format!("{} · {}", p.provider, p.kind)>
                                    <ActionForm action=save attr:class="grid grid-cols-2 gap-3" attr:data-provider=p.provider.clone()>
                                        <input type="hidden" name="provider_id" value=p.provider_id.clone()/>
                                        <div class="col-span-2">
                                            <label for=fid("adapter") class=LABEL>"Adapter"</label>
                                            <select id=fid("adapter") name="adapter" class=INPUT>
                                                {ADAPTER_CHOICES.iter().map(|(v, l)| {
                                                    let sel = p.adapter == *v;
                                                    view! { <option value=*v selected=sel>{*l}</option> }
                                                }).collect_view()}
                                            </select>
                                        </div>
                                        <NumberInput id=fid("latency_ms") name="latency_ms" label="Latency (ms)" value=p.latency_ms max=60_000/>
                                        <div>
                                            <label for=fid("customer_action") class=LABEL>"Customer steps"</label>
                                            <select id=fid("customer_action") name="customer_action" class=INPUT>
                                                {[("manual", "The customer acts in the portal"), ("auto", "The sandbox acts for them")].into_iter().map(|(v, l)| {
                                                    let sel = p.customer_action == v;
                                                    view! { <option value=v selected=sel>{l}</option> }
                                                }).collect_view()}
                                            </select>
                                        </div>
                                        <NumberInput id=fid("transient_pct") name="transient_pct" label="Transient errors (%)" value=p.transient_pct max=100/>
                                        <NumberInput id=fid("permanent_pct") name="permanent_pct" label="Permanent rejections (%)" value=p.permanent_pct max=100/>
                                        <NumberInput id=fid("timeout_pct") name="timeout_pct" label="Timeouts (%)" value=p.timeout_pct max=100/>
                                        <div></div>
                                        <div class="col-span-2">
                                            <label for=fid("base_url") class=LABEL>"Partner API base URL (MEF adapter)"</label>
                                            <input id=fid("base_url") name="base_url" value=p.base_url.clone() placeholder="https://api.partner.example" class=INPUT/>
                                        </div>
                                        <div class="col-span-2">
                                            <label for=fid("credentials") class=LABEL>"Partner API token"</label>
                                            <input id=fid("credentials") name="credentials" type="password" autocomplete="off" class=INPUT/>
                                            <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{if p.has_credentials { "Saved. Leave empty to keep it." } else { "Sent as a bearer token; stored sealed." }}</p>
                                        </div>
                                        <div class="col-span-2 flex items-center justify-between">
                                            <span class="text-xs text-slate-500 dark:text-slate-400">{p.updated.clone().map(|u| format!("Changed {u}")).unwrap_or_else(|| "Defaults".into())}</span>
                                            <button type="submit" class=BTN_PRIMARY>"Save"</button>
                                        </div>
                                    </ActionForm>
                                </Card>
                            }
                        }).collect_view()}
                    </div>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// A whole-number input with its own id (several forms share one page).
#[component]
fn NumberInput(id: String, name: &'static str, label: &'static str, value: i32, max: i32) -> impl IntoView {
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <input id=id name=name type="number" min="0" max=max.to_string() step="1" value=value.to_string() inputmode="numeric" class=INPUT/>
        </div>
    }
}
