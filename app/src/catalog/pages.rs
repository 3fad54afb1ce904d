//! Portal: locations browser, quote builder, quotes. Console: catalog and price books.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::list::{PagedList, Pager};
use crate::components::ui::*;

fn q(
    query: Memo<leptos_router::params::ParamsMap>,
    key: &'static str,
) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    move || query.with(|m| m.get(key)).unwrap_or_default()
}

fn opt(s: String) -> Option<String> {
    Some(s).filter(|s| !s.trim().is_empty())
}

#[component]
pub fn LocationsPage() -> impl IntoView {
    let query = use_query_map();
    let (provider, metro, country, kind) =
        (q(query, "provider"), q(query, "metro"), q(query, "country"), q(query, "kind"));
    let data = Resource::new(
        move || (provider(), metro(), country(), kind(), query.with(|m| m.get("cursor"))),
        |(p, m, c, k, cursor)| list_locations(opt(p), opt(m), opt(c), opt(k), cursor),
    );
    view! {
        <Title text="Locations"/>
        <PageHeader title="Locations" subtitle="Where you can connect: cloud on-ramps, data-centre ports and exchanges.">
            <a href="/portal/quotes/new" class=BTN_PRIMARY>"New quote"</a>
        </PageHeader>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                data.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(v) => {
                            let select = |id: &'static str, label: &'static str, current: String, opts: Vec<(String, String)>| {
                                view! {
                                    <div>
                                        <label for=id class=LABEL>{label}</label>
                                        <select id=id name=id class=INPUT>
                                            <option value="">"Any"</option>
                                            {opts
                                                .into_iter()
                                                .map(|(v, l)| {
                                                    let sel = v == current;
                                                    view! { <option value=v selected=sel>{l}</option> }
                                                })
                                                .collect_view()}
                                        </select>
                                    </div>
                                }
                            };
                            let kinds = ["cloud_onramp", "dc_port", "exchange_port", "partner"]
                                .into_iter()
                                .map(|k| (k.to_string(), kind_label(k).to_string()))
                                .collect();
                            view! {
                                <form method="get" action="/portal/locations" class="mb-6 grid grid-cols-2 items-end gap-3 rounded-xl border border-slate-200 bg-white p-4 shadow-sm md:grid-cols-5 dark:border-slate-800 dark:bg-slate-900">
                                    {select("provider", "Provider", provider(), v.providers.clone())}
                                    {select("metro", "Metro", metro(), v.metros.iter().map(|m| (m.clone(), m.clone())).collect())}
                                    {select("country", "Country", country(), v.countries.iter().map(|c| (c.clone(), c.clone())).collect())}
                                    {select("kind", "Endpoint kind", kind(), kinds)}
                                    <div class="flex gap-2">
                                        <button type="submit" class=BTN_PRIMARY>"Filter"</button>
                                        <a href="/portal/locations" class=BTN_SECONDARY>"Reset"</a>
                                    </div>
                                </form>
                                {let shown = v.rows.len();
                                if v.rows.is_empty() {
                                    view! { <EmptyState title="No locations match" body="Clear a filter to see more of the catalog."/> }.into_any()
                                } else {
                                    view! {
                                        <div class="grid grid-cols-1 gap-6 xl:grid-cols-2">
                                            {v.rows
                                                .into_iter()
                                                .map(|l| {
                                                    view! {
                                                        <Card title=format!("{} — {}", l.metro, l.facility)>
                                                            <p class="mb-3 text-xs text-slate-500 dark:text-slate-400">
                                                                {format!("{} · {} · {} region", l.operator, l.country, l.region)}
                                                            </p>
                                                            <ul class="divide-y divide-slate-100 dark:divide-slate-800">
                                                                {l.endpoints
                                                                    .into_iter()
                                                                    .map(|e| {
                                                                        view! {
                                                                            <li class="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
                                                                                <span>
                                                                                    <span class="font-medium">{e.name.clone()}</span>
                                                                                    {e.cloud_region.clone().map(|r| view! { <span class="ml-2 text-xs text-slate-500 dark:text-slate-400">{r}</span> })}
                                                                                    <span class="block text-xs text-slate-500 dark:text-slate-400">
                                                                                        {format!("{} · {}", kind_label(&e.kind), e.bandwidths.join(", "))}
                                                                                    </span>
                                                                                </span>
                                                                                {if e.active {
                                                                                    view! { <Badge text=format!("{} free", service::mbps_label(e.free_mbps)) tone="green"/> }.into_any()
                                                                                } else {
                                                                                    view! { <Badge text="not accepting orders" tone="gray"/> }.into_any()
                                                                                }}
                                                                            </li>
                                                                        }
                                                                    })
                                                                    .collect_view()}
                                                            </ul>
                                                            <p class="mt-3 text-xs text-slate-500 dark:text-slate-400">
                                                                "Reachable from here: " {l.reachable.join(" · ")}
                                                            </p>
                                                        </Card>
                                                    }
                                                })
                                                .collect_view()}
                                        </div>
                                        <Pager total=v.page_info.total shown=shown next=v.page_info.next_cursor.clone() after_cursor=v.page_info.after_cursor noun="locations"/>
                                    }
                                        .into_any()
                                }}
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// The quote builder. Choosing and pricing is a GET form (works without JavaScript);
/// saving posts the same fields to `create_quote`.
#[component]
pub fn QuoteBuilderPage() -> impl IntoView {
    let query = use_query_map();
    let input = Memo::new(move |_| {
        query.with(|m| QuoteInput {
            offering_id: m.get("offering_id").unwrap_or_default(),
            a_endpoint_id: m.get("a_endpoint_id").unwrap_or_default(),
            b_endpoint_id: m.get("b_endpoint_id").unwrap_or_default(),
            bandwidth_mbps: m.get("bandwidth_mbps").unwrap_or_default(),
            term_months: m.get("term_months").unwrap_or_else(|| "12".into()),
            est_usage_gb: m.get("est_usage_gb").unwrap_or_default(),
        })
    });
    let options = Resource::new(|| (), |_| get_quote_options());
    let preview = Resource::new(
        move || input.get(),
        |i| async move { if i.is_complete() { Some(preview_quote(i).await) } else { None } },
    );
    let save = ServerAction::<CreateQuote>::new();
    let save_err = action_error(save);
    view! {
        <Title text="New quote"/>
        <PageHeader title="New quote" subtitle="Pick both ends, a bandwidth and a term: serviceability and price update as you go."/>
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-5">
            <div class="xl:col-span-2">
                <Card title="Connection">
                    <Suspense fallback=|| view! { <Loading/> }>
                        {move || {
                            options
                                .get()
                                .map(|r| match r {
                                    Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                                    Ok(o) => {
                                        let i = input.get();
                                        let offering = o.offerings.iter().find(|x| x.id == i.offering_id).cloned();
                                        let bws = offering.as_ref().map(|x| x.bandwidths.clone()).unwrap_or_default();
                                        let terms = offering.as_ref().map(|x| x.terms.clone()).unwrap_or_else(|| vec![1, 12, 24, 36]);
                                        let usage = offering.as_ref().is_some_and(|x| x.usage_based);
                                        let ep_opts = |sel: String| {
                                            o.endpoints
                                                .iter()
                                                .map(|e| {
                                                    let s = e.id == sel;
                                                    view! { <option value=e.id.clone() selected=s>{format!("{} — {} · {}", e.metro, e.name, kind_label(&e.kind))}</option> }
                                                })
                                                .collect_view()
                                        };
                                        view! {
                                            <form method="get" action="/portal/quotes/new" class="space-y-4" id="quote-form">
                                                <div>
                                                    <label for="offering_id" class=LABEL>"Product"</label>
                                                    <select id="offering_id" name="offering_id" class=INPUT onchange="this.form.requestSubmit()">
                                                        <option value="">"Choose a product…"</option>
                                                        {o.offerings.iter().map(|x| {
                                                            let s = x.id == i.offering_id;
                                                            view! { <option value=x.id.clone() selected=s>{x.name.clone()}</option> }
                                                        }).collect_view()}
                                                    </select>
                                                </div>
                                                <div>
                                                    <label for="a_endpoint_id" class=LABEL>"A-end"</label>
                                                    <select id="a_endpoint_id" name="a_endpoint_id" class=INPUT onchange="this.form.requestSubmit()">
                                                        <option value="">"Choose the A-end…"</option>
                                                        {ep_opts(i.a_endpoint_id.clone())}
                                                    </select>
                                                </div>
                                                <div>
                                                    <label for="b_endpoint_id" class=LABEL>"B-end"</label>
                                                    <select id="b_endpoint_id" name="b_endpoint_id" class=INPUT onchange="this.form.requestSubmit()">
                                                        <option value="">"Choose the B-end…"</option>
                                                        {ep_opts(i.b_endpoint_id.clone())}
                                                    </select>
                                                </div>
                                                <div class="grid grid-cols-2 gap-3">
                                                    <div>
                                                        <label for="bandwidth_mbps" class=LABEL>"Bandwidth"</label>
                                                        <select id="bandwidth_mbps" name="bandwidth_mbps" class=INPUT onchange="this.form.requestSubmit()">
                                                            <option value="">{if bws.is_empty() { "Choose a product first" } else { "Choose…" }}</option>
                                                            {bws.iter().map(|b| {
                                                                let s = b.to_string() == i.bandwidth_mbps;
                                                                view! { <option value=b.to_string() selected=s>{service::mbps_label(*b)}</option> }
                                                            }).collect_view()}
                                                        </select>
                                                    </div>
                                                    <div>
                                                        <label for="term_months" class=LABEL>"Term"</label>
                                                        <select id="term_months" name="term_months" class=INPUT onchange="this.form.requestSubmit()">
                                                            {terms.iter().map(|t| {
                                                                let s = t.to_string() == i.term_months;
                                                                view! { <option value=t.to_string() selected=s>{format!("{t} months")}</option> }
                                                            }).collect_view()}
                                                        </select>
                                                    </div>
                                                </div>
                                                {usage.then(|| view! {
                                                    <Field label="Estimated usage (GB per month)" name="est_usage_gb" kind="number" value=i.est_usage_gb.clone() hint="This product is billed per GB transferred."/>
                                                })}
                                                <button type="submit" class=BTN_SECONDARY>"Check price"</button>
                                            </form>
                                        }
                                            .into_any()
                                    }
                                })
                        }}
                    </Suspense>
                </Card>
            </div>
            <div class="xl:col-span-3">
                <FormError err=save_err/>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        preview
                            .get()
                            .map(|r| match r {
                                None => view! { <EmptyState title="Nothing priced yet" body="Choose a product, both ends and a bandwidth to see whether it can be delivered and what it costs."/> }.into_any(),
                                Some(Err(e)) => view! { <ErrorBox err=e/> }.into_any(),
                                Some(Ok(p)) => {
                                    let i = input.get();
                                    view! {
                                        <Card title="Price">
                                            <p class="text-sm text-slate-600 dark:text-slate-400">{format!("{} · {} · {} months", p.offering, p.bandwidth, p.term_months)}</p>
                                            <p class="mt-1 text-sm"><span class="font-medium">"A: "</span>{p.a_end.clone()}</p>
                                            <p class="text-sm"><span class="font-medium">"B: "</span>{p.b_end.clone()}</p>
                                            {if p.serviceable {
                                                view! { <div class="mt-3"><Badge text="serviceable" tone="green"/></div> }.into_any()
                                            } else {
                                                view! {
                                                    <div class="mt-4"><Alert tone="warning">
                                                        <p class="font-medium">"This connection cannot be offered:"</p>
                                                        <ul class="mt-1 list-disc pl-5">{p.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
                                                    </Alert></div>
                                                }.into_any()
                                            }}
                                            {(!p.lines.is_empty()).then(|| view! {
                                                <PriceSummary lines=p.lines.clone() nrc=p.nrc.clone() monthly=p.monthly.clone() total=p.total.clone()/>
                                                <p class="mt-2 text-xs text-slate-500 dark:text-slate-400">{format!("Prices from {}. Quotes are valid for 30 days and keep these prices.", p.price_book)}</p>
                                            })}
                                            {(p.serviceable && p.can_save).then(|| view! {
                                                <ActionForm action=save attr:class="mt-4">
                                                    <input type="hidden" name="offering_id" value=i.offering_id.clone()/>
                                                    <input type="hidden" name="a_endpoint_id" value=i.a_endpoint_id.clone()/>
                                                    <input type="hidden" name="b_endpoint_id" value=i.b_endpoint_id.clone()/>
                                                    <input type="hidden" name="bandwidth_mbps" value=i.bandwidth_mbps.clone()/>
                                                    <input type="hidden" name="term_months" value=i.term_months.clone()/>
                                                    <input type="hidden" name="est_usage_gb" value=i.est_usage_gb.clone()/>
                                                    <button type="submit" class=BTN_PRIMARY>"Save quote"</button>
                                                </ActionForm>
                                            })}
                                        </Card>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </div>
        </div>
    }
}

/// A quote's line items and totals (the builder's preview and a saved quote alike).
#[component]
fn PriceSummary(lines: Vec<PreviewLine>, nrc: String, monthly: String, total: String) -> impl IntoView {
    view! {
        <table class="mt-4 w-full text-sm" data-testid="quote-lines">
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                {lines
                    .into_iter()
                    .map(|l| view! {
                        <tr>
                            <td class="py-2">{l.label}</td>
                            <td class="py-2 text-slate-500 dark:text-slate-400">{l.period}</td>
                            <td class="py-2 text-right tabular-nums">{l.amount}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <dl class="mt-4 grid grid-cols-3 gap-3 border-t border-slate-200 pt-4 text-sm dark:border-slate-800">
            <div><dt class="text-slate-500 dark:text-slate-400">"One-time"</dt><dd class="text-lg font-semibold tabular-nums">{nrc}</dd></div>
            <div><dt class="text-slate-500 dark:text-slate-400">"Monthly"</dt><dd class="text-lg font-semibold tabular-nums">{monthly}</dd></div>
            <div><dt class="text-slate-500 dark:text-slate-400">"Total contract"</dt><dd data-testid="quote-total" class="text-lg font-semibold tabular-nums">{total}</dd></div>
        </dl>
    }
}

#[component]
pub fn QuotesPage() -> impl IntoView {
    let query = use_query_map();
    let quotes = Resource::new(move || query.with(|m| m.get("cursor")), list_quotes);
    view! {
        <Title text="Quotes"/>
        <PageHeader title="Quotes" subtitle="Priced connections, valid for 30 days.">
            <a href="/portal/quotes/new" class=BTN_PRIMARY>"New quote"</a>
        </PageHeader>
        <PagedList
            resource=quotes
            headers=vec!["Quote", "Connection", "Bandwidth", "Term", "Monthly", "Total", "Status", "Valid until"]
            noun="quotes"
            empty_title="No quotes yet"
            empty_body="Price a connection with New quote; saved quotes appear here."
            row=|q: QuoteRow| view! {
                <tr class="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                    <td class=TD><a href=format!("/portal/quotes/{}", q.id) class="font-medium text-indigo-600 hover:underline dark:text-indigo-400">{q.number.clone()}</a></td>
                    <td class=TD><span class="block max-w-xs truncate" title=format!("{} ↔ {}", q.a_end, q.b_end)>{q.offering.clone()}</span></td>
                    <td class=TD>{q.bandwidth.clone()}</td>
                    <td class=TD>{format!("{} mo", q.term_months)}</td>
                    <td class=format!("{TD} tabular-nums")>{q.monthly.clone()}</td>
                    <td class=format!("{TD} tabular-nums")>{q.total.clone()}</td>
                    <td class=TD><Badge text=q.status.clone() tone=match q.status.as_str() { "open" => "blue", "ordered" => "green", _ => "amber" }/></td>
                    <td class=TD>{q.valid_until.clone()}</td>
                </tr>
            }
        />
    }
}

#[component]
pub fn QuoteDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let place = ServerAction::<crate::orders::PlaceOrder>::new();
    let quote = Resource::new(move || (id(), place.version().get()), |(id, _)| get_quote(id));
    let err = action_error(place);
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                quote
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(q) => view! {
                            <Title text=format!("Quote {}", q.number)/>
                            <p class="mb-2 text-sm"><a href="/portal/quotes" class=BTN_LINK>"← Quotes"</a></p>
                            <div class="mb-6 flex flex-wrap items-center gap-3">
                                <h1 class="text-2xl font-semibold tracking-tight">{format!("Quote {}", q.number)}</h1>
                                <Badge text=q.status.clone() tone=match q.status.as_str() { "open" => "blue", "ordered" => "green", _ => "amber" }/>
                            </div>
                            <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
                                <div class="xl:col-span-2">
                                    <Card title=q.offering.clone()>
                                        <p class="text-sm"><span class="font-medium">"A: "</span>{q.a_end.clone()}</p>
                                        <p class="text-sm"><span class="font-medium">"B: "</span>{q.b_end.clone()}</p>
                                        <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{format!("{} · {} months · created {} by {} · valid until {}", q.bandwidth, q.term_months, q.created_at, q.created_by, q.valid_until)}</p>
                                        <PriceSummary lines=q.lines.clone() nrc=q.nrc.clone() monthly=q.monthly.clone() total=q.total.clone()/>
                                    </Card>
                                </div>
                                <div>
                                    {match (q.status.as_str(), q.can_order) {
                                        ("open", true) => view! {
                                            <Card title="Place an order">
                                                <FormError err=err/>
                                                <ActionForm action=place attr:class="space-y-4">
                                                    <input type="hidden" name="quote_id" value=q.id.clone()/>
                                                    <Field label="Purchase-order number" name="po_number" required=true error=field_error(err, "po_number")/>
                                                    <Field label="Cost centre" name="cost_centre" hint="Optional." error=field_error(err, "cost_centre")/>
                                                    <Field label="Description" name="description" required=true placeholder="Production VPC to London DC" error=field_error(err, "description")/>
                                                    <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Place order"</button>
                                                </ActionForm>
                                            </Card>
                                        }.into_any(),
                                        ("open", false) => view! { <Card title="Ordering"><p class="text-sm text-slate-600 dark:text-slate-400">"Tenant admins and billing admins place orders."</p></Card> }.into_any(),
                                        ("expired", _) => view! { <Alert tone="warning">"This quote has expired and cannot be ordered. Create a new quote for current prices."</Alert> }.into_any(),
                                        _ => view! { <Alert tone="success">"This quote has been ordered: see Orders."</Alert> }.into_any(),
                                    }}
                                </div>
                            </div>
                        }.into_any(),
                    })
            }}
        </Suspense>
    }
}

fn endpoint_kinds() -> Vec<(String, String)> {
    ["cloud_onramp", "dc_port", "exchange_port", "partner"]
        .into_iter()
        .map(|k| (k.to_string(), kind_label(k).to_string()))
        .collect()
}

#[component]
pub fn CatalogAdminPage() -> impl IntoView {
    let set = ServerAction::<SetEndpoint>::new();
    let add_loc = ServerAction::<AddLocation>::new();
    let add_ep = ServerAction::<AddEndpoint>::new();
    let query = use_query_map();
    let eps = Resource::new(
        move || (query.with(|m| m.get("cursor")), set.version().get(), add_ep.version().get()),
        |(cursor, ..)| admin_endpoints(cursor),
    );
    let refs = Resource::new(move || add_loc.version().get(), |_| get_catalog_refs());
    let err = action_error(set);
    let loc_err = action_error(add_loc);
    let ep_err = action_error(add_ep);
    view! {
        <Title text="Catalog"/>
        <PageHeader title="Catalog" subtitle="Facilities and endpoints customers can order: add them, open or close them, set port capacity."/>
        <div class="mb-6 grid grid-cols-1 gap-6 xl:grid-cols-2">
            <Card title="Add a location">
                <FormError err=loc_err/>
                <ActionForm action=add_loc attr:class="grid grid-cols-2 gap-3">
                    <Field label="Key" name="location[key]" placeholder="eqx-ld8" required=true error=field_error(loc_err, "key")/>
                    <Field label="Facility" name="location[facility]" placeholder="Equinix LD8, London" required=true error=field_error(loc_err, "facility")/>
                    <Field label="Operator" name="location[operator]" placeholder="Equinix" required=true error=field_error(loc_err, "operator")/>
                    <Field label="Metro" name="location[metro]" placeholder="London" required=true error=field_error(loc_err, "metro")/>
                    <Field label="Country" name="location[country]" placeholder="GB" required=true error=field_error(loc_err, "country")/>
                    <SelectField label="Pricing region" name="location[region]" options=vec![("EMEA".into(), "EMEA".into()), ("NA".into(), "North America".into()), ("APAC".into(), "Asia-Pacific".into())] error=field_error(loc_err, "region")/>
                    <Field label="Latitude" name="location[latitude]" placeholder="51.5" required=true error=field_error(loc_err, "latitude")/>
                    <Field label="Longitude" name="location[longitude]" placeholder="-0.01" required=true error=field_error(loc_err, "longitude")/>
                    <div class="col-span-2"><button type="submit" class=BTN_SECONDARY>"Add location"</button></div>
                </ActionForm>
            </Card>
            <Card title="Add an endpoint">
                <FormError err=ep_err/>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || refs.get().map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(refs) => view! {
                            <ActionForm action=add_ep attr:class="grid grid-cols-2 gap-3">
                                <SelectField label="Provider" name="endpoint[provider_id]" options=refs.providers.clone() error=field_error(ep_err, "provider_id")/>
                                <SelectField label="Location" name="endpoint[location_id]" options=refs.locations.clone() error=field_error(ep_err, "location_id")/>
                                <SelectField label="Kind" name="endpoint[kind]" options=endpoint_kinds() error=field_error(ep_err, "kind")/>
                                <Field label="Name" name="endpoint[name]" placeholder="Equinix LD8 — 10G port" required=true error=field_error(ep_err, "name")/>
                                <Field label="Cloud region" name="endpoint[cloud_region]" placeholder="eu-west-2 (on-ramps only)" error=field_error(ep_err, "cloud_region")/>
                                <Field label="Bandwidths" name="endpoint[bandwidths]" placeholder="100, 500, 1G, 10G" required=true error=field_error(ep_err, "bandwidths")/>
                                <Field label="Capacity (Mbps)" name="endpoint[capacity_mbps]" kind="number" placeholder="10000" required=true error=field_error(ep_err, "capacity_mbps")/>
                                <div class="col-span-2"><button type="submit" class=BTN_SECONDARY>"Add endpoint"</button></div>
                            </ActionForm>
                        }.into_any(),
                    })}
                </Suspense>
            </Card>
        </div>
        <FormError err=err/>
        <PagedList
            resource=eps
            headers=vec!["Endpoint", "Location", "Kind", "Bandwidths", "Capacity (Mbps)", ""]
            row=move |e: EndpointRow| {
                let cap_id = format!("cap-{}", e.id);
                let act_id = format!("act-{}", e.id);
                view! {
                    <tr>
                        <td class=TD><span class="font-medium">{e.name.clone()}</span><span class="block text-xs text-slate-500 dark:text-slate-400">{e.provider.clone()}{e.cloud_region.clone().map(|r| format!(" · {r}"))}</span></td>
                        <td class=TD>{format!("{} · {}", e.metro, e.facility)}</td>
                        <td class=TD>{kind_label(&e.kind)}</td>
                        <td class=format!("{TD} text-xs")><span class="block max-w-xs truncate" title=e.bandwidths.join(", ")>{e.bandwidths.join(", ")}</span></td>
                        <td class=TD colspan="2">
                            <ActionForm action=set attr:class="flex items-center gap-2">
                                <input type="hidden" name="endpoint_id" value=e.id.clone()/>
                                <label for=cap_id.clone() class="sr-only">"Capacity in Mbps"</label>
                                <input id=cap_id name="capacity_mbps" type="number" min="0" value=e.capacity_mbps.to_string() class="w-28 rounded-md border-0 px-2 py-1 text-sm ring-1 ring-inset ring-slate-300 dark:bg-slate-950 dark:ring-slate-700"/>
                                <input id=act_id.clone() name="active" type="checkbox" checked=e.active class="h-4 w-4"/>
                                <label for=act_id class="text-sm">"Open"</label>
                                <button type="submit" class=BTN_SECONDARY>"Save"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }
            }
            empty_title="No endpoints yet"
            empty_body="Add a location, then an endpoint in it: customers can quote it once it is open."
            noun="endpoints"
        />
    }
}

#[component]
pub fn PricingPage() -> impl IntoView {
    let query = use_query_map();
    let selected = q(query, "book");
    let publish = ServerAction::<PublishPriceVersion>::new();
    let books = Resource::new(move || publish.version().get(), |_| list_price_books());
    let entries =
        Resource::new(
            selected,
            |id| async move { if id.is_empty() { None } else { Some(price_book_entries(id).await) } },
        );
    let err = action_error(publish);
    view! {
        <Title text="Price books"/>
        <PageHeader title="Price books" subtitle="Prices per region and currency, in effective-dated versions. Quotes keep the prices they were made with."/>
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
            <div class="space-y-6 xl:col-span-2">
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        books.get().map(|r| match r {
                            Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                            Ok(list) => view! {
                                <Table label="Price books" headers=vec!["Book", "Version", "Effective from", "State", "Prices", "Note"]>
                                    {list.into_iter().map(|b| view! {
                                        <tr>
                                            <td class=TD><a href=format!("/console/pricing?book={}", b.id) class="font-medium text-indigo-600 hover:underline dark:text-indigo-400">{format!("{} · {}", b.region, b.currency)}</a></td>
                                            <td class=TD>{format!("v{}", b.version)}</td>
                                            <td class=TD>{b.effective_from.clone()}</td>
                                            <td class=TD><Badge text=b.state.clone() tone=match b.state.as_str() { "in force" => "green", "scheduled" => "blue", _ => "gray" }/></td>
                                            <td class=format!("{TD} tabular-nums")>{b.entries}</td>
                                            <td class=format!("{TD} text-xs")>{b.note.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </Table>
                            }.into_any(),
                        })
                    }}
                </Suspense>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        entries.get().flatten().map(|r| match r {
                            Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                            Ok(rows) => view! {
                                <Table label="Prices" headers=vec!["Offering", "Bandwidth", "One-time", "Monthly", "Per GB"]>
                                    {rows.into_iter().map(|e| view! {
                                        <tr>
                                            <td class=TD>{e.offering.clone()}</td>
                                            <td class=TD>{e.bandwidth.clone()}</td>
                                            <td class=format!("{TD} tabular-nums")>{e.nrc.clone()}</td>
                                            <td class=format!("{TD} tabular-nums")>{e.mrc.clone()}</td>
                                            <td class=format!("{TD} tabular-nums")>{e.usage_per_gb.clone().unwrap_or_else(|| "—".into())}</td>
                                        </tr>
                                    }).collect_view()}
                                </Table>
                            }.into_any(),
                        })
                    }}
                </Suspense>
            </div>
            <Card title="Publish a new version">
                <FormError err=err/>
                <ActionForm action=publish attr:class="space-y-4">
                    <SelectField label="Region" name="region" options=vec![("EMEA".into(), "EMEA (EUR)".into()), ("NA".into(), "North America (USD)".into()), ("APAC".into(), "Asia-Pacific (USD)".into())] error=field_error(err, "region")/>
                    <Field label="Effective from" name="effective_from" kind="date" required=true error=field_error(err, "effective_from")/>
                    <Field label="Change (%)" name="adjust_percent" placeholder="4.5" required=true hint="Applied to every price of the latest version; negative lowers prices." error=field_error(err, "adjust_percent")/>
                    <Field label="Note" name="note" required=true placeholder="2027 list price increase" error=field_error(err, "note")/>
                    <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Publish version"</button>
                </ActionForm>
            </Card>
        </div>
    }
}
