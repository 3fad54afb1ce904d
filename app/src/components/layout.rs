//! The signed-in page frame: header (faces, tenant switcher, theme, user menu),
//! the face's navigation, and the page.
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::auth::permissions::Perm;
use crate::auth::{Viewer, get_viewer, take_flash};
use crate::components::ui::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Face {
    Portal,
    Console,
    Studio,
    Account,
}

impl Face {
    pub fn of(path: &str) -> Face {
        if path.starts_with("/console") {
            Face::Console
        } else if path.starts_with("/studio") {
            Face::Studio
        } else if path.starts_with("/account") {
            Face::Account
        } else {
            Face::Portal
        }
    }
}

/// The navigation of a face, filtered by what the viewer may open.
pub fn nav_items(face: Face, v: &Viewer) -> Vec<(&'static str, &'static str)> {
    let mut items = Vec::new();
    match face {
        Face::Portal => {
            items.push(("Overview", "/portal"));
            items.push(("Locations", "/portal/locations"));
            items.push(("Quotes", "/portal/quotes"));
            items.push(("Orders", "/portal/orders"));
            items.push(("Services", "/portal/services"));
            if v.can(Perm::TeamView) {
                items.push(("Team", "/portal/team"));
            }
            if v.can(Perm::AuditView) {
                items.push(("Audit log", "/portal/audit"));
            }
            if v.can(Perm::SsoManage) && v.tenant.is_some() {
                items.push(("Security & SSO", "/portal/sso"));
            }
            if v.can(Perm::IntegrationsView) && v.tenant.is_some() {
                items.push(("API keys", "/portal/api-keys"));
                items.push(("Webhooks", "/portal/webhooks"));
            }
            if v.tenant.is_some() {
                items.push(("API reference", "/portal/api"));
            }
        }
        Face::Console => {
            items.push(("Overview", "/console"));
            if v.can(Perm::JobsManage) {
                items.push(("Manual intervention", "/console/interventions"));
                items.push(("Jobs", "/console/jobs"));
            }
            if v.can(Perm::CatalogManage) {
                items.push(("Providers", "/console/providers"));
            }
            if v.can(Perm::TenantsManage) {
                items.push(("Tenants", "/console/tenants"));
                items.push(("Catalog", "/console/catalog"));
                items.push(("Price books", "/console/pricing"));
                items.push(("Audit log", "/console/audit"));
            }
            if v.can(Perm::MailOutboxView) {
                items.push(("Mail", "/console/mail"));
            }
        }
        Face::Studio => items.push(("Overview", "/studio")),
        Face::Account => {
            items.push(("My sessions", "/account/sessions"));
            items.push(("Security", "/account/security"));
            items.push(("Notifications", "/account/notifications"));
        }
    }
    items
}

/// Faces the viewer may open, with their home paths.
pub fn faces(v: &Viewer) -> Vec<(&'static str, &'static str, Face)> {
    let mut f = Vec::new();
    if v.tenant.is_some() && v.can(Perm::PortalView) {
        f.push(("Portal", "/portal", Face::Portal));
    }
    if v.can(Perm::ConsoleView) {
        f.push(("Console", "/console", Face::Console));
    }
    if v.tenant.is_some() && v.can(Perm::StudioView) {
        f.push(("Studio", "/studio", Face::Studio));
    }
    f
}

