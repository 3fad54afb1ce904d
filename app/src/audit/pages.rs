//! Audit explorer: filters, cursor pagination, export.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use super::*;
use crate::components::ui::*;

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> String {
    let skip = s.chars().count().saturating_sub(n);
    s.chars().skip(skip).collect()
}

#[component]
pub fn AuditTable(rows: Vec<AuditRow>, show_tenant: bool) -> impl IntoView {
    let mut headers = vec!["Time (UTC)", "Actor", "Action", "Resource", "Outcome"];
    if show_tenant {
        headers.insert(1, "Scope");
    }
    view! {
        <Table label="Audit events" headers=headers>
            {rows
                .into_iter()
                .map(|r| {
                    let details = (r.details != "{}").then(|| r.details.clone());
                    view! {
                        <tr>
                            <td class=format!("{TD} font-mono text-xs")>{r.at.replace('T', " ").chars().take(19).collect::<String>()}</td>
                            {show_tenant.then(|| view! { <td class=format!("{TD} text-xs")>{r.tenant_label.clone().unwrap_or_else(|| "platform".into())}</td> })}
                            <td class=TD>
                                <span class="block">{r.actor_label.clone()}</span>
                                <span class="text-xs text-slate-500 dark:text-slate-400">{r.actor_type.clone()}</span>
                            </td>
                            <td class=TD>
                                <code class="text-xs">{r.action.clone()}</code>
                                {details.map(|d| view! { <span class="block max-w-md truncate font-mono text-xs text-slate-500 dark:text-slate-400" title=d.clone()>{d.clone()}</span> })}
                            </td>
                            <td class=format!("{TD} text-xs") title=r.resource_id.clone()>
                                {r.resource_type.clone()}
                                // UUIDv7 ids share their leading (time) digits: the tail tells them apart.
                                {r.resource_id.as_deref().map(|id| format!(" …{}", tail(id, 8)))}
                            </td>
                            <td class=TD><Badge text=r.outcome.clone()/></td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    // The console's explorer (platform staff only) can widen the scope to any tenant.
    let platform = location.pathname.get_untracked().starts_with("/console");
    let filter = Memo::new(move |_| {
        query.with(|q| AuditFilter {
            tenant: q.get("tenant"),
            actor: q.get("actor"),
            action: q.get("action"),
            resource: q.get("resource"),
            from: q.get("from"),
            to: q.get("to"),
            before: q.get("before").and_then(|b| b.parse().ok()),
        })
    });
    let page = Resource::new(
        move || filter.get(),
        |f| list_audit(f.tenant, f.actor, f.action, f.resource, f.from, f.to, f.before),
    );
    let f = move || filter.get();
    let val = move |get: fn(&AuditFilter) -> Option<String>| move || get(&f()).unwrap_or_default();
    view! {
        <Title text="Audit log"/>
        <PageHeader title="Audit log" subtitle="Every change, who made it and when. Events are hash-chained: tampering is detectable."/>
        <form method="get" action=move || location.pathname.get() class="mb-4 grid grid-cols-2 gap-3 rounded-xl border border-slate-200 bg-white p-4 shadow-sm md:grid-cols-3 xl:grid-cols-6 dark:border-slate-800 dark:bg-slate-900">
            {platform.then(|| view! {
                <div>
                    <label for="a-tenant" class=LABEL>"Scope"</label>
                    <input id="a-tenant" name="tenant" value=val(|f| f.tenant.clone()) placeholder="tenant id or platform" class=INPUT/>
                </div>
            })}
            <div>
                <label for="a-actor" class=LABEL>"Actor"</label>
                <input id="a-actor" name="actor" value=val(|f| f.actor.clone()) placeholder="e-mail contains" class=INPUT/>
            </div>
            <div>
                <label for="a-action" class=LABEL>"Action"</label>
                <input id="a-action" name="action" value=val(|f| f.action.clone()) placeholder="e.g. user." class=INPUT/>
            </div>
            <div>
                <label for="a-resource" class=LABEL>"Resource type"</label>
                <input id="a-resource" name="resource" value=val(|f| f.resource.clone()) placeholder="e.g. tenant" class=INPUT/>
            </div>
            <div>
                <label for="a-from" class=LABEL>"From"</label>
                <input id="a-from" name="from" type="date" value=val(|f| f.from.clone()) class=INPUT/>
            </div>
            <div>
                <label for="a-to" class=LABEL>"To"</label>
                <input id="a-to" name="to" type="date" value=val(|f| f.to.clone()) class=INPUT/>
            </div>
            <div class="flex items-end gap-2">
                <button type="submit" class=BTN_PRIMARY>"Apply"</button>
                <a href=move || location.pathname.get() class=BTN_SECONDARY>"Reset"</a>
            </div>
        </form>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                page.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(p) => {
                            let qs = f().to_query();
                            let path = location.pathname.get_untracked();
                            let next = p.next_cursor.map(|c| {
                                if qs.is_empty() { format!("{path}?before={c}") } else { format!("{path}?{qs}&before={c}") }
                            });
                            let export = (p.can_export && f().before.is_none())
                                .then_some(p.upto)
                                .flatten()
                                .map(|upto| {
                                    let sep = if qs.is_empty() { String::new() } else { format!("{qs}&") };
                                    (format!("/exports/audit.jsonl?{sep}upto={upto}"), format!("/exports/audit.manifest.json?{sep}upto={upto}"))
                                });
                            if p.rows.is_empty() {
                                view! { <EmptyState title="No events match" body="Widen the time window or clear a filter."/> }.into_any()
                            } else {
                                view! {
                                    <AuditTable rows=p.rows show_tenant=p.platform_view/>
                                    <div class="mt-4 flex flex-wrap items-center justify-between gap-3">
                                        <div class="flex flex-wrap items-center gap-3">
                                            {p.export_blocked.clone().filter(|_| p.can_export).map(|why| view! {
                                                <button type="button" disabled class=format!("{BTN_SECONDARY} cursor-not-allowed opacity-60")>"Export JSON lines"</button>
                                                <p class="max-w-xl text-sm text-slate-600 dark:text-slate-300">{why}</p>
                                            })}
                                            {export.filter(|_| p.export_blocked.is_none()).map(|(jsonl, manifest)| view! {
                                                <a href=jsonl rel="external" class=BTN_SECONDARY download="audit.jsonl">"Export JSON lines"</a>
                                                <a href=manifest rel="external" class=BTN_SECONDARY download="audit.manifest.json">"SHA-256 manifest"</a>
                                            })}
                                        </div>
                                        {next.map(|n| view! { <a href=n class=BTN_SECONDARY>"Older events →"</a> })}
                                    </div>
                                }
                                    .into_any()
                            }
                        }
                    })
            }}
        </Suspense>
    }
}
