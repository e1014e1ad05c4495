//! `digits-train-web`: "Train your own" and "Teach it your handwriting", the page's second
//! WebAssembly module. It is the trainer's library (`digits-train`, the code that made the
//! shipped model) compiled to wasm, loaded only when it is needed (`web/train.js`: a section
//! comes into view, the pad is first touched, or a personal model is kept), so the first
//! prediction never waits for it. The page's instance runs the loops and the sections; Web
//! Workers (`web/train-worker.js`, one per core, booting this same module) compute each step's
//! shards.
//!
//! ```text
//! lib (open_training) ─┬─ view ── charts
//!                      ├─ session ── pool ── protocol
//!                      │           └─ data
//!                      ├─ store (IndexedDB)
//!                      ├─ handover
//!                      └─ settings
//! personal (open_personal) ─┬─ personal_view ── personal_text, view
//!                           ├─ tune ── session, pool
//!                           ├─ store
//!                           └─ handover
//! worker (on_message) ── protocol, settings
//! ```
//!
//! A finished model reaches the page's own module through `handover`: a `digits-use-model`
//! event on the document (`detail`: the bytes, or `{bytes, personal: true}`, or null for the
//! shipped model), which loads it as it loads the shipped one. Corrections ask the page's
//! module for the digit in focus through its `focused_sample` export.

pub mod charts;
pub mod settings;

pub mod personal_text;

#[cfg(target_arch = "wasm32")]
mod data;
#[cfg(target_arch = "wasm32")]
mod handover;
#[cfg(target_arch = "wasm32")]
mod personal;
#[cfg(target_arch = "wasm32")]
mod personal_view;
#[cfg(target_arch = "wasm32")]
mod pool;
#[cfg(target_arch = "wasm32")]
mod protocol;
#[cfg(target_arch = "wasm32")]
mod session;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod tune;
#[cfg(target_arch = "wasm32")]
mod view;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use personal::open_personal;
#[cfg(target_arch = "wasm32")]
pub use section::open_training;
#[cfg(target_arch = "wasm32")]
pub use worker::on_message;

#[cfg(target_arch = "wasm32")]
/// An object URL of `bytes` for a download link ("" if the browser refuses).
pub(crate) fn object_url(bytes: &[u8], kind: &str) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .and_then(|b| web_sys::Url::create_object_url_with_blob(&b))
        .unwrap_or_default()
}

/// Calls `f` on every `name` event of `el`, for the page's lifetime.
#[cfg(target_arch = "wasm32")]
pub(crate) fn on(
    el: &web_sys::EventTarget,
    name: &str,
    mut f: impl FnMut() + 'static,
) -> Result<(), wasm_bindgen::JsValue> {
    on_event(el, name, move |_| f())
}

/// Calls `f` with every `name` event of `el`, for the page's lifetime.
#[cfg(target_arch = "wasm32")]
pub(crate) fn on_event(
    el: &web_sys::EventTarget,
    name: &str,
    f: impl FnMut(web_sys::Event) + 'static,
) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let cb = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(f);
    el.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref())?;
    cb.forget();
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn js_warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

#[cfg(target_arch = "wasm32")]
mod section {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::prelude::*;

    use digits_core::report::ModelReport;

    use crate::on;
    use crate::pool::worker_count;
    use crate::session::{self, Control, Trained};
    use crate::settings::Settings;
    use crate::store;
    use crate::view::{Phase, View};

    struct Section {
        view: View,
        control: Rc<Cell<Control>>,
        /// The last finished model, and the object URLs of its downloads.
        trained: RefCell<Option<(Trained, Vec<String>)>>,
    }

    thread_local! {
        static OPEN: Cell<bool> = const { Cell::new(false) };
    }

