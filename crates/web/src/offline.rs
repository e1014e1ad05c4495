//! Offline and updates. Once the model has loaded (so that nothing competes with the first
//! prediction), the page registers its service worker, `sw.js` (written at build time by
//! `scripts/post-build.mjs`), which keeps the whole site in a versioned cache. When a newer
//! deploy's worker has installed and waits, a banner offers the update: its button tells the
//! waiting worker to take over, and the page reloads once it has.
//!
//! Hooks: `html.offline-ready` once a worker controls the page; `#update` (the banner) and
//! `#update-reload` (its button).

use std::cell::Cell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState};

use crate::app::js_error;
use crate::dom::{self, by_id, listen, set_hidden};

/// Relative to the page, so the worker's scope is the page's own directory (any sub-path).
const WORKER_URL: &str = "sw.js";

thread_local! {
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
    static UPDATING: Cell<bool> = const { Cell::new(false) };
}

/// Registers the service worker, once per page load. Without service workers (an insecure
/// origin, some private modes) the page simply works online only.
pub fn register() {
    if REGISTERED.with(|r| r.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let container = navigator.service_worker();
    wasm_bindgen_futures::spawn_local(async move {
        match JsFuture::from(container.register(WORKER_URL)).await {
            Ok(reg) => {
                if let Err(e) = watch(&container, reg.unchecked_into()) {
                    warn(&e);
                }
            }
            Err(e) => warn(&e),
        }
    });
}

fn warn(e: &JsValue) {
    web_sys::console::warn_1(&format!("offline mode is unavailable: {}", js_error(e)).into());
}

fn watch(
    container: &ServiceWorkerContainer,
    reg: ServiceWorkerRegistration,
) -> Result<(), JsValue> {
    mark_offline_ready(container);
    // A worker taking control: the first one (the page now works offline), or the update the
    // user asked for (reload into the new version).
    {
        let c = container.clone();
        listen(
            container.as_ref(),
            "controllerchange",
            move |_: web_sys::Event| {
                if UPDATING.with(Cell::get) {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                } else {
                    mark_offline_ready(&c);
                }
            },
        )?;
    }
    let button: web_sys::HtmlElement = by_id("update-reload")?;
    {
        let reg = reg.clone();
        listen(
            button.as_ref(),
            "click",
            move |_: web_sys::Event| match reg.waiting() {
                Some(waiting) => {
                    UPDATING.with(|u| u.set(true));
                    let _ = waiting.post_message(&"skip-waiting".into());
                }
                None => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                }
            },
        )?;
    }
    offer_update_if_waiting(container, &reg);
    // A newer worker may already be installing (the browser checks on every navigation), or
    // start to later.
    if let Some(installing) = reg.installing() {
        follow(container, &reg, &installing)?;
    }
    let (c, r) = (container.clone(), reg.clone());
    listen(reg.as_ref(), "updatefound", move |_: web_sys::Event| {
        if let Some(installing) = r.installing() {
            let _ = follow(&c, &r, &installing);
        }
    })?;
    Ok(())
}

/// Offers the update once the installing worker has finished installing.
fn follow(
    container: &ServiceWorkerContainer,
    reg: &ServiceWorkerRegistration,
    installing: &web_sys::ServiceWorker,
) -> Result<(), JsValue> {
    let (c, r) = (container.clone(), reg.clone());
    listen(
        installing.as_ref(),
        "statechange",
        move |_: web_sys::Event| offer_update_if_waiting(&c, &r),
    )
}

/// A new version waits while an old one controls this page: show the banner.
fn offer_update_if_waiting(container: &ServiceWorkerContainer, reg: &ServiceWorkerRegistration) {
    let waiting = reg
        .waiting()
        .is_some_and(|w| w.state() == ServiceWorkerState::Installed);
    if waiting && container.controller().is_some() {
        set_hidden("update", false);
    }
}

fn mark_offline_ready(container: &ServiceWorkerContainer) {
    if container.controller().is_some() {
        let _ = dom::document()
            .document_element()
            .map(|e| e.class_list().add_1("offline-ready"));
        dom::set_text(
            "offline",
            "Saved on this device: the page also works offline.",
        );
    }
}
