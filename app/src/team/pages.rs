//! The team panel: members, roles, invitations.
use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::components::list::Pager;
use crate::components::ui::*;

fn role_options() -> Vec<(String, String)> {
    Role::ALL.into_iter().map(|r| (r.as_str().to_string(), r.label().to_string())).collect()
}

#[component]
pub fn PortalTeamPage() -> impl IntoView {
    // The tenant selected in the session (an empty id): the page needs no viewer to load.
    view! {
        <Title text="Team"/>
        <PageHeader title="Team" subtitle="People with access to this tenant and what they may do."/>
        <TeamPanel tenant_id=String::new()/>
    }
}

#[component]
/// A tenant's members, invitations and policy. Create it at page level (not inside another
/// Suspense's children): its resource must be created in the same order on the server and
/// in the browser, or hydration finds the page's markup out of step.
pub fn TeamPanel(#[prop(into)] tenant_id: Signal<String>) -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let role = ServerAction::<ChangeRole>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let signout = ServerAction::<ForceSignOut>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let policy = ServerAction::<crate::auth::mfa::SetMfaPolicy>::new();
    let query = leptos_router::hooks::use_query_map();
    let team = Resource::new(
        move || {
            (
                tenant_id.get(),
                query.with(|q| q.get("cursor")),
                invite.version().get(),
                role.version().get(),
                disable.version().get(),
                remove.version().get(),
                signout.version().get(),
                revoke.version().get(),
                policy.version().get(),
            )
        },
        |(id, cursor, ..)| list_team(id, cursor),
    );
    let invite_err = action_error(invite);
    let row_errors = Signal::derive(move || {
        [action_error(role), action_error(disable), action_error(remove), action_error(signout), action_error(revoke)]
            .into_iter()
            .find_map(|s| s.get())
    });
    let signed_out = move || signout.value().get().and_then(|r| r.ok()).map(|n| format!("Ended {n} session(s)."));

    view! {
        {move || {
            invite
                .value()
                .get()
                .and_then(|r| r.ok())
                .map(|r| {
                    view! {
                        <Alert tone="success">
                            <p class="font-medium">"Invitation created for " {r.email.clone()} "."</p>
                            <p class="mt-1">
                                {if r.emailed { "We e-mailed the link. " } else { "" }}
                                {r.email_error.clone().unwrap_or_default()}
                                " Link: "
                                <code class="break-all rounded bg-white/60 px-1 dark:bg-black/30">{r.link.clone()}</code>
                            </p>
                        </Alert>
                    }
                })
        }}
        {move || signed_out().map(|m| view! { <Alert tone="success">{m}</Alert> })}
        <FormError err=row_errors/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                team.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(t) => {
                            let can = t.can_manage;
                            let require_mfa = t.require_mfa;
                            let tenant_id = t.tenant_id.clone();
                            let tid_policy = tenant_id.clone();
                            let tid2 = tenant_id.clone();
                            let tid3 = tenant_id.clone();
                            let count = t.members.page_info.total;
                            let info = t.members.page_info.clone();
                            let shown = t.members.items.len();
                            view! {
                                <div class="space-y-6">
                                        <div>
                                            <h2 class="mb-3 text-sm font-semibold">
                                                {format!("Members ({count} of {} allowed)", t.max_users)}
                                            </h2>
                                            {if t.members.items.is_empty() && !info.after_cursor {
                                                view! { <EmptyState title="No members yet" body="Invite the first tenant admin; they can invite everyone else."/> }.into_any()
                                            } else {
                                                view! {
                                                    <Table label="Members" headers=vec!["Person", "Role", "Status", "Last sign-in", ""]>
                                                        {t.members
                                                            .items
                                                            .into_iter()
                                                            .map(|m| {
                                                                let tenant_id = tenant_id.clone();
                                                                view! { <MemberRowView m=m tenant_id=tenant_id can=can role=role disable=disable remove=remove signout=signout/> }
                                                            })
                                                            .collect_view()}
                                                    </Table>
                                                    <Pager total=info.total shown=shown next=info.next_cursor.clone() after_cursor=info.after_cursor noun="members"/>
                                                }
                                                    .into_any()
                                            }}
                                        </div>
                                    <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
                                        <div class="xl:col-span-2">
                                            <h2 class="mb-3 text-sm font-semibold">"Open invitations"</h2>
                                            {if t.invitations.is_empty() {
                                                view! { <EmptyState title="No open invitations" body="Invite someone with the form on this page; they get a link by e-mail."/> }.into_any()
                                            } else {
                                                view! {
                                                    <Table label="Open invitations" headers=vec!["E-mail", "Role", "Sent", "Expires", ""]>
                                                        {t.invitations
                                                            .into_iter()
                                                            .map(|i| {
                                                                let tid = tid2.clone();
                                                                view! {
                                                                    <tr>
                                                                        <td class=TD>{i.email.clone()}</td>
                                                                        <td class=TD>{i.role.label()}</td>
                                                                        <td class=TD>{i.created_at.clone()}</td>
                                                                        <td class=TD>
                                                                            {i.expires_at.clone()} " "
                                                                            {i.expired.then(|| view! { <Badge text="expired"/> })}
                                                                        </td>
                                                                        <td class=format!("{TD} text-right")>
                                                                            {can.then(|| view! {
                                                                                <ActionForm action=revoke>
                                                                                    <input type="hidden" name="tenant_id" value=tid/>
                                                                                    <input type="hidden" name="invitation_id" value=i.id.clone()/>
                                                                                    <button type="submit" class=BTN_SECONDARY>"Withdraw"</button>
                                                                                </ActionForm>
                                                                            })}
                                                                        </td>
                                                                    </tr>
                                                                }
                                                            })
                                                            .collect_view()}
                                                    </Table>
                                                }
                                                    .into_any()
                                            }}
                                        </div>
                                    <div>
                                        {if can {
                                            view! {
                                                <Card title="Invite someone">
                                                    <FormError err=invite_err/>
                                                    <ActionForm action=invite attr:class="space-y-4">
                                                        <input type="hidden" name="tenant_id" value=tid3.clone()/>
                                                        <Field label="Email" name="email" kind="email" placeholder="name@company.com" required=true error=field_error(invite_err, "email")/>
                                                        <SelectField label="Role" name="role" options=role_options() selected="member" error=field_error(invite_err, "role")/>
                                                        <ul class="space-y-1 text-xs text-slate-500 dark:text-slate-400">
                                                            {Role::ALL
                                                                .into_iter()
                                                                .map(|r| view! { <li><span class="font-medium">{r.label()}</span> ": " {r.description()}</li> })
                                                                .collect_view()}
                                                        </ul>
                                                        <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Send invitation"</button>
                                                    </ActionForm>
                                                </Card>
                                                <Card title="Sign-in policy" class="mt-6">
                                                    <ActionForm action=policy attr:class="space-y-3">
                                                        <input type="hidden" name="tenant_id" value=tid_policy.clone()/>
                                                        <label class="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-300">
                                                            <input type="checkbox" name="require_mfa" checked=require_mfa class="h-4 w-4"/>
                                                            "Require two-factor sign-in for local accounts"
                                                        </label>
                                                        <p class="text-xs text-slate-600 dark:text-slate-300">"Members who sign in with a password are asked to set it up at their next sign-in."</p>
                                                        <button type="submit" class=BTN_SECONDARY>"Save policy"</button>
                                                    </ActionForm>
                                                </Card>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <Card title="Read-only">
                                                    <p class="text-sm text-slate-600 dark:text-slate-400">"Only tenant admins change the team, and only while the tenant is active."</p>
                                                </Card>
                                            }
                                                .into_any()
                                        }}
                                    </div>
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
fn MemberRowView(
    m: MemberRow,
    tenant_id: String,
    can: bool,
    role: ServerAction<ChangeRole>,
    disable: ServerAction<SetUserDisabled>,
    remove: ServerAction<RemoveMember>,
    signout: ServerAction<ForceSignOut>,
) -> impl IntoView {
    let status = if m.disabled { "disabled" } else { "active" };
    let manage = can && !m.is_self;
    let (t1, t2, t3, t4) = (tenant_id.clone(), tenant_id.clone(), tenant_id.clone(), tenant_id);
    let (u1, u2, u3, u4) = (m.user_id.clone(), m.user_id.clone(), m.user_id.clone(), m.user_id.clone());
    let current_role = m.role.as_str().to_string();
    let select_id = format!("role-{}", m.user_id);
    view! {
        <tr>
            <td class=TD>
                <p class="font-medium text-slate-900 dark:text-white">{m.display_name.clone()} {m.is_self.then_some(" (you)")}</p>
                <p class="text-xs text-slate-500 dark:text-slate-400">{m.email.clone()}</p>
            </td>
            <td class=TD>
                {if manage {
                    view! {
                        <ActionForm action=role attr:class="flex items-center gap-2">
                            <input type="hidden" name="tenant_id" value=t1/>
                            <input type="hidden" name="user_id" value=u1/>
                            <label for=select_id.clone() class="sr-only">{format!("Role of {}", m.email)}</label>
                            <select id=select_id name="role" class="rounded-md border-0 py-1 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300 dark:bg-slate-950 dark:ring-slate-700">
                                {role_options()
                                    .into_iter()
                                    .map(|(v, l)| {
                                        let sel = v == current_role;
                                        view! { <option value=v selected=sel>{l}</option> }
                                    })
                                    .collect_view()}
                            </select>
                            <button type="submit" class=BTN_SECONDARY>"Save"</button>
                        </ActionForm>
                    }
                        .into_any()
                } else {
                    view! { <span>{m.role.label()}</span> }.into_any()
                }}
            </td>
            <td class=TD><Badge text=status/></td>
            <td class=TD>{m.last_login_at.clone().unwrap_or_else(|| "Never".into())}</td>
            <td class=format!("{TD} text-right")>
                {manage
                    .then(|| {
                        view! {
                            <div class="flex justify-end gap-2">
                                <ActionForm action=signout>
                                    <input type="hidden" name="tenant_id" value=t2/>
                                    <input type="hidden" name="user_id" value=u2/>
                                    <button type="submit" class=BTN_SECONDARY title="End all of this person's sessions">"End sessions"</button>
                                </ActionForm>
                                <ActionForm action=disable>
                                    <input type="hidden" name="tenant_id" value=t3/>
                                    <input type="hidden" name="user_id" value=u3/>
                                    <input type="hidden" name="disabled" value=(!m.disabled).to_string()/>
                                    <button type="submit" class=BTN_SECONDARY>{if m.disabled { "Enable" } else { "Disable" }}</button>
                                </ActionForm>
                                <ActionForm action=remove>
                                    <input type="hidden" name="tenant_id" value=t4/>
                                    <input type="hidden" name="user_id" value=u4/>
                                    <button type="submit" class=BTN_DANGER>"Remove"</button>
                                </ActionForm>
                            </div>
                        }
                    })}
            </td>
        </tr>
    }
}
