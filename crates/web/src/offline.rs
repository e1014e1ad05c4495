//! Offline and updates. Once the model has loaded (so that nothing competes with the first
//! prediction), the page registers its service worker, `sw.js` (written at build time by
//! `scripts/post-build.mjs`), which keeps the whole site in a versioned cache. When a newer
//! deploy's worker has installed and waits, a banner offers the update: its button tells the
//! waiting worker to take over, and the page reloads once it has.
//!
//! Hooks: `html.offline-ready` once a worker controls the page; `#update` (the banner) and
//! `#update-reload` (its button).

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Element, Event, ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration,
    ServiceWorkerState,
};

use crate::dom::listen;
use crate::js::{js_error, warn};
use crate::page::OfflineElements;

/// Relative to the page, so the worker's scope is the page's own directory (any sub-path).
const WORKER_URL: &str = "sw.js";

pub struct Offline {
    el: OfflineElements,
    /// `<html>`, which gets the class `offline-ready`.
    root: Element,
    registered: Cell<bool>,
    /// The user asked for the update: the next change of controller reloads the page.
    updating: Cell<bool>,
}

impl Offline {
    pub fn new(el: OfflineElements, root: Element) -> Rc<Offline> {
        Rc::new(Offline {
            el,
            root,
            registered: Cell::new(false),
            updating: Cell::new(false),
        })
    }

    /// Registers the service worker, once per page load. Without service workers (an insecure
    /// origin, some private modes) the page simply works online only.
    pub fn register(self: &Rc<Self>) {
        if self.registered.replace(true) {
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
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let registered = JsFuture::from(container.register(WORKER_URL))
                .await
                .and_then(|reg| this.watch(&container, reg.unchecked_into()));
            if let Err(e) = registered {
                warn(&format!("offline mode is unavailable: {}", js_error(&e)));
            }
        });
    }

    fn watch(
        self: &Rc<Self>,
        container: &ServiceWorkerContainer,
        reg: ServiceWorkerRegistration,
    ) -> Result<(), JsValue> {
        self.mark_offline_ready(container);
        // A worker taking control: the first one (the page now works offline), or the update the
        // user asked for (reload into the new version).
        let (this, c) = (self.clone(), container.clone());
        listen(container.as_ref(), "controllerchange", move |_: Event| {
            if this.updating.get() {
                reload();
            } else {
                this.mark_offline_ready(&c);
            }
        })?;
        let (this, r) = (self.clone(), reg.clone());
        listen(
            self.el.update_reload.as_ref(),
            "click",
            move |_: Event| match r.waiting() {
                Some(waiting) => {
                    this.updating.set(true);
                    let _ = waiting.post_message(&"skip-waiting".into());
                }
                None => reload(),
            },
        )?;
        self.offer_update_if_waiting(container, &reg);
        // A newer worker may already be installing (the browser checks on every navigation), or
        // start to later.
        if let Some(installing) = reg.installing() {
            self.follow(container, &reg, &installing)?;
        }
        let (this, c, r) = (self.clone(), container.clone(), reg.clone());
        listen(reg.as_ref(), "updatefound", move |_: Event| {
            if let Some(installing) = r.installing() {
                let _ = this.follow(&c, &r, &installing);
            }
        })
    }

    /// Offers the update once the installing worker has finished installing.
    fn follow(
        self: &Rc<Self>,
        container: &ServiceWorkerContainer,
        reg: &ServiceWorkerRegistration,
        installing: &ServiceWorker,
    ) -> Result<(), JsValue> {
        let (this, c, r) = (self.clone(), container.clone(), reg.clone());
        listen(installing.as_ref(), "statechange", move |_: Event| {
            this.offer_update_if_waiting(&c, &r)
        })
    }

    /// A new version waits while an old one controls this page: show the banner.
    fn offer_update_if_waiting(
        &self,
        container: &ServiceWorkerContainer,
        reg: &ServiceWorkerRegistration,
    ) {
        let waiting = reg
            .waiting()
            .is_some_and(|w| w.state() == ServiceWorkerState::Installed);
        if waiting && container.controller().is_some() {
            self.el.update.set_hidden(false);
        }
    }

    fn mark_offline_ready(&self, container: &ServiceWorkerContainer) {
        if container.controller().is_some() {
            let _ = self.root.class_list().add_1("offline-ready");
            self.el
                .offline
                .set_text_content(Some("Saved on this device: the page also works offline."));
        }
    }
}

fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}