/// Signed-in area: loads the viewer, redirects to sign-in when there is none.
///
/// One `<Suspense/>` reads the viewer (header, navigation, the suspended-tenant banner),
/// and the page (`<Outlet/>`) is outside it; a CSS grid puts the two side by side:
/// - A Suspense re-runs its children while it waits (once per resource that registers),
///   so a page made inside the viewer's Suspense was built twice on the server, with
///   every resource it creates fetched twice (measured: 31 statements for `/portal/orders`
///   inside, 15 outside).
/// - One resource read under two Suspense boundaries makes a small share of SSR responses
///   stall forever (leptos-rs/leptos#4851: about 1 in 3,000 page views here, measured with
///   8 concurrent clients). So pages never read the viewer: what a page may offer comes
///   in its own data (`can_order`, `can_edit`, …), decided by the server function.
#[component]
pub fn AppShell() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    // Created once per page load: a message left by a plain (no-JavaScript) form post.
    let flash = Resource::new(|| (), |_| take_flash());
    let pathname = use_location().pathname;
    let face = Memo::new(move |_| Face::of(&pathname.get()));
    let signed_in = move || viewer.get().and_then(|r| r.ok()).flatten();
    view! {
        <div class="grid min-h-screen grid-cols-1 grid-rows-[auto_auto_auto_1fr] bg-slate-50 text-slate-900 md:grid-cols-[14rem_minmax(0,1fr)] dark:bg-slate-950 dark:text-slate-100">
            <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-sm">
                "Skip to content"
            </a>
            <Suspense fallback=|| view! { <header class="col-span-full row-start-1 h-14 border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"></header> }>
                {move || {
                    viewer
                        .get()
                        .map(|res| match res {
                            Ok(Some(v)) => view! { <Header viewer=v face=face/> }.into_any(),
                            Ok(None) | Err(crate::error::AppError::Unauthorized) => {
                                let next = pathname.get_untracked();
                                let path = format!("/login?next={}", crate::audit::urlencode(&next));
                                // Without JavaScript the server answers with the redirect itself.
                                #[cfg(feature = "ssr")]
                                leptos_axum::redirect(&path);
                                view! { <Redirect path=path/> }.into_any()
                            }
                            Err(e) => view! { <div class="col-span-full p-8"><ErrorBox err=e/></div> }.into_any(),
                        })
                }}
                {move || {
                    signed_in()
                        .filter(|v| v.read_only())
                        .and_then(|v| v.tenant)
                        .map(|t| {
                            view! {
                                <div class="col-span-full row-start-3 px-4 pt-6 sm:px-8">
                                    <Alert tone="warning">
                                        <strong>{t.name.clone()} " is suspended"</strong>
                                        {t.status_reason.clone().map(|r| format!(": {r}"))}
                                        ". You can look around, but nothing can be changed until a platform administrator reactivates it."
                                    </Alert>
                                </div>
                            }
                        })
                }}
                <aside class="col-start-1 row-start-4 hidden border-r border-slate-200 bg-white px-3 py-6 md:block dark:border-slate-800 dark:bg-slate-900" style="min-height: calc(100vh - 3.5rem)">
                    <nav aria-label="Main" class="space-y-1">
                        {move || {
                            signed_in()
                                .map(|v| {
                                    let here = pathname.get();
                                    nav_items(face.get(), &v)
                                        .into_iter()
                                        .map(|(label, href)| {
                                            let active = here == href || (href.len() > 8 && here.starts_with(href));
                                            let cls = if active {
                                                "block rounded-md bg-indigo-50 px-3 py-2 text-sm font-medium text-indigo-700 dark:bg-indigo-500/10 dark:text-indigo-300"
                                            } else {
                                                "block rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white"
                                            };
                                            view! {
                                                <A href=href attr:class=cls attr:aria-current=active.then_some("page")>
                                                    {label}
                                                </A>
                                            }
                                        })
                                        .collect_view()
                                })
                        }}
                    </nav>
                </aside>
            </Suspense>
            <main id="main" class="col-start-1 row-start-4 min-w-0 px-4 py-8 sm:px-8 md:col-start-2">
                <Suspense fallback=|| ()>
                    {move || {
                        flash
                            .get()
                            .and_then(|f| f.ok())
                            .flatten()
                            .map(|m| view! { <Alert tone="success">{m}</Alert> })
                    }}
                </Suspense>
                <Outlet/>
            </main>
        </div>
    }
}

const THEME_TOGGLE: &str = "var d=document.documentElement.classList.toggle('dark');try{localStorage.setItem('patchbay-theme',d?'dark':'light')}catch(e){}";

