//! "Teach it your handwriting": corrections under the pad become personal samples (kept in
//! IndexedDB), practice asks for each digit five times, and one button fine-tunes the pad's
//! model on them in the training workers ([`crate::tune`]); the user keeps or discards the
//! result. A kept personal model is what the pad reads with, on this visit and the next ones
//! (`web/train.js` loads this module at once when a `localStorage` flag says there is one),
//! until the user deletes every sample and model. Nothing leaves the device.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::personal::{Sample, Samples};
use js_sys::{Array, Float32Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlElement};

use crate::handover::{self, hand_over};
use crate::personal_text::{kept, practice};
use crate::personal_view::PersonalView;
use crate::store::{self, PERSONAL, SAMPLES};
use crate::tune::{self, Tuned};
use crate::{on, on_event};

/// Set while a personal model is kept, so the next visit loads this module at once.
const FLAG: &str = "digits-personal-model";
const MODEL_KEY: &str = "model";
/// The shipped model, a file of the site.
const SHIPPED: &str = "model.onnx";

struct Personal {
    doc: Document,
    view: PersonalView,
    samples: RefCell<Samples>,
    /// The IndexedDB key of each of `samples`.
    keys: RefCell<Vec<JsValue>>,
    /// Practice's step while it runs.
    practice: Cell<Option<usize>>,
    /// A sample was just kept: the row stays up with its line until the next drawing.
    noted: Cell<bool>,
    busy: Cell<bool>,
    tuned: RefCell<Option<Tuned>>,
    /// The module's stylesheet has loaded: the row may show.
    styled: Cell<bool>,
}

thread_local! {
    static OPEN: Cell<bool> = const { Cell::new(false) };
}

fn flag(on: bool) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = if on {
            storage.set_item(FLAG, "1")
        } else {
            storage.remove_item(FLAG)
        };
    }
}

/// Wires the row under the pad and the section up (once per page): run by `web/train.js`.
#[wasm_bindgen]
pub fn open_personal() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    if OPEN.with(|o| o.replace(true)) {
        return Ok(());
    }
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let view = PersonalView::install(&doc)
        .map_err(|e| format!("the personal section is incomplete: {e}"))?;
    handover::watch(&doc);
    let p = Rc::new(Personal {
        doc: doc.clone(),
        view,
        samples: RefCell::default(),
        keys: RefCell::default(),
        practice: Cell::new(None),
        noted: Cell::new(false),
        busy: Cell::new(false),
        tuned: RefCell::new(None),
        styled: Cell::new(false),
    });
    for (d, b) in p.view.digit_buttons.iter().enumerate() {
        let t = p.clone();
        on(b, "click", move || {
            wasm_bindgen_futures::spawn_local(t.clone().correct(d as u8))
        })?;
    }
    let t = p.clone();
    on(&p.view.practice, "click", move || t.start_practice())?;
    let t = p.clone();
    on(&p.view.finetune, "click", move || {
        wasm_bindgen_futures::spawn_local(t.clone().fine_tune())
    })?;
    let t = p.clone();
    on(&p.view.keep, "click", move || {
        wasm_bindgen_futures::spawn_local(t.clone().keep())
    })?;
    let t = p.clone();
    on(&p.view.discard, "click", move || t.discard())?;
    let t = p.clone();
    on(&p.view.export, "click", move || t.export())?;
    let t = p.clone();
    on(&p.view.import, "change", move || {
        wasm_bindgen_futures::spawn_local(t.clone().import())
    })?;
    let t = p.clone();
    on(&p.view.delete, "click", move || {
        wasm_bindgen_futures::spawn_local(t.clone().delete())
    })?;
    let t = p.clone();
    on(&p.view.review, "toggle", move || t.review())?;
    let t = p.clone();
    on_event(&p.view.list, "click", move |e| {
        let index = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|t| t.get_attribute("data-delete"))
            .and_then(|i| i.parse::<usize>().ok());
        if let Some(i) = index {
            wasm_bindgen_futures::spawn_local(t.clone().remove(i));
        }
    })?;
    p.watch_prediction()?;
    let t = p.clone();
    wasm_bindgen_futures::spawn_local(async move {
        crate::view::stylesheet_loaded(&t.doc).await;
        t.styled.set(true);
        t.update_row(false);
        t.restore().await
    });
    Ok(())
}

/// What the page's module read (if anything), the 28x28 input, and the strokes.
type Focused = (Option<u8>, Vec<f32>, Vec<Vec<[f32; 2]>>);

