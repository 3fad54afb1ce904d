//! The one list skeleton every list page uses: the loaded page (or its error), an empty
//! state that says what to do next, the table, and a pager whose links keep the page's
//! filters in the URL (so a no-JS GET filter form, the back button and shared links work).
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::components::ui::{EmptyState, ErrorBox, Loading, Table};
use crate::core::page::Page;
use crate::error::AppError;

/// The current URL with `cursor` set (or removed), every other query parameter kept.
fn link_with_cursor(cursor: Option<&str>) -> String {
    let loc = use_location();
    let path = loc.pathname.get_untracked();
    let mut q = loc.query.get_untracked();
    q.remove("cursor");
    if let Some(c) = cursor {
        q.insert("cursor", c.to_string());
    }
    format!("{path}{}", q.to_query_string())
}

/// A list page's body: error, empty state, or table with pager. `noun` is plural ("orders").
#[component]
pub fn PagedTable<T, R, V>(
    page: Result<Page<T>, AppError>,
    headers: Vec<&'static str>,
    row: R,
    #[prop(into)] empty_title: String,
    #[prop(into)] empty_body: String,
    #[prop(into)] noun: String,
) -> impl IntoView
where
    T: Send + Sync + 'static,
    R: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    match page {
        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
        Ok(p) if p.items.is_empty() && !p.page_info.after_cursor => {
            view! { <EmptyState title=empty_title body=empty_body/> }.into_any()
        }
        Ok(p) => {
            let info = p.page_info.clone();
            let shown = p.items.len();
            let mut label = noun.clone();
            if let Some(first) = label.get(..1) {
                label = format!("{}{}", first.to_uppercase(), &label[1..]);
            }
            view! {
                <Table label=label headers=headers>{p.items.into_iter().map(row).collect_view()}</Table>
                <Pager total=info.total shown=shown next=info.next_cursor after_cursor=info.after_cursor noun=noun/>
            }
            .into_any()
        }
    }
}

/// "50 of 1,234 orders · First page · Next page →", as plain links.
#[component]
pub fn Pager(
    total: u64,
    shown: usize,
    next: Option<String>,
    after_cursor: bool,
    #[prop(into)] noun: String,
) -> impl IntoView {
    let first = after_cursor.then(|| link_with_cursor(None));
    let next = next.map(|c| link_with_cursor(Some(&c)));
    let summary = if after_cursor || next.is_some() {
        format!("Showing {shown} of {} {noun}", group_thousands(total))
    } else {
        format!("{} {noun}", group_thousands(total))
    };
    view! {
        <nav aria-label=format!("Pages of {noun}") class="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
            <p class="text-slate-600 dark:text-slate-300">{summary}</p>
            <div class="flex items-center gap-4">
                {first.map(|href| view! {
                    <a href=href class="font-medium text-indigo-700 hover:underline dark:text-indigo-300">"← First page"</a>
                })}
                {next.map(|href| view! {
                    <a href=href rel="next" class="font-medium text-indigo-700 hover:underline dark:text-indigo-300">"Next page →"</a>
                })}
            </div>
        </nav>
    }
}

/// A resource of pages, shown with [`PagedTable`] inside one Suspense.
#[component]
pub fn PagedList<T, R, V>(
    resource: Resource<Result<Page<T>, AppError>>,
    headers: Vec<&'static str>,
    row: R,
    #[prop(into)] empty_title: String,
    #[prop(into)] empty_body: String,
    #[prop(into)] noun: String,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    R: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                let (row, headers, empty_title, empty_body, noun) =
                    (row.clone(), headers.clone(), empty_title.clone(), empty_body.clone(), noun.clone());
                resource.get().map(move |page| view! {
                    <PagedTable page=page headers=headers row=row empty_title=empty_title empty_body=empty_body noun=noun/>
                })
            }}
        </Suspense>
    }
}

/// 12345 → "12,345".
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(1000), "1,000");
        assert_eq!(super::group_thousands(1234567), "1,234,567");
    }
}
