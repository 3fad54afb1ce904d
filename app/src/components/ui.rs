//! Small, consistent building blocks: page header, cards, stats, badges, forms, tables.
use leptos::prelude::*;

use crate::error::AppError;

#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{title}</h1>
                {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{s}</p> })}
            </div>
            <div class="flex items-center gap-2">{children.map(|c| c())}</div>
        </div>
    }
}

#[component]
pub fn Card(
    #[prop(optional, into)] title: Option<String>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=format!(
            "rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900 {class}",
        )>
            {title
                .map(|t| {
                    view! {
                        <h2 class="border-b border-slate-200 px-5 py-3 text-sm font-semibold text-slate-900 dark:border-slate-800 dark:text-white">
                            {t}
                        </h2>
                    }
                })}
            <div class="p-5">{children()}</div>
        </section>
    }
}

/// A row of [`Stat`]s: the `<dl>` they belong in (a `<dt>`/`<dd>` outside one is invalid
/// markup that screen readers announce wrongly).
#[component]
pub fn StatGrid(children: Children) -> impl IntoView {
    view! { <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">{children()}</dl> }
}

/// One figure with its label; place it in a [`StatGrid`].
#[component]
pub fn Stat(
    #[prop(into)] label: String,
    #[prop(into)] value: String,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <dt class="text-sm font-medium text-slate-500 dark:text-slate-400">{label}</dt>
            <dd class="mt-2 text-3xl font-semibold tabular-nums text-slate-900 dark:text-white">{value}</dd>
            // A second <dd>: inside a <dl> a group holds only <dt>s and <dd>s.
            {hint.map(|h| view! { <dd class="mt-1 text-xs text-slate-500 dark:text-slate-400">{h}</dd> })}
        </div>
    }
}

/// Colour of a status word.
pub fn tone_of(status: &str) -> &'static str {
    match status {
        "active" | "success" => "green",
        "suspended" | "pending" | "expired" => "amber",
        "deleted" | "failure" | "disabled" => "red",
        _ => "gray",
    }
}

#[component]
pub fn Badge(#[prop(into)] text: String, #[prop(optional, into)] tone: Option<String>) -> impl IntoView {
    let tone = tone.unwrap_or_else(|| tone_of(&text).to_string());
    let cls = match tone.as_str() {
        "green" => {
            "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/30"
        }
        "amber" => {
            "bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/30"
        }
        "red" => {
            "bg-rose-50 text-rose-700 ring-rose-600/20 dark:bg-rose-500/10 dark:text-rose-300 dark:ring-rose-400/30"
        }
        "blue" => {
            "bg-indigo-50 text-indigo-700 ring-indigo-600/20 dark:bg-indigo-500/10 dark:text-indigo-300 dark:ring-indigo-400/30"
        }
        _ => {
            "bg-slate-100 text-slate-700 ring-slate-500/20 dark:bg-slate-700/40 dark:text-slate-300 dark:ring-slate-500/30"
        }
    };
    view! {
        <span class=format!("inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset {cls}")>
            {text}
        </span>
    }
}

#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] body: String) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 px-6 py-10 text-center dark:border-slate-700">
            <p class="text-sm font-semibold text-slate-900 dark:text-white">{title}</p>
            <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">{body}</p>
        </div>
    }
}

#[component]
pub fn Alert(#[prop(into)] tone: String, children: Children) -> impl IntoView {
    let cls = match tone.as_str() {
        "success" => {
            "border-emerald-200 bg-emerald-50 text-emerald-800 dark:border-emerald-500/30 dark:bg-emerald-500/10 dark:text-emerald-200"
        }
        "info" => {
            "border-indigo-200 bg-indigo-50 text-indigo-900 dark:border-indigo-500/30 dark:bg-indigo-500/10 dark:text-indigo-200"
        }
        "warning" => {
            "border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-200"
        }
        _ => "border-rose-200 bg-rose-50 text-rose-800 dark:border-rose-500/30 dark:bg-rose-500/10 dark:text-rose-200",
    };
    view! {
        <div role="alert" class=format!("mb-4 rounded-lg border px-4 py-3 text-sm {cls}")>
            {children()}
        </div>
    }
}