/// The page module's digit in focus (`whole`: the whole drawing as one digit), from its
/// `focused_sample` export.
fn focused_sample(whole: bool) -> Option<Focused> {
    let window = web_sys::window()?;
    let bindings = Reflect::get(&window, &"wasmBindings".into()).ok()?;
    let f: Function = Reflect::get(&bindings, &"focused_sample".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let v = f.call1(&JsValue::NULL, &whole.into()).ok()?;
    if v.is_null() || v.is_undefined() {
        return None;
    }
    let read = Reflect::get(&v, &"read".into())
        .ok()
        .and_then(|r| r.as_f64())
        .map(|r| r as u8);
    let input = Reflect::get(&v, &"input".into())
        .ok()?
        .dyn_into::<Float32Array>()
        .ok()?
        .to_vec();
    let strokes = Reflect::get(&v, &"strokes".into())
        .ok()
        .and_then(|s| s.dyn_into::<Array>().ok())
        .map(|list| {
            list.iter()
                .map(|stroke| {
                    Array::from(&stroke)
                        .iter()
                        .map(|p| {
                            let p = Array::from(&p);
                            [
                                p.get(0).as_f64().unwrap_or(0.0) as f32,
                                p.get(1).as_f64().unwrap_or(0.0) as f32,
                            ]
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Some((read, input, strokes))
}

impl Personal {
    fn number(&self) -> String {
        self.doc
            .get_element_by_id("prediction")
            .and_then(|p| p.get_attribute("data-number"))
            .unwrap_or_default()
    }

    /// Shows the row under the pad while there is something to correct (or practice runs, or
    /// a sample was just kept). `changed`: the reading changed (a new drawing after a kept
    /// sample brings the prompt back).
    fn update_row(&self, changed: bool) {
        let drawn = !self.number().is_empty();
        if changed && drawn && self.noted.replace(false) {
            self.view.tell(&self.prompt());
        }
        let ask = self.practice.get().and_then(practice).map(|(d, _)| d);
        let wanted = drawn || ask.is_some() || self.noted.get();
        self.view.show_row(self.styled.get() && wanted, ask);
    }

    fn prompt(&self) -> String {
        match self.practice.get().and_then(practice) {
            Some((_, text)) => text,
            None => "Not what you wrote? Tap the right digit to teach it:".into(),
        }
    }

    /// Follows `#prediction[data-number]`: the pad's reading.
    fn watch_prediction(self: &Rc<Self>) -> Result<(), JsValue> {
        let target = self
            .doc
            .get_element_by_id("prediction")
            .ok_or("#prediction is missing")?;
        let t = self.clone();
        let cb = Closure::<dyn FnMut()>::new(move || t.update_row(true));
        let observer = web_sys::MutationObserver::new(cb.as_ref().unchecked_ref())?;
        let options = web_sys::MutationObserverInit::new();
        options.set_attributes(true);
        options.set_attribute_filter(&Array::of1(&"data-number".into()));
        observer.observe_with_options(&target, &options)?;
        cb.forget();
        self.update_row(false);
        Ok(())
    }

    fn show_samples(&self) {
        self.view
            .samples(&self.samples.borrow().counts(), self.busy.get());
        self.review();
    }

    /// Draws the review if it is open.
    fn review(&self) {
        if self.view.review_open()
            && let Err(e) = self.view.show_review(&self.samples.borrow().samples)
        {
            self.view
                .say(&format!("The review could not be shown: {e}"), true);
        }
    }

    /// Deletes sample `i` (its place in `samples`) from this device.
    async fn remove(self: Rc<Self>, i: usize) {
        let Some(key) = self.keys.borrow().get(i).cloned() else {
            return;
        };
        if self.busy.get() {
            self.view
                .say("Wait for the fine-tuning to finish, then delete.", true);
            return;
        }
        match store::remove_key(SAMPLES, &key).await {
            Ok(()) => {
                // The lists may have changed while IndexedDB worked: find the key again.
                let at = self.keys.borrow().iter().position(|k| k == &key);
                if let Some(at) = at {
                    self.keys.borrow_mut().remove(at);
                    let gone = self.samples.borrow_mut().samples.remove(at);
                    self.view.say(
                        &format!(
                            "Deleted a sample of {}: {} left on this device.",
                            gone.label,
                            self.samples.borrow().len()
                        ),
                        false,
                    );
                }
                self.show_samples();
            }
            Err(e) => self.view.say(&format!("Could not delete it: {e}"), true),
        }
    }

    /// The samples and the personal model kept from earlier visits.
    async fn restore(self: Rc<Self>) {
        let listed = match store::all(SAMPLES).await {
            Ok(records) => store::keys(SAMPLES).await.map(|keys| (records, keys)),
            Err(e) => Err(e),
        };
        match listed {
            Ok((records, keys)) => {
                let mut damaged = 0;
                let mut samples = self.samples.borrow_mut();
                let mut kept_keys = self.keys.borrow_mut();
                for (r, key) in records.iter().zip(keys.iter()) {
                    match r
                        .as_string()
                        .and_then(|text| serde_json::from_str::<Sample>(&text).ok())
                        .filter(|s| s.problem().is_none())
                    {
                        Some(s) => {
                            samples.samples.push(s);
                            kept_keys.push(key);
                        }
                        None => damaged += 1,
                    }
                }
                if damaged > 0 {
                    self.view.say(
                        &format!("{damaged} damaged sample(s) on this device were left out."),
                        true,
                    );
                }
            }
            Err(e) => self
                .view
                .say(&format!("Your samples could not be read: {e}"), true),
        }
        self.show_samples();
        match store::get(PERSONAL, MODEL_KEY).await {
            Ok(record) if !record.is_undefined() && !record.is_null() => {
                match Reflect::get(&record, &"onnx".into())
                    .ok()
                    .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                {
                    Some(onnx) => {
                        hand_over(Some(&onnx.to_vec()), true);
                        flag(true);
                        self.view.say(
                            "The pad reads with your personal model, kept on this device.",
                            false,
                        );
                    }
                    None => self
                        .view
                        .say("Your personal model on this device is damaged.", true),
                }
            }
            Ok(_) => {
                flag(false);
                if self.samples.borrow().is_empty() {
                    self.view
                        .say("Ready: correct a guess under the pad, or practise.", false);
                } else {
                    self.view.say("Ready.", false);
                }
            }
            Err(e) => self
                .view
                .say(&format!("Your personal model could not be read: {e}"), true),
        }
        let _ = self.view.section.class_list().add_1("personal-ready");
    }

    /// The digit in focus was `label`: kept as a sample.
    async fn correct(self: Rc<Self>, label: u8) {
        let practising = self.practice.get().is_some();
        let Some((read, input, strokes)) = focused_sample(practising) else {
            self.view.tell("Write a digit first, then tap what it is.");
            return;
        };
        let time = js_sys::Date::now();
        let mut sample = Sample::from_input(label, &input, strokes, time);
        sample.read = read;
        let text = match serde_json::to_string(&sample) {
            Ok(t) => t,
            Err(e) => {
                self.view.say(&format!("Could not keep it: {e}"), true);
                return;
            }
        };
        let key = match store::add(SAMPLES, &text.into()).await {
            Ok(key) => key,
            Err(e) => {
                self.view
                    .say(&format!("This browser would not keep it: {e}"), true);
                return;
            }
        };
        self.samples.borrow_mut().samples.push(sample);
        self.keys.borrow_mut().push(key);
        self.show_samples();
        let total = self.samples.borrow().len();
        if let Some(step) = self.practice.get() {
            let next = step + 1;
            self.practice.set(practice(next).map(|_| next));
            if self.practice.get().is_none() {
                self.view.say(
                    "Practice done: fine-tune on your samples when you like.",
                    false,
                );
            }
        }
        self.noted.set(true);
        self.view.tell(&match self.practice.get() {
            Some(_) => format!("{} {}", kept(label, read, total), self.prompt()),
            None => kept(label, read, total),
        });
        // A lone digit (or practice's) is done with: the pad is cleared for the next one.
        if (practising || self.number().chars().count() <= 1)
            && let Some(clear) = self
                .doc
                .get_element_by_id("clear")
                .and_then(|c| c.dyn_into::<HtmlElement>().ok())
        {
            clear.click();
        }
        self.update_row(false);
    }

    fn start_practice(&self) {
        self.practice.set(Some(0));
        self.view.tell(&self.prompt());
        self.update_row(false);
        if let Some(pad) = self.doc.get_element_by_id("pad") {
            pad.scroll_into_view();
        }
        self.view.say(
            "Practice: write each digit the pad asks for, then tap it under the pad.",
            false,
        );
    }

    async fn fine_tune(self: Rc<Self>) {
        if self.busy.replace(true) {
            return;
        }
        self.view.busy(true);
        self.view.clear_result();
        self.tuned.borrow_mut().take();
        self.view
            .say("Fine-tuning the pad's model on your samples…", false);
        let base = match handover::current() {
            Some(bytes) => Ok(bytes),
            None => crate::data::download(SHIPPED, &|_, _| {})
                .await
                .map_err(|e| format!("could not get the shipped model: {e}")),
        };
        let samples = self.samples.borrow().clone();
        let outcome = match base {
            Ok(base) => tune::fine_tune(&base, &samples, &self.view).await,
            Err(e) => Err(e),
        };
        self.busy.set(false);
        self.view.busy(false);
        self.show_samples();
        match outcome {
            Ok(tuned) => {
                self.view.result(&tuned.outcome);
                self.view.progress(1.0, "Done.");
                self.view
                    .say("Keep it to draw with it, or discard it.", false);
                *self.tuned.borrow_mut() = Some(tuned);
            }
            Err(e) => self
                .view
                .say(&format!("Fine-tuning failed: {e}. Nothing changed."), true),
        }
    }

    async fn keep(self: Rc<Self>) {
        let Some(tuned) = self.tuned.borrow_mut().take() else {
            return;
        };
        let record = Object::new();
        let _ = Reflect::set(
            &record,
            &"onnx".into(),
            &Uint8Array::from(tuned.onnx.as_slice()),
        );
        let _ = Reflect::set(&record, &"saved".into(), &js_sys::Date::new_0());
        let saved = store::put(PERSONAL, MODEL_KEY, &record).await;
        hand_over(Some(&tuned.onnx), true);
        self.view.decided();
        match saved {
            Ok(()) => {
                flag(true);
                self.view.say(
                    "Kept on this device: the pad now reads with your personal model, on this visit and the next.",
                    false,
                );
            }
            Err(e) => self.view.say(
                &format!("The pad reads with it now, but this browser would not keep it ({e})."),
                true,
            ),
        }
    }

    fn discard(&self) {
        self.tuned.borrow_mut().take();
        self.view.decided();
        self.view
            .say("Discarded: the pad reads with the model it had.", false);
    }

    fn export(&self) {
        let json = self.samples.borrow().to_json();
        let url = crate::object_url(json.as_bytes(), "application/json");
        if let Ok(a) = self.doc.create_element("a") {
            let _ = a.set_attribute("href", &url);
            let _ = a.set_attribute("download", "digits-personal.json");
            if let Ok(a) = a.dyn_into::<HtmlElement>() {
                a.click();
            }
        }
        // Long enough for the download to start.
        let cb = Closure::once_into_js(move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        if let Some(w) = web_sys::window() {
            let _ =
                w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 60_000);
        }
        self.view.say(
            &format!(
                "Exported {} samples as digits-personal.json.",
                self.samples.borrow().len()
            ),
            false,
        );
    }

    async fn import(self: Rc<Self>) {
        let Some(file) = self.view.import.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        self.view.import.set_value("");
        let text = match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(t) => t.as_string().unwrap_or_default(),
            Err(_) => {
                self.view.say(&format!("{name}: could not be read."), true);
                return;
            }
        };
        let read = match Samples::from_json(text.as_bytes(), &name) {
            Ok(s) => s,
            Err(e) => {
                self.view.say(&format!("Nothing imported: {e}"), true);
                return;
            }
        };
        let room = digits_core::personal::MAX_SAMPLES.saturating_sub(self.samples.borrow().len());
        let mut added = 0;
        for s in read.samples.into_iter().take(room) {
            let Ok(text) = serde_json::to_string(&s) else {
                continue;
            };
            let key = match store::add(SAMPLES, &text.into()).await {
                Ok(key) => key,
                Err(e) => {
                    self.view.say(
                        &format!("Imported {added} samples, then this browser refused: {e}"),
                        true,
                    );
                    self.show_samples();
                    return;
                }
            };
            self.samples.borrow_mut().samples.push(s);
            self.keys.borrow_mut().push(key);
            added += 1;
        }
        self.show_samples();
        self.view
            .say(&format!("Imported {added} samples from {name}."), false);
    }

    async fn delete(self: Rc<Self>) {
        let cleared = store::clear(SAMPLES).await;
        let removed = store::remove(PERSONAL, MODEL_KEY).await;
        match cleared.and(removed) {
            Ok(()) => {
                flag(false);
                self.samples.borrow_mut().samples.clear();
                self.keys.borrow_mut().clear();
                self.tuned.borrow_mut().take();
                self.view.clear_result();
                self.practice.set(None);
                self.show_samples();
                if self
                    .doc
                    .document_element()
                    .is_some_and(|h| h.class_list().contains("personal-model"))
                {
                    hand_over(None, false);
                }
                self.view.say(
                    "Deleted: none of your samples and no personal model is left on this device.",
                    false,
                );
            }
            Err(e) => self.view.say(&format!("Could not delete: {e}"), true),
        }
        self.update_row(false);
    }
}
