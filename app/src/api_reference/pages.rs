//! Portal → API reference (`/portal/api`), server-rendered from the OpenAPI document.
use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::components::ui::*;

const CONVENTIONS: [(&str, &str); 8] = [
    (
        "Authentication",
        "Send an API key (Portal → API keys) as Authorization: Bearer <key>. Each operation names the scope it needs; a key never does more than the role of the admin it acts for.",
    ),
    ("Shapes", "JSON with camelCase fields; times are RFC 3339 UTC; money is {amountMinor, currency}."),
    (
        "Lists",
        "items and pageInfo {nextCursor, hasNextPage}. Pass nextCursor back as cursor; limit is 1 to 200 (default 50); filter=field:eq:value on the fields an operation documents.",
    ),
    (
        "Errors",
        "application/problem+json with type, title, status, detail and traceId; validation errors list errors [{path, code, message}]. Another tenant's ids answer 404.",
    ),
    (
        "Retries",
        "Send an Idempotency-Key on POST: a retry with the same key and body within 24 hours gets the first answer back byte for byte (Idempotent-Replayed: true), from any replica. The same key with another body is 422; while the first request still runs, 409.",
    ),
    (
        "Concurrency",
        "Single resources carry an ETag. Service actions require If-Match with the current ETag (428 without, 412 when it changed); order cancellation takes it optionally.",
    ),
    (
        "Rate limits",
        "Per tenant by edition, one bucket for reads and one for writes: Free 60 a minute (burst 120), Standard 600 (1,200), Enterprise 3,000 (6,000). Every answer carries X-RateLimit-Limit, -Remaining and -Reset; a refusal is 429 with Retry-After.",
    ),
    (
        "Bodies",
        "Up to 64 KiB. Unknown fields, wrong types and missing fields are refused by name (422); malformed JSON is 400.",
    ),
];

