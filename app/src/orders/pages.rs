//! Portal → Orders: list with status filter, ordering rules, and one order with its timeline.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::machine::Status;
use super::*;
use crate::components::list::PagedList;
use crate::components::ui::*;

fn tone(status: &str) -> &'static str {
    match status {
        "active" | "queued" | "approved" | "provisioning" => "green",
        "quoted" | "submitted" | "validating" | "draft" | "suspended" => "amber",
        "failed" | "cancelled" | "terminated" => "red",
        _ => "gray",
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|m| m.get("status")).unwrap_or_default();
    let set_policy = ServerAction::<SetOrderPolicy>::new();
    let orders = Resource::new(
        move || (status(), query.with(|m| m.get("cursor"))),
        |(s, cursor)| list_orders(Some(s).filter(|s| !s.is_empty()), cursor),
    );
    let policy = Resource::new(move || set_policy.version().get(), |_| get_order_policy());
    let err = action_error(set_policy);
    view! {
        <Title text="Orders"/>
        <PageHeader title="Orders" subtitle="Every order and where it stands.">
            <a href="/portal/quotes/new" class=BTN_PRIMARY>"New quote"</a>
        </PageHeader>
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-4">
            <div class="xl:col-span-3">
                <form method="get" action="/portal/orders" class="mb-4 flex items-end gap-3">
                    <div>
                        <label for="status" class=LABEL>"Status"</label>
                        <select id="status" name="status" class=INPUT>
                            <option value="">"Any"</option>
                            {Status::ALL.into_iter().map(|s| {
                                let sel = status() == s.as_str();
                                view! { <option value=s.as_str() selected=sel>{s.label()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class=BTN_SECONDARY>"Filter"</button>
                </form>
                <PagedList
                    resource=orders
                    headers=vec!["Order", "Connection", "Bandwidth", "Monthly", "PO", "Placed by", "Status"]
                    noun="orders"
                    empty_title="No orders"
                    empty_body="Orders are placed from a saved quote. Start with New quote, or clear the status filter."
                    row=|o: OrderRow| view! {
                        <tr class="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                            <td class=TD><a href=format!("/portal/orders/{}", o.id) class="font-medium text-indigo-600 hover:underline dark:text-indigo-400">{o.number.clone()}</a><span class="block text-xs text-slate-500 dark:text-slate-400">{o.created_at.clone()}</span></td>
                            <td class=TD><span class="block max-w-xs truncate" title=format!("{} ↔ {}", o.a_end, o.b_end)>{o.description.clone()}</span><span class="block text-xs text-slate-500 dark:text-slate-400">{o.offering.clone()}</span></td>
                            <td class=TD>{o.bandwidth.clone()}</td>
                            <td class=format!("{TD} tabular-nums")>{o.monthly.clone()}</td>
                            <td class=TD>{o.po_number.clone()}</td>
                            <td class=TD>{o.placed_by.clone()}</td>
                            <td class=TD><Badge text=o.status_label.clone() tone=tone(&o.status)/></td>
                        </tr>
                    }
                />
            </div>
            <Card title="Approval rule">
                <FormError err=err/>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || policy.get().map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(p) => view! {
                            <p class="mb-3 text-sm text-slate-600 dark:text-slate-400">
                                {match &p.threshold {
                                    Some(t) => format!("Orders worth more than {t} over their term need a second person's approval (tenant admin or billing admin)."),
                                    None => "Orders are approved automatically.".to_string(),
                                }}
                            </p>
                            {p.can_edit.then(|| view! {
                                <ActionForm action=set_policy attr:class="space-y-3">
                                    <Field label="Approve above" name="threshold" value=p.threshold_input.clone() placeholder="5000.00" hint="Total contract value. Leave empty to approve all orders automatically." error=field_error(err, "threshold")/>
                                    <SelectField label="Currency" name="currency" options=vec![("EUR".into(), "EUR".into()), ("USD".into(), "USD".into()), ("GBP".into(), "GBP".into())] selected=p.currency.clone() error=field_error(err, "currency")/>
                                    <button type="submit" class=BTN_SECONDARY>"Save rule"</button>
                                </ActionForm>
                            })}
                        }.into_any(),
                    })}
                </Suspense>
            </Card>
        </div>
    }
}

/// The actions of an order page (approve, reject, cancel), created once per page.
#[derive(Clone, Copy)]
pub struct OrderActions {
    pub approve: ServerAction<ApproveOrder>,
    pub reject: ServerAction<RejectOrder>,
    pub cancel: ServerAction<CancelOrder>,
}

impl OrderActions {
    pub fn new() -> Self {
        Self { approve: ServerAction::new(), reject: ServerAction::new(), cancel: ServerAction::new() }
    }

    /// Changes whenever one of the actions has run (the page reads again).
    pub fn version(&self) -> (usize, usize, usize) {
        (self.approve.version().get(), self.reject.version().get(), self.cancel.version().get())
    }

    /// The first error of any of the actions.
    pub fn error(&self) -> Signal<Option<AppError>> {
        let (approve, reject, cancel) = (self.approve, self.reject, self.cancel);
        Signal::derive(move || {
            [action_error(approve), action_error(reject), action_error(cancel)].into_iter().find_map(|s| s.get())
        })
    }
}

impl Default for OrderActions {
    fn default() -> Self {
        Self::new()
    }
}

/// One order: header, details, timeline, approval and cancellation. The page that shows it
/// (`/portal/orders/:id`) belongs to whoever adds to it: `aside` goes on top of the side
/// column (provisioning puts the order's service there), so orders depends on nobody.
#[component]
pub fn OrderView(
    d: OrderDetail,
    actions: OrderActions,
    #[prop(default = None)] aside: Option<AnyView>,
) -> impl IntoView {
    let OrderActions { approve, reject, cancel } = actions;
    let reject_err = action_error(reject);
    let o = d.order.clone();
    let (id1, id2, id3) = (o.id.clone(), o.id.clone(), o.id.clone());
    view! {
        <Title text=format!("Order {}", o.number)/>
        <p class="mb-2 text-sm"><a href="/portal/orders" class=BTN_LINK>"← Orders"</a></p>
        <div class="mb-6 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold tracking-tight">{format!("Order {}", o.number)}</h1>
            <span data-testid="order-status"><Badge text=o.status_label.clone() tone=tone(&o.status)/></span>
        </div>
        {o.status_reason.clone().map(|r| view! { <Alert tone="warning">{r}</Alert> })}
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
            <div class="space-y-6 xl:col-span-2">
                <Card title=o.offering.clone()>
                    <dl class="grid grid-cols-1 gap-3 text-sm sm:grid-cols-2">
                        <div><dt class="text-slate-500 dark:text-slate-400">"A-end"</dt><dd>{o.a_end.clone()}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"B-end"</dt><dd>{o.b_end.clone()}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Bandwidth and term"</dt><dd>{format!("{} · {} months", o.bandwidth, o.term_months)}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Price"</dt><dd>{format!("{} a month · {} in total", o.monthly, o.total)}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Purchase order · cost centre"</dt><dd>{format!("{} · {}", o.po_number, if o.cost_centre.is_empty() { "—".to_string() } else { o.cost_centre.clone() })}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Quote"</dt><dd><a href=format!("/portal/quotes/{}", o.quote_id) class=BTN_LINK>{o.quote_number.clone()}</a></dd></div>
                        <div class="sm:col-span-2"><dt class="text-slate-500 dark:text-slate-400">"Description"</dt><dd>{o.description.clone()}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Placed by"</dt><dd>{o.placed_by.clone()}</dd></div>
                        <div><dt class="text-slate-500 dark:text-slate-400">"Approved by"</dt><dd>{o.approved_by.clone().unwrap_or_else(|| if o.needs_approval { "—".into() } else { "automatically (below the approval threshold)".into() })}</dd></div>
                    </dl>
                </Card>
                <Card title="Timeline">
                    <ol class="relative space-y-4 border-l border-slate-200 pl-5 dark:border-slate-700" data-testid="order-timeline">
                        {d.timeline.iter().map(|t| view! {
                            <li>
                                <span class="absolute -left-1.5 mt-1.5 h-3 w-3 rounded-full bg-indigo-500"></span>
                                <p class="text-sm font-medium">{match &t.from { Some(f) => format!("{f} → {}", t.to), None => t.to.clone() }}</p>
                                <p class="text-xs text-slate-500 dark:text-slate-400">{format!("{} · {}", t.when, t.who)}</p>
                                {t.why.clone().map(|w| view! { <p class="text-xs text-slate-600 dark:text-slate-400">{w}</p> })}
                            </li>
                        }).collect_view()}
                    </ol>
                </Card>
            </div>
            <div class="space-y-6">
                {aside}
                {(o.status == "quoted").then(|| if d.can_approve {
                    view! {
                        <Card title="Approval">
                            <p class="mb-3 text-sm text-slate-600 dark:text-slate-400">"This order is above your organisation's approval threshold."</p>
                            <ActionForm action=approve>
                                <input type="hidden" name="order_id" value=id1.clone()/>
                                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Approve order"</button>
                            </ActionForm>
                            <ActionForm action=reject attr:class="mt-4 space-y-3">
                                <input type="hidden" name="order_id" value=id2.clone()/>
                                <Field label="Reason for rejection" name="reason" error=field_error(reject_err, "reason")/>
                                <button type="submit" class=format!("{BTN_DANGER} w-full")>"Reject order"</button>
                            </ActionForm>
                        </Card>
                    }.into_any()
                } else {
                    view! {
                        <Card title="Approval">
                            <p class="text-sm text-slate-600 dark:text-slate-400">
                                {if d.placed_by_you { "Waiting for approval by someone else: you placed this order." } else { "Waiting for approval by a tenant admin or billing admin." }}
                            </p>
                        </Card>
                    }.into_any()
                })}
                {d.can_cancel.then(|| view! {
                    <Card title="Cancel">
                        <ActionForm action=cancel attr:class="space-y-3">
                            <input type="hidden" name="order_id" value=id3.clone()/>
                            <Field label="Reason (optional)" name="reason"/>
                            <button type="submit" class=format!("{BTN_SECONDARY} w-full")>"Cancel order"</button>
                        </ActionForm>
                        <p class="mt-2 text-xs text-slate-500 dark:text-slate-400">"Orders can be cancelled until provisioning starts."</p>
                    </Card>
                })}
            </div>
        </div>
    }
}
