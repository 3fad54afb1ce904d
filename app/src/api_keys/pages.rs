//! Portal → API keys: the tenant's keys, create (the token shown once), rotate, revoke.
use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::components::list::PagedTable;
use crate::components::ui::*;

const CHECK: &str = "h-4 w-4 rounded border-slate-300 text-indigo-600 dark:border-slate-600 dark:bg-slate-950";

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let rotate = ServerAction::<RotateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let query = leptos_router::hooks::use_query_map();
    let keys = Resource::new(
        move || {
            (query.with(|q| q.get("cursor")), create.version().get(), rotate.version().get(), revoke.version().get())
        },
        |(cursor, ..)| list_api_keys(cursor),
    );
    let create_err = action_error(create);
    let row_err = Signal::derive(move || action_error(rotate).get().or_else(|| action_error(revoke).get()));
    view! {
        <Title text="API keys"/>
        <PageHeader title="API keys" subtitle="Keys for the Patchbay REST API (/v1): Terraform, scripts and your own systems."/>
        {move || create.value().get().and_then(Result::ok).map(|m| view! { <TokenAlert m=m/> })}
        {move || rotate.value().get().and_then(Result::ok).map(|m| view! { <TokenAlert m=m/> })}
        <FormError err=row_err/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || {
                keys.get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox err=e/> }.into_any(),
                        Ok(v) => {
                            let can = v.can_manage;
                            let full = v.active >= v.cap.max(0) as u64;
                            view! {
                                <div class="space-y-6">
                                    <div class="space-y-3">
                                        <p class="text-sm text-slate-600 dark:text-slate-300">
                                            {format!("{} of {} keys in use on the {} edition.", v.active, v.cap, v.edition)}
                                        </p>
                                        <PagedTable
                                            page=Ok(v.keys)
                                            headers=vec!["Key", "Scopes", "Last used", "Expires", ""]
                                            noun="API keys"
                                            empty_title="No API keys yet"
                                            empty_body="Create a key with the form on this page, give it only the scopes your tool needs, and store it in your secret manager."
                                            row=move |k: ApiKeyRow| view! { <KeyRow k=k can=can rotate=rotate revoke=revoke/> }
                                        />
                                    </div>
                                    <div class="max-w-2xl">
                                        {if !can {
                                            view! {
                                                <Card title="Read-only">
                                                    <p class="text-sm text-slate-600 dark:text-slate-300">"New keys and rotations wait until the tenant is active again; revoking a key works at any time."</p>
                                                </Card>
                                            }
                                                .into_any()
                                        } else {
                                            view! { <CreateKeyCard create=create err=create_err grantable=v.grantable full=full/> }.into_any()
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

/// A token just made, shown once.
#[component]
fn TokenAlert(m: CreatedKey) -> impl IntoView {
    view! {
        <Alert tone="success">
            <p class="font-medium">"API key \u{201c}" {m.key.name.clone()} "\u{201d} created. Copy it now: it is not shown again."</p>
            <p class="mt-2">
                <code data-testid="new-api-key" class="block select-all break-all rounded bg-white/70 px-2 py-1 font-mono text-sm dark:bg-black/40">
                    {m.token.clone()}
                </code>
            </p>
            <p class="mt-2 text-sm">"Send it as " <code>"Authorization: Bearer <key>"</code> "."</p>
        </Alert>
    }
}

#[component]
fn CreateKeyCard(
    create: ServerAction<CreateApiKey>,
    err: Signal<Option<AppError>>,
    grantable: Vec<(String, String)>,
    full: bool,
) -> impl IntoView {
    let expiry: Vec<(String, String)> = EXPIRY_CHOICES.iter().map(|(d, l)| (d.to_string(), l.to_string())).collect();
    let scope_err = field_error(err, "scopes");
    view! {
        <Card title="Create a key">
            <FormError err=err/>
            {full.then(|| view! { <p class="mb-3 text-sm text-amber-700 dark:text-amber-300">"This tenant has as many keys as its edition allows: revoke one to create another."</p> })}
            <ActionForm action=create attr:class="space-y-4">
                <Field label="Name" name="name" placeholder="Terraform CI" required=true error=field_error(err, "name")/>
                <fieldset>
                    <legend class=LABEL>"Scopes"</legend>
                    <div class="mt-1 grid grid-cols-1 gap-2 sm:grid-cols-2">
                        {grantable
                            .into_iter()
                            .map(|(s, label)| {
                                let id = format!("scope-{}", s.replace(':', "-"));
                                view! {
                                    <div class="flex items-start gap-2">
                                        <input id=id.clone() type="checkbox" name="scopes[]" value=s.clone() class=format!("{CHECK} mt-0.5 shrink-0")/>
                                        <label for=id class="text-sm text-slate-700 dark:text-slate-300">
                                            <code class="font-mono text-xs">{s.clone()}</code>
                                            <span class="block text-xs text-slate-600 dark:text-slate-400">{label}</span>
                                        </label>
                                    </div>
                                }
                            })
                            .collect_view()}
                    </div>
                    {move || scope_err.get().map(|e| view! { <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{e}</p> })}
                </fieldset>
                <SelectField label="Expires after" name="expires_days" options=expiry selected="90" error=field_error(err, "expires_days")/>
                <div>
                    <label for="f-allowed_cidrs" class=LABEL>"Allowed source addresses (optional)"</label>
                    <textarea id="f-allowed_cidrs" name="allowed_cidrs" rows="2" placeholder="203.0.113.0/24, 2001:db8::/48" class=INPUT></textarea>
                    <p class="mt-1 text-xs text-slate-600 dark:text-slate-400">"CIDR blocks or addresses; empty means any address."</p>
                    {move || field_error(err, "allowed_cidrs").get().map(|e| view! { <p class="mt-1 text-sm text-rose-600 dark:text-rose-400">{e}</p> })}
                </div>
                <button type="submit" class=format!("{BTN_PRIMARY} w-full")>"Create key"</button>
            </ActionForm>
        </Card>
    }
}

#[component]
fn KeyRow(
    k: ApiKeyRow,
    can: bool,
    rotate: ServerAction<RotateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
) -> impl IntoView {
    let live = k.status == "active";
    let overlap: Vec<(String, String)> = OVERLAP_CHOICES.iter().map(|(h, l)| (h.to_string(), l.to_string())).collect();
    let select_id = format!("overlap-{}", k.id);
    let rotate_label = format!("Rotate {}: how long the old key keeps working", k.name);
    let (id1, id2) = (k.id.clone(), k.id.clone());
    view! {
        <tr>
            <td class="min-w-[17rem] px-4 py-3 text-slate-700 dark:text-slate-300">
                <p class="flex items-center gap-2 font-medium text-slate-900 dark:text-white">{k.name.clone()} <Badge text=k.status.clone()/></p>
                <p class="font-mono text-xs text-slate-600 dark:text-slate-400">{k.prefix.clone()} "_…"</p>
                <p class="text-xs text-slate-600 dark:text-slate-400">"Acts for " {k.created_by.clone()}</p>
                <p class="text-xs text-slate-600 dark:text-slate-400">"Created " {k.created_at.clone()}</p>
                {k.rotated_from.clone().map(|p| view! { <p class="text-xs text-slate-600 dark:text-slate-400">"Replaces " <span class="font-mono">{p}</span></p> })}
                {(!k.allowed_cidrs.is_empty()).then(|| view! { <p class="text-xs text-slate-600 dark:text-slate-400">"From " {k.allowed_cidrs.join(", ")}</p> })}
            </td>
            <td class="px-4 py-3 text-xs text-slate-700 dark:text-slate-300">
                <ul class="space-y-0.5 font-mono">{k.scopes.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
            </td>
            <td class=TD>
                {match (k.last_used_at.clone(), k.last_used_ip.clone()) {
                    (Some(at), ip) => view! { <span>{at}</span> <span class="block text-xs text-slate-600 dark:text-slate-400">{ip.unwrap_or_default()}</span> }.into_any(),
                    (None, _) => view! { <span>"Never"</span> }.into_any(),
                }}
            </td>
            <td class=TD>{k.expires_at.clone()}</td>
            <td class=format!("{TD} text-right")>
                {(live || k.status == "expiring")
                    .then(|| {
                        view! {
                            <div class="flex flex-col items-end gap-2">
                                {(can && live).then(|| view! {
                                    <ActionForm action=rotate attr:class="flex items-center gap-2">
                                        <input type="hidden" name="key_id" value=id1.clone()/>
                                        <label for=select_id.clone() class="sr-only">{rotate_label.clone()}</label>
                                        <select id=select_id.clone() name="overlap_hours" class="w-auto rounded-md border-0 py-1 pl-2 pr-7 text-sm ring-1 ring-inset ring-slate-300 dark:bg-slate-950 dark:ring-slate-700">
                                            {overlap.clone().into_iter().map(|(v, l)| { let sel = v == "24"; view! { <option value=v selected=sel>{l}</option> } }).collect_view()}
                                        </select>
                                        <button type="submit" class=BTN_SECONDARY>"Rotate"</button>
                                    </ActionForm>
                                })}
                                <ActionForm action=revoke>
                                    <input type="hidden" name="key_id" value=id2.clone()/>
                                    <button type="submit" class=BTN_DANGER>"Revoke"</button>
                                </ActionForm>
                            </div>
                        }
                    })}
            </td>
        </tr>
    }
}