/// The header (faces, tenant switcher, theme, user menu) and the narrow-screen navigation.
#[component]
fn Header(viewer: Viewer, face: Memo<Face>) -> impl IntoView {
    let v = viewer.clone();
    let faces_list = faces(&viewer);
    let tenant_name = viewer.tenant.as_ref().map(|t| t.name.clone());
    let tenants = viewer.tenants.clone();
    let current_tid = viewer.tenant.as_ref().map(|t| t.id.clone()).unwrap_or_default();
    view! {
            <header class="sticky top-0 z-30 col-span-full row-start-1 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
                <div class="flex h-14 items-center gap-4 px-4 sm:px-6">
                    <a href="/" class="flex items-center gap-2 font-semibold tracking-tight text-slate-900 dark:text-white">
                        <span class="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 text-xs font-bold text-white">"PB"</span>
                        "Patchbay"
                    </a>
                    <nav aria-label="Faces" class="hidden items-center gap-1 md:flex">
                        {faces_list
                            .into_iter()
                            .map(|(label, href, f)| {
                                let cls = move || {
                                    if face.get() == f {
                                        "rounded-md bg-slate-100 px-3 py-1.5 text-sm font-medium text-slate-900 dark:bg-slate-800 dark:text-white"
                                    } else {
                                        "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white"
                                    }
                                };
                                view! { <a href=href class=cls>{label}</a> }
                            })
                            .collect_view()}
                    </nav>
                    <div class="ml-auto flex items-center gap-3">
                        {(tenants.len() > 1)
                            .then(|| {
                                view! {
                                    <form method="post" action="/api/switch_tenant" class="flex items-center gap-2">
                                        <label for="tenant-switch" class="sr-only">"Tenant"</label>
                                        <select id="tenant-switch" name="tenant_id" class="rounded-md border-0 bg-slate-100 py-1.5 pl-2 pr-8 text-sm text-slate-800 ring-1 ring-inset ring-slate-200 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-700">
                                            {tenants
                                                .iter()
                                                .map(|t| {
                                                    view! {
                                                        <option value=t.id.clone() selected=t.id == current_tid>
                                                            {t.name.clone()}
                                                        </option>
                                                    }
                                                })
                                                .collect_view()}
                                        </select>
                                        <button type="submit" class=BTN_SECONDARY>"Switch"</button>
                                    </form>
                                }
                            })}
                        {tenant_name
                            .map(|n| {
                                view! {
                                    <span data-testid="current-tenant" class="hidden text-sm font-medium text-slate-700 lg:inline dark:text-slate-300">
                                        {n}
                                    </span>
                                }
                            })}
                        <button type="button" onclick=THEME_TOGGLE class="rounded-md p-2 text-slate-500 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-white" aria-label="Toggle dark mode" title="Toggle dark mode">
                            <svg class="h-5 w-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">
                                <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z"></path>
                            </svg>
                        </button>
                        <div data-testid="user-menu" class="flex items-center gap-3 border-l border-slate-200 pl-3 dark:border-slate-700">
                            <span class="grid h-8 w-8 place-items-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700 dark:bg-indigo-500/20 dark:text-indigo-200">
                                {v.initials()}
                            </span>
                            <div class="hidden text-right leading-tight sm:block">
                                <p class="text-sm font-medium">{v.display_name.clone()}</p>
                                <p class="text-xs text-slate-500 dark:text-slate-400">{v.email.clone()}</p>
                            </div>
                            <a href="/account/sessions" class=BTN_LINK>"Sessions"</a>
                            <form method="post" action="/api/logout">
                                <button type="submit" class=BTN_SECONDARY>"Sign out"</button>
                            </form>
                        </div>
                    </div>
                </div>
            </header>
            <nav aria-label="Sections" class="col-span-full row-start-2 flex gap-1 overflow-x-auto border-b border-slate-200 bg-white px-4 py-2 md:hidden dark:border-slate-800 dark:bg-slate-900">
                {faces(&v)
                    .into_iter()
                    .map(|(label, href, _)| view! { <a href=href class="whitespace-nowrap rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">{label}</a> })
                    .collect_view()}
                {
                    let mv = v.clone();
                    move || {
                        nav_items(face.get(), &mv)
                            .into_iter()
                            .map(|(label, href)| view! { <a href=href class="whitespace-nowrap rounded-md px-3 py-1.5 text-sm text-slate-600 hover:bg-slate-100 dark:text-slate-400 dark:hover:bg-slate-800">{label}</a> })
                            .collect_view()
                    }
                }
            </nav>
    }
}