    /// Wires the section up (once per page): run by `web/train.js` when it comes into view.
    #[wasm_bindgen]
    pub fn open_training() -> Result<(), JsValue> {
        console_error_panic_hook::set_once();
        if OPEN.with(|o| o.replace(true)) {
            return Ok(());
        }
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let view =
            View::install(&doc).map_err(|e| format!("the training section is incomplete: {e}"))?;
        crate::handover::watch(&doc);
        let s = Rc::new(Section {
            view,
            control: Rc::new(Cell::new(Control::Run)),
            trained: RefCell::new(None),
        });
        s.view.show_spec();
        s.view.set_phase(Phase::Idle);
        let t = s.clone();
        on(&s.view.preset, "change", move || t.view.show_spec())?;
        let t = s.clone();
        on(&s.view.start, "click", move || {
            wasm_bindgen_futures::spawn_local(t.clone().start())
        })?;
        let t = s.clone();
        on(&s.view.pause, "click", move || {
            let next = match t.control.get() {
                Control::Pause => Control::Run,
                _ => Control::Pause,
            };
            t.control.set(next);
        })?;
        let t = s.clone();
        on(&s.view.stop, "click", move || t.control.set(Control::Stop))?;
        let t = s.clone();
        on(&s.view.use_trained, "click", move || t.use_trained())?;
        let t = s.clone();
        on(&s.view.delete, "click", move || {
            wasm_bindgen_futures::spawn_local(t.clone().delete())
        })?;
        // A model kept from an earlier visit comes back, ready to draw with or download.
        let t = s.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match store::load().await {
                Ok(Some(kept)) => {
                    match ModelReport::from_json(kept.report.as_bytes(), "the kept model") {
                        Ok(report) => {
                            t.view.set_phase(Phase::Done);
                            t.finished(
                                Trained {
                                    onnx: kept.onnx,
                                    report,
                                },
                                true,
                            );
                        }
                        Err(e) => t.view.say(
                            &format!(
                                "The model kept on this device is damaged ({e}); train a new one."
                            ),
                            true,
                        ),
                    }
                }
                Ok(None) => {}
                Err(e) => crate::js_warn(&format!("no kept model: {e}")),
            }
            let _ = t.view.section.class_list().add_1("train-ready");
        });
        Ok(())
    }

    impl Section {
        async fn start(self: Rc<Self>) {
            let workers = worker_count();
            let settings = match self.view.with_form(|f| Settings::from_form(f, workers)) {
                Ok(s) => s,
                Err(e) => {
                    self.view.say(&e, true);
                    return;
                }
            };
            self.control.set(Control::Run);
            self.view.clear_result();
            let outcome =
                session::train(&self.view, &settings, workers, self.control.clone()).await;
            match outcome {
                Ok(Some(trained)) => {
                    self.view.set_phase(Phase::Done);
                    let kept = store::Kept {
                        onnx: trained.onnx.clone(),
                        report: trained.report.to_json(),
                    };
                    self.finished(trained, false);
                    match store::save(&kept).await {
                        Ok(()) => self.view.say("Done, and kept on this device until you delete it. Draw with it on the pad, or download it.", false),
                        Err(e) => self.view.say(&format!("Done, but this browser would not keep it ({e}): download it to keep it."), true),
                    }
                }
                Ok(None) => {
                    self.view.set_phase(Phase::Idle);
                    self.view.say(
                        "Stopped. Nothing was kept; Start trains again from the beginning.",
                        false,
                    );
                }
                Err(e) => {
                    self.view.set_phase(Phase::Failed);
                    self.view
                        .say(&format!("Training failed: {e}. Nothing was kept."), true);
                }
            }
        }

        /// Shows a finished model (`kept`: from an earlier visit).
        fn finished(&self, trained: Trained, kept: bool) {
            if let Some((_, urls)) = self.trained.borrow_mut().take() {
                for u in urls {
                    let _ = web_sys::Url::revoke_object_url(&u);
                }
            }
            let r = &trained.report;
            let model_url = crate::object_url(&trained.onnx, "application/octet-stream");
            let report_url = crate::object_url(r.to_json().as_bytes(), "application/json");
            let text = format!(
                "{}: {:.2}% on the 10,000 MNIST test digits ({} parameters, {} training images, {} epoch(s), {:.0} s).",
                if kept {
                    "Your model, kept on this device"
                } else {
                    "Your model"
                },
                100.0 * r.test.accuracy,
                digits_core::text::grouped(r.parameters as u64),
                digits_core::text::grouped(r.train_images as u64),
                r.epochs,
                r.train_seconds
            );
            self.view.result(&text, r, &model_url, &report_url);
            if kept {
                self.view.say(
                    "Your model from an earlier visit is kept on this device: draw with it, download it, or delete it.",
                    false,
                );
            }
            *self.trained.borrow_mut() = Some((trained, vec![model_url, report_url]));
        }

        /// Deletes the kept model (the pad goes back to the shipped one if it used it).
        async fn delete(self: Rc<Self>) {
            match store::delete().await {
                Ok(()) => {
                    if let Some((_, urls)) = self.trained.borrow_mut().take() {
                        for u in urls {
                            let _ = web_sys::Url::revoke_object_url(&u);
                        }
                    }
                    crate::handover::hand_over(None, false);
                    self.view.clear_result();
                    self.view.set_phase(Phase::Idle);
                    self.view
                        .say("Deleted: nothing of it is left on this device.", false);
                }
                Err(e) => self.view.say(&format!("Could not delete it: {e}"), true),
            }
        }

        /// Hands the finished model to the page's module, which switches the pad to it.
        fn use_trained(&self) {
            let trained = self.trained.borrow();
            if let Some((t, _)) = trained.as_ref() {
                crate::handover::hand_over(Some(&t.onnx), false);
            }
        }
    }
}
