//! Portal → Services (inventory), one service with its legs, references, usage and
//! timeline, and the provisioning card on an order. Both pages follow live events.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::live::use_live;
use super::*;
use crate::components::ui::*;

pub fn service_tone(status: &str) -> &'static str {
    match status {
        "active" | "complete" | "available" | "Provisioned" | "ACTIVE" => "green",
        "provisioning" | "pending" | "awaiting_customer" | "terminating" | "rolling_back" | "suspended" => "amber",
        "failed" | "terminated" | "rolled_back" | "cancelled" => "red",
        _ => "gray",
    }
}

fn status_label(s: &str) -> String {
    match s {
        "awaiting_customer" => "waiting for you".into(),
        "rolling_back" => "rolling back".into(),
        "rolled_back" => "rolled back".into(),
        other => other.replace('_', " "),
    }
}

const STATUSES: &[&str] =
    &["provisioning", "active", "suspended", "terminating", "terminated", "failed", "rolling_back"];

#[component]
pub fn ServicesPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|m| m.get("status")).unwrap_or_default();
    let q = move || query.with(|m| m.get("q")).unwrap_or_default();
    let services = Resource::new(
        move || (status(), q(), query.with(|m| m.get("cursor"))),
        |(s, q, c)| list_services(Some(s), Some(q), c),
    );
    view! {
        <Title text="Services"/>
        <PageHeader title="Services" subtitle="Your connections: provisioning, active, suspended and past.">
            <a href="/portal/quotes/new" class=BTN_PRIMARY>"New quote"</a>
        </PageHeader>
        <form method="get" action="/portal/services" class="mb-4 flex flex-wrap items-end gap-3" role="search">
            <div>
                <label for="status" class=LABEL>"Status"</label>
                <select id="status" name="status" class=INPUT>
                    <option value="">"Any"</option>
                    {STATUSES.iter().map(|s| {
                        let sel = status() == *s;
                        view! { <option value=*s selected=sel>{status_label(s)}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="q" class=LABEL>"Search"</label>
                <input id="q" name="q" value=q() class=INPUT placeholder="Number, location, provider"/>
            </div>
            <button type="submit" class=BTN_SECONDARY>"Filter"</button>
        </form>
        <crate::components::list::PagedList
            resource=services
            headers=vec!["Service", "Connection", "Providers", "Bandwidth", "Order", "Status"]
            noun="services"
            empty_title="No services"
            empty_body="A service appears here as soon as an approved order starts provisioning. If you filtered, clear the filter."
            row=|s: ServiceRow| view! {
                <tr class="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                    <td class=TD>
                        <a href=format!("/portal/services/{}", s.id) class="font-medium text-indigo-600 hover:underline dark:text-indigo-400">{s.number.clone()}</a>
                        <span class="block text-xs text-slate-500 dark:text-slate-400">{s.activated_at.clone().map(|a| format!("active since {a}")).unwrap_or_else(|| format!("created {}", s.created_at))}</span>
                    </td>
                    <td class=TD>
                        <span class="block max-w-md truncate" title=format!("{} ↔ {}", s.a_end, s.b_end)>{format!("{} ↔ {}", s.a_end, s.b_end)}</span>
                        <span class="block text-xs text-slate-500 dark:text-slate-400">{s.offering.clone()}</span>
                    </td>
                    <td class=TD>{s.providers.clone()}</td>
                    <td class=format!("{TD} tabular-nums")>{s.bandwidth.clone()}{s.pending_bandwidth.clone().map(|p| view! { <span class="block text-xs text-amber-600 dark:text-amber-400">{format!("→ {p}")}</span> })}</td>
                    <td class=TD><a href=format!("/portal/orders/{}", s.order_id) class=BTN_LINK>{s.order_number.clone()}</a></td>
                    <td class=TD><Badge text=status_label(&s.status) tone=service_tone(&s.status)/></td>
                </tr>
            }
        />
    }
}

/// The legs of a service: provider, state, references, and what the customer must do.
#[component]
pub fn LegsCard(service_id: String, legs: Vec<LegRow>, can_manage: bool) -> impl IntoView {
    let step = ServerAction::<SandboxCustomerStep>::new();
    let err = action_error(step);
    let count = legs.len();
    let title = if count > 1 { format!("Legs ({count}, provisioned in this order)") } else { "Provider".to_string() };
    view! {
        <Card title=title>
            <FormError err=err/>
            <ol class="space-y-4" data-testid="legs">
                {legs.into_iter().map(|l| {
                    let sid = service_id.clone();
                    view! {
                        <li class="@container rounded-lg border border-slate-200 p-4 dark:border-slate-800" data-testid="leg" data-status=l.status.clone()>
                            <div class="flex flex-wrap items-center justify-between gap-2">
                                <div>
                                    <p class="text-sm font-semibold">{if count > 1 { format!("{}. {}", l.seq, l.name) } else { l.name.clone() }}</p>
                                    <p class="text-xs text-slate-500 dark:text-slate-400">{format!("{} · {}", l.provider, l.adapter)}{l.sandbox.then_some(" · sandbox backend")}</p>
                                </div>
                                <div class="flex items-center gap-2">
                                    {l.provider_state.clone().map(|p| view! { <span class="font-mono text-xs text-slate-500 dark:text-slate-400" title="Provider's state">{p}</span> })}
                                    <Badge text=status_label(&l.status) tone=service_tone(&l.status)/>
                                </div>
                            </div>
                            {l.customer_step.clone().map(|text| view! {
                                <div class="mt-3 rounded-lg bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200 dark:bg-amber-950/40 dark:text-amber-200 dark:ring-amber-900" role="status">
                                    <p class="font-medium">"Action needed"</p>
                                    <p class="mt-1" data-testid="customer-step">{text}</p>
                                    {(can_manage && l.sandbox).then(|| view! {
                                        <ActionForm action=step attr:class="mt-3">
                                            <input type="hidden" name="service_id" value=sid.clone()/>
                                            <input type="hidden" name="leg_id" value=l.id.clone()/>
                                            <button type="submit" class=BTN_SECONDARY>"Do this step now (sandbox)"</button>
                                            <p class="mt-1 text-xs">"This provider runs on the sandbox backend: the button performs the step at the simulated provider for you."</p>
                                        </ActionForm>
                                    })}
                                </div>
                            })}
                            {l.last_error.clone().map(|e| view! { <p class="mt-2 text-sm text-rose-600 dark:text-rose-400">{e}</p> })}
                            {(!l.refs.is_empty()).then(|| view! {
                                <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-1 text-xs @lg:grid-cols-2">
                                    {l.refs.iter().map(|(k, v)| view! {
                                        <div class="flex justify-between gap-3 border-b border-dashed border-slate-200 py-1 dark:border-slate-800">
                                            <dt class="text-slate-500 dark:text-slate-400">{k.clone()}</dt>
                                            <dd class="font-mono text-slate-800 dark:text-slate-200 break-all text-right">{v.clone()}</dd>
                                        </div>
                                    }).collect_view()}
                                </dl>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </Card>
    }
}

#[component]
fn ServiceTimeline(events: Vec<ServiceEventRow>) -> impl IntoView {
    view! {
        <Card title="Service timeline">
            <ol class="relative space-y-4 border-l border-slate-200 pl-5 dark:border-slate-700" data-testid="service-timeline">
                {events.into_iter().map(|e| view! {
                    <li>
                        <span class="absolute -left-1.5 mt-1.5 h-3 w-3 rounded-full bg-indigo-500"></span>
                        <p class="text-sm">{e.detail}</p>
                        <p class="text-xs text-slate-500 dark:text-slate-400">{format!("{} · {}", e.when, e.who)}</p>
                    </li>
                }).collect_view()}
            </ol>
        </Card>
    }
}

#[component]
pub fn ServiceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let modify = ServerAction::<ChangeBandwidth>::new();
    let suspend = ServerAction::<SuspendService>::new();
    let resume = ServerAction::<ResumeService>::new();
    let terminate = ServerAction::<TerminateService>::new();
    let live = use_live(move || Some(format!("/events/services/{}", id())));
    let detail = Resource::new(
        move || {
            (
                id(),
                live.get(),
                modify.version().get(),
                suspend.version().get(),
                resume.version().get(),
                terminate.version().get(),
            )
        },
        |(id, ..)| get_service(id),
    );
    let errs = Signal::derive(move || [action_error(suspend), action_error(resume)].into_iter().find_map(|s| s.get()));
    let modify_err = action_error(modify);
    let terminate_err = action_error(terminate);
    view! {
        <FormError err=errs/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                Ok(d) => {
                    let s = d.service.clone();
                    let (id1, id2, id3, id4) = (s.id.clone(), s.id.clone(), s.id.clone(), s.id.clone());
                    let busy = d.in_progress.is_some();
                    let options: Vec<(String, String)> = d.bandwidth_options.iter().map(|b| (b.to_string(), crate::catalog::service::mbps_label(*b))).collect();
                    view! {
                        <Title text=format!("Service {}", s.number)/>
                        <p class="mb-2 text-sm"><a href="/portal/services" class=BTN_LINK>"← Services"</a></p>
                        <div class="mb-6 flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold tracking-tight">{format!("Service {}", s.number)}</h1>
                            <span data-testid="service-status"><Badge text=status_label(&s.status) tone=service_tone(&s.status)/></span>
                            <span class="text-sm text-slate-500 dark:text-slate-400">{format!("{} · order ", s.bandwidth)}<a href=format!("/portal/orders/{}", s.order_id) class=BTN_LINK>{s.order_number.clone()}</a></span>
                        </div>
                        {s.status_reason.clone().map(|r| view! { <Alert tone="warning">{r}</Alert> })}
                        {d.in_progress.clone().map(|p| view! { <Alert tone="info"><span data-testid="in-progress">{p}</span></Alert> })}
                        <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
                            <div class="space-y-6 xl:col-span-2">
                                <Card title=s.offering.clone()>
                                    <dl class="grid grid-cols-1 gap-3 text-sm sm:grid-cols-2">
                                        <div><dt class="text-slate-500 dark:text-slate-400">"A-end"</dt><dd>{s.a_end.clone()}</dd></div>
                                        <div><dt class="text-slate-500 dark:text-slate-400">"B-end"</dt><dd>{s.b_end.clone()}</dd></div>
                                        <div><dt class="text-slate-500 dark:text-slate-400">"Bandwidth"</dt><dd data-testid="service-bandwidth">{s.bandwidth.clone()}</dd></div>
                                        <div><dt class="text-slate-500 dark:text-slate-400">"Active since"</dt><dd>{s.activated_at.clone().unwrap_or_else(|| "—".into())}</dd></div>
                                    </dl>
                                </Card>
                                <LegsCard service_id=s.id.clone() legs=d.legs.clone() can_manage=d.can_manage/>
                                <Card title="Usage">
                                    {match d.usage_total.clone() {
                                        None => view! { <p class="text-sm text-slate-500 dark:text-slate-400">"Usage is recorded for every full hour the service is active."</p> }.into_any(),
                                        Some(total) => view! {
                                            <p class="mb-3 text-sm text-slate-600 dark:text-slate-400">{total}</p>
                                            <Table label="Usage by hour" headers=vec!["Hour", "In", "Out", "Source"]>
                                                {d.usage.iter().map(|u| view! {
                                                    <tr><td class=TD>{u.period.clone()}</td><td class=format!("{TD} tabular-nums")>{u.inbound.clone()}</td><td class=format!("{TD} tabular-nums")>{u.outbound.clone()}</td><td class=TD>{u.source.clone()}</td></tr>
                                                }).collect_view()}
                                            </Table>
                                        }.into_any(),
                                    }}
                                </Card>
                                <ServiceTimeline events=d.timeline.clone()/>
                            </div>
                            <div class="space-y-6">
                                {(d.can_manage && s.status == "active" && !busy).then(|| view! {
                                    <Card title="Change bandwidth">
                                        <ActionForm action=modify attr:class="space-y-3">
                                            <input type="hidden" name="service_id" value=id1.clone()/>
                                            <SelectField label="New bandwidth" name="bandwidth_mbps" options=options.clone() selected=s.bandwidth_mbps.to_string() error=field_error(modify_err, "bandwidth_mbps")/>
                                            <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Change bandwidth"</button>
                                            <p class="text-xs text-slate-500 dark:text-slate-400">"The service stays up while the providers apply the change."</p>
                                        </ActionForm>
                                    </Card>
                                })}
                                {(d.can_manage && matches!(s.status.as_str(), "active" | "suspended") && !busy).then(|| view! {
                                    <Card title="Lifecycle">
                                        {if s.status == "active" {
                                            view! {
                                                <ActionForm action=suspend>
                                                    <input type="hidden" name="service_id" value=id2.clone()/>
                                                    <button type="submit" class=format!("{BTN_SECONDARY} w-full")>"Suspend service"</button>
                                                </ActionForm>
                                            }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=resume>
                                                    <input type="hidden" name="service_id" value=id3.clone()/>
                                                    <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Resume service"</button>
                                                </ActionForm>
                                            }.into_any()
                                        }}
                                        <ActionForm action=terminate attr:class="mt-5 space-y-3 border-t border-slate-200 pt-4 dark:border-slate-800">
                                            <input type="hidden" name="service_id" value=id4.clone()/>
                                            <Field label=format!("Type {} to terminate", s.number) name="confirm" error=field_error(terminate_err, "confirm") hint="Termination releases the connection at every provider. It cannot be undone."/>
                                            <button type="submit" class=format!("{BTN_DANGER} w-full")>"Terminate service"</button>
                                        </ActionForm>
                                    </Card>
                                })}
                            </div>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Provisioning on the order page: the service's legs and progress (the page follows live events).
#[component]
pub fn ProvisioningCard(detail: ServiceDetail) -> impl IntoView {
    let (svc, legs, can_manage) = (detail.service, detail.legs, detail.can_manage);
    let sid = svc.id.clone();
    view! {
        <div class="space-y-6" data-testid="provisioning">
            <Card title="Service">
                <div class="flex flex-wrap items-center justify-between gap-2">
                    <a href=format!("/portal/services/{}", svc.id) class=BTN_LINK>{svc.number.clone()}</a>
                    <Badge text=status_label(&svc.status) tone=service_tone(&svc.status)/>
                </div>
                {svc.status_reason.clone().map(|r| view! { <p class="mt-2 text-sm text-rose-600 dark:text-rose-400">{r}</p> })}
            </Card>
            <LegsCard service_id=sid legs=legs can_manage=can_manage/>
        </div>
    }
}

/// Portal → one order, with its service once provisioning has started; follows live events.
#[component]
pub fn OrderDetailPage() -> impl IntoView {
    use crate::orders::pages::{OrderActions, OrderView};
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let actions = OrderActions::new();
    let live = use_live(move || Some(format!("/events/orders/{}", id())));
    let page = Resource::new(move || (id(), live.get(), actions.version()), |(id, ..)| get_order_page(id));
    view! {
        <FormError err=actions.error()/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                Ok(p) => {
                    let aside = p.service.map(|svc| view! { <ProvisioningCard detail=svc/> }.into_any());
                    view! { <OrderView d=p.order actions=actions aside=aside/> }.into_any()
                }
            })}
        </Suspense>
    }
}