/// The message of a failed action, shown above its form.
#[component]
pub fn ErrorBox(err: AppError) -> impl IntoView {
    view! { <Alert tone="error">{err.to_string()}</Alert> }
}

/// The latest error of a server action, if any.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// One form field's message from an action's error.
pub fn field_error(err: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || err.get().and_then(|e| e.field_error(field)))
}

/// Shows an action's error unless it is purely about one of the given fields
/// (those are shown next to the field).
#[component]
pub fn FormError(err: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        err.get().map(|e| {
            let text = match &e {
                AppError::Validation { fields, .. } if !fields.is_empty() => {
                    "Please correct the highlighted fields.".to_string()
                }
                other => other.to_string(),
            };
            view! { <Alert tone="error">{text}</Alert> }
        })
    }
}

pub const INPUT: &str = "block w-full rounded-lg border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 dark:bg-slate-950 dark:text-white dark:ring-slate-700 dark:focus:ring-indigo-500";
pub const LABEL: &str = "mb-1 block text-sm font-medium text-slate-700 dark:text-slate-300";
pub const BTN_PRIMARY: &str = "inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60";
pub const BTN_SECONDARY: &str = "inline-flex items-center justify-center gap-2 rounded-lg bg-white px-3 py-2 text-sm font-medium text-slate-700 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-600 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700 dark:hover:bg-slate-700";
pub const BTN_DANGER: &str = "inline-flex items-center justify-center gap-2 rounded-lg bg-rose-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-rose-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-rose-600";
pub const BTN_LINK: &str =
    "text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400 dark:hover:text-indigo-300";

#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(optional, into)] kind: Option<String>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional, into)] autocomplete: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    let error = error.unwrap_or_else(|| Signal::derive(|| None));
    let describedby = err_id.clone();
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <input
                id=id
                name=name
                type=kind.unwrap_or_else(|| "text".into())
                value=value
                placeholder=placeholder
                autocomplete=autocomplete
                required=required
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=move || error.get().is_some().then(|| describedby.clone())
                class=INPUT
            />
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{h}</p> })}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p id=err_id.clone() class="mt-1 text-sm text-rose-600 dark:text-rose-400">
                                {e}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

#[component]
pub fn SelectField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: Option<String>,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let id = format!("f-{name}");
    let error = error.unwrap_or_else(|| Signal::derive(|| None));
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <select id=id name=name class=INPUT aria-invalid=move || error.get().is_some().then_some("true")>
                {options
                    .into_iter()
                    .map(|(v, l)| {
                        let sel = selected.as_deref() == Some(v.as_str());
                        view! {
                            <option value=v selected=sel>
                                {l}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {move || error.get().map(|e| view! { <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{e}</p> })}
        </div>
    }
}

/// Table wrapper with consistent styling; rows go in `children` as `<tr>`s.
///
/// `label` names the table (e.g. "Orders"): it is the table's caption for screen readers and
/// the name of its scroll region. A table wider than the page scrolls sideways inside that
/// region, which is focusable so that a keyboard can scroll it too (arrow keys once focused).
#[component]
pub fn Table(#[prop(into)] label: String, headers: Vec<&'static str>, children: Children) -> impl IntoView {
    let region = label.clone();
    view! {
        <div
            role="region"
            aria-label=region
            tabindex="0"
            class="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 dark:border-slate-800 dark:bg-slate-900 dark:focus-visible:outline-indigo-400"
        >
            <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
                <caption class="sr-only">{label}</caption>
                <thead class="bg-slate-50 dark:bg-slate-800/50">
                    <tr>
                        {headers
                            .into_iter()
                            .map(|h| {
                                view! {
                                    <th scope="col" class="px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                                        {h}
                                    </th>
                                }
                            })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{children()}</tbody>
            </table>
        </div>
    }
}

pub const TD: &str = "whitespace-nowrap px-4 py-3 text-slate-700 dark:text-slate-300";

/// Shown while a resource loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="py-8 text-center text-sm text-slate-500 dark:text-slate-400">"Loading…"</p> }
}
