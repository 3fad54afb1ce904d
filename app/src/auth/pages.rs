//! Sign-in, invitation acceptance, the root redirect and "my sessions".
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::ui::*;

/// The centred card used by the signed-out pages.
#[component]
pub fn AuthCard(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="flex min-h-screen flex-col items-center justify-center bg-slate-50 px-4 py-12 dark:bg-slate-950">
            <a href="/" class="mb-8 flex items-center gap-2 text-lg font-semibold tracking-tight text-slate-900 dark:text-white">
                <span class="grid h-8 w-8 place-items-center rounded-md bg-indigo-600 text-xs font-bold text-white">"PB"</span>
                "Patchbay"
            </a>
            <div class="w-full max-w-sm rounded-2xl border border-slate-200 bg-white p-8 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                <h1 class="text-xl font-semibold text-slate-900 dark:text-white">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{s}</p> })}
                <div class="mt-6">{children()}</div>
            </div>
            <p class="mt-6 text-xs text-slate-500 dark:text-slate-400">"Private interconnection, ordered and run in one place."</p>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let err = action_error(action);
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    // Only a code travels in the URL; the message is ours (never text from the query).
    let sso_error = move || query.with(|q| q.get("sso_error")).map(|code| crate::sso::errors::login_message(&code));
    let platform_sso = Resource::new(|| (), |_| crate::sso::platform_sso_available());
    view! {
        <Title text="Sign in"/>
        <AuthCard title="Sign in to Patchbay" subtitle="Use your work e-mail address.">
            {move || sso_error().map(|m| view! { <Alert tone="error">{m}</Alert> })}
            <FormError err=err/>
            // A plain form: signing in reloads the whole app with the new session.
            <form method="post" action="/api/login" class="space-y-4">
                <input type="hidden" name="next" value=next/>
                <Field label="Email" name="email" kind="email" autocomplete="username" required=true error=field_error(err, "email")/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" hint="Leave empty if your organisation uses single sign-on." error=field_error(err, "password")/>
                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Sign in"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || {
                    platform_sso
                        .get()
                        .and_then(|r| r.ok())
                        .filter(|on| *on)
                        .map(|_| view! {
                            <p class="mt-6 border-t border-slate-200 pt-4 text-center text-sm dark:border-slate-800">
                                <a href="/auth/oidc/start?platform=1" rel="external" class=BTN_LINK>"Platform staff: sign in with the company identity provider"</a>
                            </p>
                        })
                }}
            </Suspense>
        </AuthCard>
    }
}

/// `/`: send the viewer to their home face, or to sign-in.
#[component]
pub fn RootRedirect() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                viewer
                    .get()
                    .map(|v| {
                        let path = match v {
                            Ok(Some(v)) => {
                                if v.tenant.is_none() || v.role() == Some(permissions::Role::Operator) {
                                    "/console"
                                } else {
                                    "/portal"
                                }
                            }
                            _ => "/login",
                        };
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect(path);
                        view! { <Redirect path=path/> }
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token")).unwrap_or_default();
    let info = Resource::new(token, invitation_info);
    let action = ServerAction::<AcceptInvitation>::new();
    let err = action_error(action);
    view! {
        <Title text="Accept invitation"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                info.get()
                    .map(|r| match r {
                        Err(e) => {
                            view! {
                                <AuthCard title="Invitation">
                                    <ErrorBox err=e/>
                                    <a href="/login" class=BTN_LINK>"Go to sign-in"</a>
                                </AuthCard>
                            }
                                .into_any()
                        }
                        Ok(i) => {
                            let subtitle = format!("{} invited {} as {}.", i.tenant_name, i.email, i.role.label());
                            view! {
                                <AuthCard title=format!("Join {}", i.tenant_name) subtitle=subtitle>
                                    <FormError err=err/>
                                    <form method="post" action="/api/accept_invitation" class="space-y-4">
                                        <input type="hidden" name="token" value=token()/>
                                        {if i.existing_account {
                                            view! {
                                                <input type="hidden" name="display_name" value=""/>
                                                <input type="hidden" name="password_confirm" value=""/>
                                                <p class="text-sm text-slate-600 dark:text-slate-400">
                                                    "You already have a Patchbay account. Confirm it with your password."
                                                </p>
                                                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true error=field_error(err, "password")/>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <Field label="Your name" name="display_name" autocomplete="name" required=true error=field_error(err, "display_name")/>
                                                <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true hint="At least 12 characters." error=field_error(err, "password")/>
                                                <Field label="Confirm password" name="password_confirm" kind="password" autocomplete="new-password" required=true error=field_error(err, "password_confirm")/>
                                            }
                                                .into_any()
                                        }}
                                        <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Accept invitation"</button>
                                    </form>
                                </AuthCard>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let sessions = Resource::new(move || revoke.version().get(), |_| my_sessions());
    let err = action_error(revoke);
    view! {
        <Title text="My sessions"/>
        <PageHeader title="My sessions" subtitle="Everywhere you are signed in. End any session you do not recognise."/>
        <FormError err=err/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                sessions
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(list) => {
                            view! {
                                <Table label="Your sessions" headers=vec!["Device", "Address", "Signed in", "Last active", "Expires", ""]>
                                    {list
                                        .into_iter()
                                        .map(|s| {
                                            view! {
                                                <tr>
                                                    <td class=TD>
                                                        <span class="block max-w-xs truncate" title=s.user_agent.clone()>
                                                            {s.user_agent.clone().unwrap_or_else(|| "Unknown browser".into())}
                                                        </span>
                                                        {s.current.then(|| view! { <Badge text="This session" tone="blue"/> })}
                                                    </td>
                                                    <td class=TD>{s.ip.clone().unwrap_or_default()}</td>
                                                    <td class=TD>{s.created_at.clone()}</td>
                                                    <td class=TD>{s.last_seen_at.clone()}</td>
                                                    <td class=TD>{s.expires_at.clone()}</td>
                                                    <td class=format!("{TD} text-right")>
                                                        {(!s.current)
                                                            .then(|| {
                                                                view! {
                                                                    <ActionForm action=revoke>
                                                                        <input type="hidden" name="session_id" value=s.id.clone()/>
                                                                        <button type="submit" class=BTN_SECONDARY>"End session"</button>
                                                                    </ActionForm>
                                                                }
                                                            })}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </Table>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
