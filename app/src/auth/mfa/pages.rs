//! The second sign-in step, forced enrolment, Account → Security and step-up pages.
//! Plain forms: they work before hydration.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::*;
use crate::auth::pages::AuthCard;
use crate::components::ui::*;

/// Shows the secret and URI to put into an authenticator app.
#[component]
fn SecretBox(info: SetupInfo) -> impl IntoView {
    view! {
        <div class="space-y-2 text-sm">
            <p class="text-slate-700 dark:text-slate-300">
                "Add this account to an authenticator app (any RFC 6238 / TOTP app) with the secret below, or open the link on a device that has one."
            </p>
            <p>
                <span class="block text-xs font-medium text-slate-600 dark:text-slate-300">"Secret"</span>
                <code class="break-all font-mono text-base text-slate-900 dark:text-white" data-testid="totp-secret">{info.secret.clone()}</code>
            </p>
            <p>
                <span class="block text-xs font-medium text-slate-600 dark:text-slate-300">"Setup link"</span>
                <a href=info.otpauth_uri.clone() rel="external" class="break-all text-xs text-indigo-700 underline dark:text-indigo-300">{info.otpauth_uri.clone()}</a>
            </p>
        </div>
    }
}

/// `/login/mfa`: the code after the password.
#[component]
pub fn MfaLoginPage() -> impl IntoView {
    let action = ServerAction::<LoginMfa>::new();
    let err = action_error(action);
    view! {
        <Title text="Two-factor sign-in"/>
        <AuthCard title="Enter your code" subtitle="Open your authenticator app and enter the six-digit code for Patchbay.">
            <FormError err=err/>
            <form method="post" action="/api/login/mfa" class="space-y-4">
                <Field label="Code" name="code" autocomplete="one-time-code" required=true hint="Lost your device? Enter one of your recovery codes instead." error=field_error(err, "code")/>
                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Verify"</button>
            </form>
            <p class="mt-4 text-center text-sm"><a href="/login" class=BTN_LINK>"Start again"</a></p>
        </AuthCard>
    }
}

/// `/login/mfa/setup`: enrolment required before the sign-in can finish.
#[component]
pub fn MfaSetupPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| pending_setup());
    let action = ServerAction::<ConfirmMfa>::new();
    let err = action_error(action);
    view! {
        <Title text="Set up two-factor sign-in"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                info.get()
                    .map(|r| match r {
                        Err(e) => {
                            view! {
                                <AuthCard title="Set up two-factor sign-in">
                                    <ErrorBox err=e/>
                                    <a href="/login" class=BTN_LINK>"Go to sign-in"</a>
                                </AuthCard>
                            }
                                .into_any()
                        }
                        Ok(i) => {
                            view! {
                                <AuthCard title="Set up two-factor sign-in" subtitle=format!("{} must use a second factor to sign in.", i.email)>
                                    <SecretBox info=i.clone()/>
                                    <FormError err=err/>
                                    <form method="post" action="/api/mfa/confirm" class="mt-4 space-y-4">
                                        <Field label="Code from the app" name="code" autocomplete="one-time-code" required=true error=field_error(err, "code")/>
                                        <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Turn on and continue"</button>
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

/// `/account/security`: turn the second factor on or off; recovery codes.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let confirm = ServerAction::<ConfirmMfa>::new();
    let disable = ServerAction::<DisableMfa>::new();
    let view_ = Resource::new(move || (confirm.version().get(), disable.version().get()), |_| security_overview());
    let (ce, de) = (action_error(confirm), action_error(disable));
    view! {
        <Title text="Security"/>
        <PageHeader title="Security" subtitle="Two-factor sign-in protects your account if your password leaks."/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                view_
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(v) => {
                            let codes = v.new_codes.clone().map(|codes| {
                                view! {
                                    <Card title="Your recovery codes">
                                        <Alert tone="warning">"Save these now: they are shown only once. Each one signs you in once if you lose your device."</Alert>
                                        <ul class="grid grid-cols-2 gap-2 font-mono text-sm text-slate-900 dark:text-white" data-testid="recovery-codes">
                                            {codes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                                        </ul>
                                        <p class="mt-4"><a href="/" class=BTN_PRIMARY>"Continue to Patchbay"</a></p>
                                    </Card>
                                }
                            });
                            let body = if v.enrolled {
                                view! {
                                    <Card title="Two-factor sign-in is on">
                                        <p class="text-sm text-slate-700 dark:text-slate-300">
                                            {format!("Signing in asks for a code from your authenticator app. {} recovery codes left.", v.recovery_codes_left)}
                                        </p>
                                        {if v.required {
                                            view! { <p class="mt-3 text-sm text-slate-700 dark:text-slate-300">"It is required for your account and cannot be turned off."</p> }.into_any()
                                        } else {
                                            view! {
                                                <FormError err=de/>
                                                <ActionForm action=disable attr:class="mt-4 space-y-3 max-w-sm">
                                                    <Field label="Password" name="password" kind="password" autocomplete="current-password" error=field_error(de, "password")/>
                                                    <Field label="Code" name="code" autocomplete="one-time-code" required=true error=field_error(de, "code")/>
                                                    <button type="submit" class=BTN_DANGER>"Turn off two-factor sign-in"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }}
                                    </Card>
                                }
                                    .into_any()
                            } else {
                                let info = v.setup.clone();
                                view! {
                                    <Card title="Turn on two-factor sign-in">
                                        {v.required.then(|| view! { <Alert tone="warning">"Two-factor sign-in is required for your account."</Alert> })}
                                        {info.map(|i| view! { <SecretBox info=i/> })}
                                        <FormError err=ce/>
                                        <ActionForm action=confirm attr:class="mt-4 space-y-3 max-w-sm">
                                            <Field label="Code from the app" name="code" autocomplete="one-time-code" required=true error=field_error(ce, "code")/>
                                            <button type="submit" class=BTN_PRIMARY>"Turn on"</button>
                                        </ActionForm>
                                    </Card>
                                }
                                    .into_any()
                            };
                            view! { <div class="space-y-6">{codes}{body}</div> }.into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// `/account/step-up?next=…`: confirm a second factor now, then return.
#[component]
pub fn StepUpPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let action = ServerAction::<MfaStepUp>::new();
    let err = action_error(action);
    view! {
        <Title text="Confirm it is you"/>
        <PageHeader title="Confirm it is you" subtitle="This action needs a fresh code from your authenticator app."/>
        <Card>
            <FormError err=err/>
            <ActionForm action=action attr:class="max-w-sm space-y-3">
                <input type="hidden" name="next" value=next/>
                <Field label="Code" name="code" autocomplete="one-time-code" required=true error=field_error(err, "code")/>
                <button type="submit" class=BTN_PRIMARY>"Confirm"</button>
            </ActionForm>
        </Card>
    }
}
