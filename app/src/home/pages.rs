//! Portal, Console and Studio home pages.
use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::audit::pages::AuditTable;
use crate::components::ui::*;

#[component]
pub fn PortalHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| portal_overview());
    view! {
        <Title text="Overview"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                data.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(o) => {
                            let has_recent = !o.recent.is_empty();
                            view! {
                                <PageHeader title=o.tenant_name.clone() subtitle=format!("{} edition", o.edition)/>
                                <StatGrid>
                                    <Stat label="Team members" value=o.members.to_string() hint=format!("of {} allowed by the edition", o.max_users)/>
                                    <Stat label="Open invitations" value=o.open_invitations.to_string()/>
                                    <Stat label="Signed-in sessions" value=o.active_sessions.to_string()/>
                                    <Stat label="Audit events (7 days)" value=o.audit_events_7d.to_string()/>
                                </StatGrid>
                                <div class="mt-6 grid grid-cols-1 gap-6 xl:grid-cols-3">
                                    <Card title="Roles in this tenant">
                                        <ul class="space-y-2">
                                            {o.roles
                                                .iter()
                                                .map(|rc| {
                                                    view! {
                                                        <li class="flex items-center justify-between text-sm">
                                                            <span>{rc.role.label()}</span>
                                                            <span class="tabular-nums font-medium">{rc.count}</span>
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    </Card>
                                    <div class="xl:col-span-2">
                                        {if has_recent {
                                            view! {
                                                <h2 class="mb-3 text-sm font-semibold">"Recent activity"</h2>
                                                <AuditTable rows=o.recent.clone() show_tenant=false/>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <Card title="Getting started">
                                                    <p class="text-sm text-slate-600 dark:text-slate-400">
                                                        "Your tenant is ready. Tenant admins invite colleagues from the Team page; each person gets the role that fits their job."
                                                    </p>
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
pub fn ConsoleHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| console_overview());
    view! {
        <Title text="Console"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                data.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(o) => {
                            let count = |s: &str| o.tenants.iter().find(|t| t.status == s).map(|t| t.count).unwrap_or(0);
                            let subtitle = match &o.scoped_to {
                                None => "The platform at a glance.".to_string(),
                                Some(t) => format!("{t} at a glance (your tenant only)."),
                            };
                            let first = match &o.scoped_to {
                                None => view! {
                                    <Stat label="Active tenants" value=count("active").to_string() hint=format!("{} suspended, {} awaiting purge", count("suspended"), count("deleted"))/>
                                }.into_any(),
                                Some(_) => {
                                    let status = o
                                        .tenants
                                        .first()
                                        .map(|t| {
                                            let mut c = t.status.chars();
                                            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
                                        })
                                        .unwrap_or_default();
                                    view! { <Stat label="Tenant status" value=status/> }.into_any()
                                }
                            };
                            let has_editions = !o.editions.is_empty();
                            let has_recent = !o.recent.is_empty();
                            view! {
                                <PageHeader title="Console" subtitle=subtitle/>
                                <StatGrid>
                                    {first}
                                    <Stat label="Users" value=o.users.to_string() hint=format!("{} disabled", o.disabled_users)/>
                                    <Stat label="Signed-in sessions" value=o.active_sessions.to_string()/>
                                    <Stat label="Failed sign-ins (24 h)" value=o.failed_sign_ins_24h.to_string() hint=format!("{} audit events in 24 h", o.audit_events_24h)/>
                                </StatGrid>
                                <div class="mt-6 grid grid-cols-1 gap-6 xl:grid-cols-3">
                                    {has_editions.then(|| view! {
                                        <Card title="Tenants by edition">
                                            <ul class="space-y-2">
                                                {o.editions
                                                    .iter()
                                                    .map(|(name, n)| {
                                                        view! {
                                                            <li class="flex items-center justify-between text-sm">
                                                                <span>{name.clone()}</span>
                                                                <span class="tabular-nums font-medium">{*n}</span>
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        </Card>
                                    })}
                                    {has_recent.then(|| view! {
                                        <div class="xl:col-span-2">
                                            <h2 class="mb-3 text-sm font-semibold">"Recent platform activity"</h2>
                                            <AuditTable rows=o.recent.clone() show_tenant=false/>
                                        </div>
                                    })}
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
pub fn StudioHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| studio_overview());
    view! {
        <Title text="Config Studio"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                data.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(o) => {
                            let enough = o.approvers >= 2;
                            view! {
                                <PageHeader title="Config Studio" subtitle=format!("Application configuration for {}", o.tenant_name)/>
                                <StatGrid>
                                    <Stat label="Possible approvers" value=o.approvers.to_string() hint="Tenant admins; an author never approves their own change."/>
                                    <Stat label="Team members" value=o.members.to_string()/>
                                </StatGrid>
                                <div class="mt-6">
                                    {if enough {
                                        view! {
                                            <Alert tone="success">"Separation of duties is possible: at least two people can approve changes."</Alert>
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <Alert tone="warning">
                                                "Only one tenant admin can approve changes, and nobody may approve their own. Invite a second tenant admin before relying on approvals."
                                            </Alert>
                                        }
                                            .into_any()
                                    }}
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