fn method_tone(m: &str) -> &'static str {
    match m {
        "GET" => "blue",
        "POST" => "green",
        "DELETE" => "red",
        _ => "amber",
    }
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let doc = Resource::new(|| (), |_| get_api_reference());
    view! {
        <Title text="API reference"/>
        <PageHeader title="API reference" subtitle="The Patchbay REST API (/v1): every operation, its scope, parameters and answers.">
            <a
                href="/v1/openapi.json"
                class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
            >
                "OpenAPI 3.1 document"
            </a>
        </PageHeader>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                doc.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(d) => view! { <Reference d=d/> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Reference(d: ApiReference) -> impl IntoView {
    let toc = view! { <Toc groups=d.groups.clone()/> }.into_any();
    let conventions = view! { <Conventions base_url=d.base_url.clone() tenant=d.tenant.clone()/> }.into_any();
    view! {
        <div class="grid gap-6 lg:grid-cols-[17rem_1fr]">
            {toc}
            <div class="min-w-0 space-y-8">
                {conventions}
                {d
                    .groups
                    .into_iter()
                    .map(|g| {
                        view! {
                            <section aria-labelledby=format!("tag-{}", g.tag) class="space-y-4">
                                <div>
                                    <h2 id=format!("tag-{}", g.tag) class="text-lg font-semibold capitalize text-slate-900 dark:text-white">
                                        {g.tag.clone()}
                                    </h2>
                                    <p class="text-sm text-slate-500 dark:text-slate-400">{g.description.clone()}</p>
                                </div>
                                {g.operations.into_iter().map(|o| view! { <Operation o=o/> }.into_any()).collect_view()}
                            </section>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}

#[component]
fn Fields(#[prop(into)] label: String, fields: Vec<ApiField>, kind_header: &'static str) -> impl IntoView {
    (!fields.is_empty()).then(|| {
        view! {
            <Table label=label headers=vec!["Name", kind_header, "Required", "Description"]>
                {fields
                    .into_iter()
                    .map(|f| {
                        view! {
                            <tr>
                                <td class=format!("{TD} font-mono text-slate-900 dark:text-white")>{f.name}</td>
                                <td class=TD>{f.kind}</td>
                                <td class=TD>{if f.required { "yes" } else { "no" }}</td>
                                <td class="px-4 py-3 text-slate-700 dark:text-slate-300">{f.description}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </Table>
        }
        .into_any()
    })
}

#[component]
fn Operation(o: ApiOperation) -> impl IntoView {
    let title = format!("{} {}", o.method, o.path);
    view! {
        <article id=o.id.clone() aria-label=title class="scroll-mt-4 rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <header class="flex flex-wrap items-center gap-3 border-b border-slate-200 px-5 py-3 dark:border-slate-800">
                <Badge text=o.method.clone() tone=method_tone(&o.method)/>
                <code class="break-all font-mono text-sm font-semibold text-slate-900 dark:text-white">{o.path.clone()}</code>
                <span class="ml-auto"><Badge text=o.scope.clone() tone="slate"/></span>
            </header>
            <div class="space-y-4 px-5 py-4 text-sm text-slate-700 dark:text-slate-300">
                <div>
                    <h3 class="font-semibold text-slate-900 dark:text-white">{o.summary.clone()}</h3>
                    {(!o.description.is_empty()).then(|| view! { <p class="mt-1">{o.description.clone()}</p> })}
                </div>
                <Fields label=format!("Parameters of {}", o.id) fields=o.params kind_header="In"/>
                <Fields label=format!("Body of {}", o.id) fields=o.body kind_header="Type"/>
                <div>
                    <h4 class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Answers"</h4>
                    <ul class="space-y-1">
                        {o
                            .responses
                            .into_iter()
                            .map(|(code, what)| {
                                let tone = if code.starts_with('2') || code.starts_with('3') { "green" } else { "amber" };
                                view! {
                                    <li class="flex gap-2">
                                        <Badge text=code tone=tone/>
                                        <span>{what}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </div>
                <div>
                    <h4 class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">"Example"</h4>
                    <pre
                        tabindex="0"
                        aria-label=format!("curl example for {}", o.id)
                        class="overflow-x-auto rounded-lg bg-slate-950 p-4 font-mono text-xs leading-relaxed text-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
                    >
                        {o.curl}
                    </pre>
                </div>
            </div>
        </article>
    }
    .into_any()
}

#[component]
fn Toc(groups: Vec<ApiGroup>) -> impl IntoView {
    let toc = groups;
    view! {
        <nav aria-label="Operations" class="hidden lg:block">
            <div class="sticky top-4 space-y-4 text-sm">
                {toc
                    .into_iter()
                    .map(|g| {
                        view! {
                            <div>
                                <p class="font-semibold capitalize text-slate-900 dark:text-white">{g.tag.clone()}</p>
                                <ul class="mt-1 space-y-1">
                                    {g
                                        .operations
                                        .into_iter()
                                        .map(|o| {
                                            view! {
                                                <li>
                                                    <a
                                                        href=format!("#{}", o.id)
                                                        class="block truncate text-slate-600 hover:text-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:text-slate-400 dark:hover:text-indigo-300"
                                                    >
                                                        <span class="font-mono text-xs">{format!("{} {}", o.method, o.path)}</span>
                                                    </a>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        </nav>
    }
    .into_any()
}

#[component]
fn Conventions(base_url: String, tenant: String) -> impl IntoView {
    view! {
                <Card title="Conventions">
                    <div class="space-y-3 text-sm text-slate-700 dark:text-slate-300">
                        <p>
                            "Base URL " <code class="font-mono text-slate-900 dark:text-white">{format!("{base_url}/v1")}</code>
                            {format!(". A key made in {tenant} acts in {tenant} only; the examples below use its ids.")}
                        </p>
                        <dl class="grid gap-x-6 gap-y-2 sm:grid-cols-[9rem_1fr]">
                            {CONVENTIONS
                                .iter()
                                .map(|(k, v)| {
                                    view! {
                                        <dt class="font-medium text-slate-900 dark:text-white">{*k}</dt>
                                        <dd>{*v}</dd>
                                    }
                                })
                                .collect_view()}
                        </dl>
                    </div>
                </Card>
    }
    .into_any()
}
