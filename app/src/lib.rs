//! Patchbay's Leptos app: the shell and the routes table.
#![recursion_limit = "256"]

pub mod api_keys;
pub mod api_reference;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod components;
pub mod core;
pub mod error;
pub mod home;
pub mod jobs;
pub mod machine;
pub mod mail;
pub mod orders;
pub mod provisioning;
pub mod sso;
pub mod team;
pub mod tenants;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod seed;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod workers;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// Applies the saved (or system) theme before first paint.
const THEME_BOOT: &str = "(function(){try{var t=localStorage.getItem('patchbay-theme');if(t==='dark'||(!t&&window.matchMedia('(prefers-color-scheme: dark)').matches)){document.documentElement.classList.add('dark')}}catch(e){}})();";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <script>{THEME_BOOT}</script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 antialiased dark:bg-slate-950">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/patchbay.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Patchbay".to_string() } else { format!("{t} · Patchbay") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=auth::pages::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/login/:slug") view=sso::pages::TenantLoginPage ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view=auth::pages::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/") view=auth::pages::RootRedirect ssr=SsrMode::Async/>
                <Route path=path!("/login/mfa") view=auth::mfa::pages::MfaLoginPage ssr=SsrMode::Async/>
                <Route path=path!("/login/mfa/setup") view=auth::mfa::pages::MfaSetupPage ssr=SsrMode::Async/>
                <Route path=path!("/unsubscribe/:token") view=mail::pages::UnsubscribePage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=components::layout::AppShell ssr=SsrMode::Async>
                    <Route path=path!("/portal") view=home::pages::PortalHome ssr=SsrMode::Async/>
                    <Route path=path!("/portal/team") view=team::pages::PortalTeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/audit") view=audit::pages::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/sso") view=sso::pages::SsoPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/api-keys") view=api_keys::pages::ApiKeysPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/api") view=api_reference::pages::ApiReferencePage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/webhooks") view=webhooks::pages::WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/webhooks/:id") view=webhooks::pages::WebhookPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/locations") view=catalog::pages::LocationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/quotes") view=catalog::pages::QuotesPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/quotes/new") view=catalog::pages::QuoteBuilderPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/quotes/:id") view=catalog::pages::QuoteDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/orders") view=orders::pages::OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/orders/:id") view=provisioning::pages::OrderDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/services") view=provisioning::pages::ServicesPage ssr=SsrMode::Async/>
                    <Route path=path!("/portal/services/:id") view=provisioning::pages::ServiceDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/jobs") view=provisioning::console::JobsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/interventions") view=provisioning::console::InterventionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/providers") view=provisioning::console::ProvidersPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/catalog") view=catalog::pages::CatalogAdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/pricing") view=catalog::pages::PricingPage ssr=SsrMode::Async/>
                    <Route path=path!("/console") view=home::pages::ConsoleHome ssr=SsrMode::Async/>
                    <Route path=path!("/console/tenants") view=tenants::pages::TenantsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/tenants/:id") view=tenants::pages::TenantDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/audit") view=audit::pages::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/studio") view=home::pages::StudioHome ssr=SsrMode::Async/>
                    <Route path=path!("/account/sessions") view=auth::pages::SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/security") view=auth::mfa::pages::SecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/step-up") view=auth::mfa::pages::StepUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/notifications") view=mail::pages::NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/mail") view=mail::pages::MailOutboxPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <div class="grid min-h-screen place-items-center bg-slate-50 px-6 dark:bg-slate-950">
            <div class="text-center">
                <p class="text-sm font-semibold text-indigo-600 dark:text-indigo-400">"404"</p>
                <h1 class="mt-2 text-3xl font-semibold tracking-tight text-slate-900 dark:text-white">"Page not found"</h1>
                <p class="mt-2 text-sm text-slate-500 dark:text-slate-400">"The page you asked for does not exist or has moved."</p>
                <a href="/" class="mt-6 inline-block text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400">"Go to your home page →"</a>
            </div>
        </div>
    }
}
