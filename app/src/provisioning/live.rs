//! Live updates in the browser: an `EventSource` on the page's event stream that bumps a
//! signal whenever something happens, so the page's resources read again. Without wasm
//! the page is simply server-rendered; reloading shows the latest state.
use leptos::prelude::*;

/// Subscribe to `url` (e.g. `/events/orders/<id>?since=<cursor>`) after hydration; the
/// returned signal changes on every event.
pub fn use_live(url: impl Fn() -> Option<String> + 'static) -> ReadSignal<u32> {
    let (tick, set_tick) = signal(0u32);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let current: StoredValue<Option<web_sys::EventSource>, LocalStorage> = StoredValue::new_local(None);
        Effect::new(move |prev: Option<Option<String>>| {
            let next = url();
            // Keep the stream while the page's resource stays the same (refetches change the cursor only).
            let base = next.as_ref().map(|u| u.split('?').next().unwrap_or_default().to_string());
            if prev.as_ref().is_some_and(|p| *p == base) {
                return base;
            }
            if let Some(es) = current.get_value() {
                es.close();
            }
            let Some(u) = next else {
                current.set_value(None);
                return base;
            };
            if let Ok(es) = web_sys::EventSource::new(&u) {
                let cb = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_e: web_sys::MessageEvent| {
                    set_tick.update(|n| *n += 1);
                });
                // The server sends unnamed events (the type is in the data), so one handler hears all.
                es.set_onmessage(Some(cb.as_ref().unchecked_ref()));
                // Reconnected after a drop: read the page again, in case something happened
                // meanwhile. (Not on the first open: the page was just rendered, and re-rendering
                // it right away would swallow a click landing at that moment.)
                let opened = std::rc::Rc::new(std::cell::Cell::new(false));
                let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                    if opened.replace(true) {
                        set_tick.update(|n| *n += 1);
                    }
                });
                es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
                on_open.forget();
                cb.forget();
                current.set_value(Some(es));
            }
            base
        });
        on_cleanup(move || {
            if let Some(es) = current.get_value() {
                es.close();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (url, set_tick);
    }
    tick
}
