//! Portal → Security & SSO, and the tenant sign-in page `/login/<slug>`.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::*;
use crate::components::ui::*;

#[component]
pub fn SsoPage() -> impl IntoView {
    let save = ServerAction::<SaveSsoSettings>::new();
    let test = ServerAction::<TestSso>::new();
    let remove = ServerAction::<RemoveSso>::new();
    let settings = Resource::new(
        move || (save.version().get(), remove.version().get()),
        // The tenant selected in the session: this page names none, so it needs no viewer.
        |_| get_sso_settings(String::new()),
    );
    let err = action_error(save);
    let remove_err = action_error(remove);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Title text="Security & SSO"/>
        <PageHeader title="Security & single sign-on" subtitle="Let your people sign in with your own identity provider (Entra ID, Okta, Keycloak, Google Workspace…)."/>
        {move || saved().then(|| view! { <Alert tone="success">"Single sign-on settings saved."</Alert> })}
        <FormError err=err/>
        <FormError err=remove_err/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                settings
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(s) => {
                            let tid = s.tenant_id.clone();
                            let (tid2, tid3) = (tid.clone(), tid.clone());
                            let secret_hint = if s.has_secret {
                                "Saved and encrypted; it is never shown again. Leave empty to keep it."
                            } else {
                                "From your identity provider's application registration."
                            };
                            let role_options: Vec<(String, String)> = crate::auth::permissions::Role::ALL
                                .into_iter()
                                .map(|r| (r.as_str().to_string(), r.label().to_string()))
                                .collect();
                            let blocked = s.blocked.clone();
                                            view! {
                                {blocked.clone().map(|why| view! { <Alert tone="warning">{why}</Alert> })}
                                <div class="grid grid-cols-1 gap-6 xl:grid-cols-3">
                                    <div class="xl:col-span-2">
                                        <Card title="Identity provider">
                                            <ActionForm action=save attr:class="grid grid-cols-1 gap-4 md:grid-cols-2">
                                                <input type="hidden" name="tenant_id" value=tid/>
                                                <div class="md:col-span-2">
                                                    <Field label="Issuer URL" name="issuer" value=s.issuer.clone() placeholder="https://login.microsoftonline.com/<tenant>/v2.0" required=true error=field_error(err, "issuer")/>
                                                </div>
                                                <Field label="Client ID" name="client_id" value=s.client_id.clone() required=true error=field_error(err, "client_id")/>
                                                <Field label="Client secret" name="client_secret" kind="password" autocomplete="off" placeholder=if s.has_secret { "•••••••• (saved)" } else { "" } hint=secret_hint error=field_error(err, "client_secret")/>
                                                <Field label="Scopes" name="scopes" value=s.scopes.clone() hint="openid is always requested. Add the scope that carries your groups claim if needed." error=field_error(err, "scopes")/>
                                                <Field label="Allowed e-mail domains" name="domains" value=s.domains.clone() placeholder="acme.example, acme.co.uk" required=true hint="People with these e-mail domains are sent to this provider." error=field_error(err, "domains")/>
                                                <Field label="Role claim" name="role_claim" value=s.role_claim.clone() placeholder="groups" hint="The ID-token claim holding groups or roles." error=field_error(err, "role_claim")/>
                                                <Field label="Role mapping" name="role_map" value=s.role_map.clone() placeholder="noc-ops=operator, finance=billing_admin" hint="claim value=role, separated by commas." error=field_error(err, "role_map")/>
                                                <SelectField label="Default role" name="default_role" options=role_options selected=s.default_role.as_str().to_string() error=field_error(err, "default_role")/>
                                                <div class="flex items-start gap-3 md:col-span-2">
                                                    <input id="f-require_sso" name="require_sso" type="checkbox" checked=s.require_sso class="mt-1 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-600"/>
                                                    <label for="f-require_sso" class="text-sm">
                                                        <span class="font-medium">"Require single sign-on"</span>
                                                        <span class="block text-slate-500 dark:text-slate-400">"Members can no longer sign in with a password. Platform administrators keep password access as a break-glass."</span>
                                                    </label>
                                                </div>
                                                <div class="md:col-span-2">
                                                    <button type="submit" class=BTN_PRIMARY disabled=blocked.is_some()>"Save settings"</button>
                                                </div>
                                            </ActionForm>
                                        </Card>
                                    </div>
                                    <div class="space-y-6">
                                        <Card title="Register Patchbay at your provider">
                                            <p class="text-sm text-slate-600 dark:text-slate-400">"Redirect (callback) URI:"</p>
                                            <code data-testid="redirect-uri" class="mt-1 block break-all rounded bg-slate-100 px-2 py-1 text-xs dark:bg-slate-800">{s.redirect_uri.clone()}</code>
                                            <p class="mt-3 text-sm text-slate-600 dark:text-slate-400">"Use the authorization code flow with PKCE; Patchbay authenticates with the client secret (client_secret_basic)."</p>
                                        </Card>
                                        {s.configured
                                            .then(|| {
                                                view! {
                                                    <Card title="Check the configuration">
                                                        <ActionForm action=test>
                                                            <input type="hidden" name="tenant_id" value=tid2/>
                                                            <button type="submit" class=BTN_SECONDARY>"Test configuration"</button>
                                                        </ActionForm>
                                                        {move || {
                                                            test.value()
                                                                .get()
                                                                .map(|r| match r {
                                                                    Err(e) => view! { <div class="mt-3"><ErrorBox err=e/></div> }.into_any(),
                                                                    Ok(checks) => view! {
                                                                        <ul class="mt-4 space-y-2">
                                                                            {checks
                                                                                .into_iter()
                                                                                .map(|c| view! {
                                                                                    <li class="text-sm">
                                                                                        <Badge text=if c.ok { "ok" } else { "problem" } tone=if c.ok { "green" } else { "red" }/>
                                                                                        " " <span class="font-medium">{c.name}</span>
                                                                                        <span class="block text-slate-500 dark:text-slate-400">{c.detail}</span>
                                                                                    </li>
                                                                                })
                                                                                .collect_view()}
                                                                        </ul>
                                                                    }
                                                                        .into_any(),
                                                                })
                                                        }}
                                                        <p class="mt-4 text-xs text-slate-500 dark:text-slate-400">
                                                            {format!("Last changed {} by {}.", s.updated_at.clone().unwrap_or_default(), s.updated_by.clone().unwrap_or_default())}
                                                        </p>
                                                    </Card>
                                                    <Card title="Turn off single sign-on">
                                                        <ActionForm action=remove>
                                                            <input type="hidden" name="tenant_id" value=tid3/>
                                                            <p class="mb-3 text-sm text-slate-600 dark:text-slate-400">"Members sign in with passwords again (those who have one)."</p>
                                                            <button type="submit" class=BTN_DANGER>"Remove configuration"</button>
                                                        </ActionForm>
                                                    </Card>
                                                }
                                            })}
                                    </div>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
    .into_any()
}

/// `/login/<slug>`: a tenant's own sign-in link.
#[component]
pub fn TenantLoginPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug")).unwrap_or_default();
    let info = Resource::new(slug, tenant_login_info);
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                info.get()
                    .map(|r| match r {
                        Err(_) => view! {
                            <Title text="Unknown organisation"/>
                            <crate::auth::pages::AuthCard title="Sign in">
                                <Alert tone="error">"We do not know that organisation. Check the link, or sign in with your e-mail address."</Alert>
                                <a href="/login" class=BTN_LINK>"Go to sign-in"</a>
                            </crate::auth::pages::AuthCard>
                        }
                            .into_any(),
                        Ok(t) => {
                            let start = format!("/auth/oidc/start?tenant={}", crate::audit::urlencode(&t.slug));
                            view! {
                                <Title text=format!("Sign in to {}", t.name)/>
                                <crate::auth::pages::AuthCard title=format!("Sign in to {}", t.name) subtitle="Patchbay">
                                    {if t.sso {
                                        view! {
                                            // rel=external: a server route, not a page of the app (the router must not take it).
                                            <a href=start rel="external" class=format!("{BTN_PRIMARY} w-full")>"Continue with single sign-on"</a>
                                            {(!t.require_sso).then(|| view! {
                                                <p class="mt-4 text-center text-sm text-slate-500 dark:text-slate-400">
                                                    "Or " <a href="/login" class=BTN_LINK>"sign in with a password"</a>
                                                </p>
                                            })}
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <p class="text-sm text-slate-600 dark:text-slate-400">{format!("{} signs in with e-mail and password.", t.name)}</p>
                                            <a href="/login" class=format!("{BTN_PRIMARY} mt-4 w-full")>"Continue"</a>
                                        }
                                            .into_any()
                                    }}
                                </crate::auth::pages::AuthCard>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
