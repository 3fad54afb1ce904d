//! Console → Tenants: list, create, and one tenant's administration.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::list::PagedList;
use crate::components::ui::*;
use crate::team::pages::TeamPanel;

fn edition_options(eds: &[EditionRow]) -> Vec<(String, String)> {
    eds.iter().map(|e| (e.id.clone(), e.name.clone())).collect()
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.with(|m| m.get("q"));
    let status = move || query.with(|m| m.get("status"));
    let create = ServerAction::<CreateTenant>::new();
    let cursor = move || query.with(|m| m.get("cursor"));
    let tenants =
        Resource::new(move || (q(), status(), cursor(), create.version().get()), |(q, s, c, _)| list_tenants(q, s, c));
    let editions = Resource::new(|| (), |_| list_editions());
    let err = action_error(create);
    view! {
        <Title text="Tenants"/>
        <PageHeader title="Tenants" subtitle="Every customer organisation on the platform."/>
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
            <div class="xl:col-span-2">
                <form method="get" action="/console/tenants" class="mb-4 flex flex-wrap items-end gap-3">
                    <div class="min-w-48 flex-1">
                        <label for="q" class=LABEL>"Search"</label>
                        <input id="q" name="q" type="search" value=q placeholder="Name or slug" class=INPUT/>
                    </div>
                    <div>
                        <label for="status" class=LABEL>"Status"</label>
                        <select id="status" name="status" class=INPUT>
                            {[("", "Any"), ("active", "Active"), ("suspended", "Suspended"), ("deleted", "Deleted")]
                                .into_iter()
                                .map(|(v, l)| {
                                    let sel = status().unwrap_or_default() == v;
                                    view! { <option value=v selected=sel>{l}</option> }
                                })
                                .collect_view()}
                        </select>
                    </div>
                    <button type="submit" class=BTN_SECONDARY>"Filter"</button>
                </form>
                <PagedList
                    resource=tenants
                    headers=vec!["Tenant", "Edition", "Members", "Status", "Created"]
                    noun="tenants"
                    empty_title="No tenants match"
                    empty_body="Clear the filters, or create a tenant with the form."
                    row=|t: TenantRow| view! {
                        <tr class="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                            <td class=TD>
                                <a href=format!("/console/tenants/{}", t.id) class="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
                                    {t.name.clone()}
                                </a>
                                <p class="text-xs text-slate-500 dark:text-slate-400">{t.slug.clone()}</p>
                            </td>
                            <td class=TD>{t.edition.clone()}</td>
                            <td class=format!("{TD} tabular-nums")>{t.members}</td>
                            <td class=TD><Badge text=t.status.clone()/></td>
                            <td class=TD>{t.created_at.clone()}</td>
                        </tr>
                    }
                />
            </div>
            <Card title="Create a tenant">
                <FormError err=err/>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        editions
                            .get()
                            .map(|r| match r {
                                Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                                Ok(eds) => {
                                    let standard = eds.iter().find(|e| e.key == "standard").map(|e| e.id.clone());
                                    view! {
                                        <ActionForm action=create attr:class="space-y-4">
                                            <Field label="Name" name="name" required=true placeholder="Initech Ltd" error=field_error(err, "name")/>
                                            <Field label="Slug" name="slug" required=true placeholder="initech" hint="Lower-case letters, digits and hyphens; used in sign-in links." error=field_error(err, "slug")/>
                                            <SelectField label="Edition" name="edition_id" options=edition_options(&eds) selected=standard.unwrap_or_default() error=field_error(err, "edition_id")/>
                                            <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Create tenant"</button>
                                        </ActionForm>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </Card>
        </div>
    }
}

#[component]
pub fn TenantDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let suspend = ServerAction::<SuspendTenant>::new();
    let reactivate = ServerAction::<ReactivateTenant>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let edition = ServerAction::<ChangeEdition>::new();
    let tenant = Resource::new(
        move || {
            (id(), suspend.version().get(), reactivate.version().get(), delete.version().get(), edition.version().get())
        },
        |(id, ..)| get_tenant(id),
    );
    let editions = Resource::new(|| (), |_| list_editions());
    let (se, re, de, ee) =
        (action_error(suspend), action_error(reactivate), action_error(delete), action_error(edition));
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                tenant
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(t) => {
                            let tid = t.id.clone();
                            let (t1, t2, t3) = (tid.clone(), tid.clone(), tid.clone());
                            let current_edition = t.edition_id.clone();
                            let status = t.status.clone();
                            view! {
                                <Title text=t.name.clone()/>
                                <p class="mb-2 text-sm"><a href="/console/tenants" class=BTN_LINK>"← Tenants"</a></p>
                                <div class="mb-6 flex flex-wrap items-center gap-3">
                                    <h1 class="text-2xl font-semibold tracking-tight">{t.name.clone()}</h1>
                                    <Badge text=t.status.clone()/>
                                    <span class="text-sm text-slate-500 dark:text-slate-400">{format!("{} · {} edition · created {}", t.slug, t.edition, t.created_at)}</span>
                                </div>
                                {t.status_reason.clone().map(|r| view! { <Alert tone="warning">{format!("Status reason: {r}")}</Alert> })}
                                {t.purge_after.clone().map(|p| view! { <Alert tone="error">{format!("Deleted. All of its data is purged after {p} unless it is reactivated before then.")}</Alert> })}
                                <div class="mb-8 grid grid-cols-1 gap-6 lg:grid-cols-3">
                                    <Card title="Edition">
                                        <FormError err=ee/>
                                        <Suspense fallback=|| view! { <Loading/> }>
                                            {
                                                let t1 = t1.clone();
                                                let current_edition = current_edition.clone();
                                                move || {
                                                    let t1 = t1.clone();
                                                    let current_edition = current_edition.clone();
                                                    editions.get().map(|r| match r {
                                                        Ok(eds) => view! {
                                                            <ActionForm action=edition attr:class="space-y-3">
                                                                <input type="hidden" name="tenant_id" value=t1/>
                                                                <SelectField label="Edition" name="edition_id" options=edition_options(&eds) selected=current_edition error=field_error(ee, "edition_id")/>
                                                                <button type="submit" class=BTN_SECONDARY>"Change edition"</button>
                                                            </ActionForm>
                                                        }.into_any(),
                                                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                                                    })
                                                }
                                            }
                                        </Suspense>
                                    </Card>
                                    <Card title="Status">
                                        <FormError err=se/>
                                        <FormError err=re/>
                                        {if status == "active" {
                                            view! {
                                                <ActionForm action=suspend attr:class="space-y-3">
                                                    <input type="hidden" name="tenant_id" value=t2/>
                                                    <Field label="Reason for suspension" name="reason" required=true hint="Shown to the tenant's users." error=field_error(se, "reason")/>
                                                    <button type="submit" class=BTN_SECONDARY>"Suspend tenant"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=reactivate attr:class="space-y-3">
                                                    <input type="hidden" name="tenant_id" value=t2/>
                                                    <p class="text-sm text-slate-600 dark:text-slate-400">"Reactivating restores full access for the tenant's users."</p>
                                                    <button type="submit" class=BTN_PRIMARY>"Reactivate tenant"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }}
                                    </Card>
                                    <Card title="Delete">
                                        <FormError err=de/>
                                        {if t.status != "deleted" {
                                            view! {
                                                <ActionForm action=delete attr:class="space-y-3">
                                                    <input type="hidden" name="tenant_id" value=t3/>
                                                    <Field label="Type the slug to confirm" name="confirm_slug" required=true placeholder=t.slug.clone() hint="Users lose access at once; data is purged after 30 days." error=field_error(de, "confirm_slug")/>
                                                    <button type="submit" class=BTN_DANGER>"Delete tenant"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        } else {
                                            view! { <p class="text-sm text-slate-600 dark:text-slate-400">"Already deleted."</p> }.into_any()
                                        }}
                                    </Card>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
        <h2 class="mb-4 text-lg font-semibold">"Users & roles"</h2>
        <TeamPanel tenant_id=Signal::derive(id)/>
    }
}
