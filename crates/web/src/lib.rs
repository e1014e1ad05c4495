//! `digits-web`: the page. Write a digit or a whole number with a finger, pen or mouse; the
//! strokes are recorded as points (the canvas is never read back), cut into digits and
//! preprocessed MNIST-style in Rust (`digits-core`), and each digit classified by the shipped
//! ONNX model with tract, live, at most once per animation frame.
//!
//! This file is the page's one wiring point. [`start`] resolves the page's elements
//! ([`page`]), builds each feature with what it needs, and forwards the events between them
//! ("the model loaded", "it failed", and each reading's digit in focus from `draw` to `inside`);
//! features only look down, never at each other:
//!
//! ```text
//! lib (root) ─┬─ draw ──── canvas, pad, answer ─┐
//!             ├─ inside ── inside_text ─────────┤
//!             ├─ report ── check, report_text ──┼─ model ── model_file
//!             ├─ offline                        └─ page, dom, js, protocol, text
//!             └─ model
//! worker (the check's module workers) ── model_file, protocol
//! ```
//!
//! Stable hooks for tests: canvas `#pad` (with `data-strokes`, the number of strokes),
//! `#prediction[data-digit][data-number]`, the digit boxes `[data-digit-index][data-digit]
//! [data-box]` in `#boxes`, `#doubt` (shown when the doubt output doubts the digit in focus is
//! one digit), buttons `#clear`, `#undo`.

pub mod answer;
pub mod inside_text;
pub mod model_file;
pub mod pad;
pub mod page;
pub mod protocol;
pub mod report_text;

#[cfg(target_arch = "wasm32")]
mod canvas;
#[cfg(target_arch = "wasm32")]
mod check;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod draw;
#[cfg(target_arch = "wasm32")]
mod inside;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod model;
#[cfg(target_arch = "wasm32")]
mod offline;
#[cfg(target_arch = "wasm32")]
mod report;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use root::{benchmark_live, benchmark_prediction, focused_sample, start};
#[cfg(target_arch = "wasm32")]
pub use worker::check_slice;

#[cfg(target_arch = "wasm32")]
mod root {
    use std::cell::OnceCell;
    use std::rc::Rc;

    use wasm_bindgen::prelude::*;

    use crate::dom::listen;
    use crate::draw::Draw;
    use crate::inside::Inside;
    use crate::model::ModelSlot;
    use crate::offline::Offline;
    use crate::page::Page;
    use crate::report::Report;

    /// The page's features, built once at start and alive as long as the page.
    struct App {
        root: web_sys::Element,
        model: Rc<ModelSlot>,
        draw: Rc<Draw>,
        inside: Rc<Inside>,
        report: Rc<Report>,
        offline: Rc<Offline>,
    }

    thread_local! {
        /// The page, for the exported benchmark hook (everything else holds what it needs).
        static APP: OnceCell<Rc<App>> = const { OnceCell::new() };
    }

    /// Entry point, run when the wasm module loads.
    #[wasm_bindgen(start)]
    pub fn start() -> Result<(), JsValue> {
        console_error_panic_hook::set_once();
        // The check's workers boot this module too: they have no page to run.
        let Some(window) = web_sys::window() else {
            return Ok(());
        };
        let doc = window.document().ok_or("no document")?;
        let page = Page::resolve(&doc).map_err(|e| format!("the page is incomplete: {e}"))?;
        let retry = page.model.retry.clone();
        let use_shipped = page.model.use_shipped.clone();
        let model = Rc::new(ModelSlot::new(page.model));
        let draw = Draw::attach(page.draw, model.clone())?;
        let inside = Inside::attach(page.inside, model.clone())?;
        let i = inside.clone();
        draw.on_focus(move |input, settled| i.show(input, settled));
        let app = Rc::new(App {
            draw,
            inside,
            report: Report::attach(page.report, model.clone())?,
            offline: Offline::new(page.offline, page.root.clone()),
            root: page.root,
            model,
        });
        let a = app.clone();
        listen(retry.as_ref(), "click", move |_: web_sys::Event| {
            wasm_bindgen_futures::spawn_local(a.clone().load_model(true))
        })?;
        // "Train your own" (the second wasm module) hands over a model it trained.
        let a = app.clone();
        listen(
            doc.as_ref(),
            "digits-use-model",
            // (`detail`: its ONNX bytes; null when it was deleted: back to the shipped model.)
            // Or {bytes, personal: true}: a model fine-tuned on the user's handwriting.)
            move |e: web_sys::CustomEvent| {
                let detail = e.detail();
                let personal =
                    js_sys::Reflect::get(&detail, &"personal".into()).is_ok_and(|v| v.is_truthy());
                let bytes = if personal {
                    js_sys::Reflect::get(&detail, &"bytes".into()).unwrap_or(JsValue::NULL)
                } else {
                    detail
                };
                match bytes.dyn_into::<js_sys::Uint8Array>() {
                    Ok(bytes) => {
                        a.switch_model(|m| m.use_trained(bytes.to_vec(), personal).map(|_| true))
                    }
                    Err(_) => a.switch_model(|m| Ok(m.use_shipped())),
                }
            },
        )?;
        let a = app.clone();
        listen(use_shipped.as_ref(), "click", move |_: web_sys::Event| {
            a.switch_model(|m| Ok(m.use_shipped()));
        })?;
        let _ = app.root.class_list().add_1("wasm-ready");
        APP.with(|cell| cell.set(app.clone()).ok());
        wasm_bindgen_futures::spawn_local(app.load_model(false));
        Ok(())
    }

    impl App {
        /// Changes the pad's model with `f` and reads the drawing again with it.
        fn switch_model(&self, f: impl FnOnce(&ModelSlot) -> Result<bool, String>) {
            match f(&self.model) {
                Ok(changed) => {
                    let (trained, personal) = self.model.kind();
                    let classes = self.root.class_list();
                    let _ = classes.toggle_with_force("trained-model", trained);
                    let _ = classes.toggle_with_force("personal-model", personal);
                    if changed {
                        self.inside.model_changed();
                        self.draw.model_changed();
                    }
                }
                Err(e) => crate::js::warn(&format!("the trained model could not be used: {e}")),
            }
        }

        /// Loads the model (`fresh`: past every cache) and tells the features how it went.
        async fn load_model(self: Rc<Self>, fresh: bool) {
            let ready = self.model.load(fresh).await;
            if ready {
                let _ = self.root.class_list().add_1("model-ready");
                self.report.model_ready();
            } else {
                self.report.model_failed();
            }
            self.draw.show();
            // After the first load, so that nothing competes with the first prediction.
            self.offline.register();
        }
    }

    /// Benchmark hook: median milliseconds of `iterations` readings of the current drawing from
    /// scratch (cutting it into digits, preprocessing and inference of every candidate digit);
    /// NaN if there is nothing to measure.
    #[wasm_bindgen]
    pub fn benchmark_prediction(iterations: u32) -> f64 {
        APP.with(|cell| {
            cell.get()
                .map_or(f64::NAN, |app| app.draw.benchmark(iterations))
        })
    }

    /// For "Teach it your handwriting" (the second module): the digit in focus (`whole`: the
    /// whole drawing as one digit) as `{read, input, strokes}` (what the model read or null,
    /// its 28x28 input as a Float32Array, its strokes as arrays of [x, y] in canvas heights);
    /// null if nothing is drawn.
    #[wasm_bindgen]
    pub fn focused_sample(whole: bool) -> JsValue {
        APP.with(|cell| {
            let Some((read, input, strokes)) =
                cell.get().and_then(|app| app.draw.focus_sample(whole))
            else {
                return JsValue::NULL;
            };
            let out = js_sys::Object::new();
            let set = |k: &str, v: &JsValue| {
                let _ = js_sys::Reflect::set(&out, &k.into(), v);
            };
            set("read", &read.map_or(JsValue::NULL, |d| (d as u32).into()));
            set(
                "input",
                &js_sys::Float32Array::from(input.as_slice()).into(),
            );
            let list = js_sys::Array::new();
            for s in &strokes {
                let points = js_sys::Array::new();
                for &(x, y) in s {
                    points.push(&js_sys::Array::of2(&x.into(), &y.into()));
                }
                list.push(&points);
            }
            set("strokes", &list.into());
            out.into()
        })
    }

    /// Benchmark hook: median milliseconds of `iterations` live updates of the current drawing
    /// (its last stroke one point longer or shorter each time, the readings of the other
    /// strokes kept, as while drawing); NaN if there is nothing to measure.
    #[wasm_bindgen]
    pub fn benchmark_live(iterations: u32) -> f64 {
        APP.with(|cell| {
            cell.get()
                .map_or(f64::NAN, |app| app.draw.benchmark_live(iterations))
        })
    }

    /// Benchmark hook: median milliseconds of `iterations` updates of "Inside the network" for
    /// the digit in focus (every layer of the CNN and the plain network's answer); NaN if
    /// there is nothing to measure or the plain network has not loaded yet.
    #[wasm_bindgen]
    pub fn benchmark_inside(iterations: u32) -> f64 {
        with_focus(|app, input| app.inside.benchmark_update(input, iterations))
    }

    /// Benchmark hook: median milliseconds of the end-of-stroke views (the robustness strip:
    /// eight variants read by both networks; the occlusion map) for the digit in focus; NaN as
    /// for [`benchmark_inside`].
    #[wasm_bindgen]
    pub fn benchmark_settle(iterations: u32) -> f64 {
        with_focus(|app, input| app.inside.benchmark_settle(input, iterations))
    }

    fn with_focus(f: impl FnOnce(&App, &[f32]) -> f64) -> f64 {
        APP.with(|cell| {
            let Some(app) = cell.get() else {
                return f64::NAN;
            };
            match app.draw.focus_input() {
                Some(input) if app.inside.ready() => f(app, &input),
                _ => f64::NAN,
            }
        })
    }

    /// Benchmark hook: mean milliseconds of `iterations` inferences alone (no preprocessing) on
    /// the current drawing's input; NaN if there is nothing to measure.
    #[wasm_bindgen]
    pub fn benchmark_inference(iterations: u32) -> f64 {
        APP.with(|cell| {
            cell.get()
                .map_or(f64::NAN, |app| app.draw.benchmark_inference(iterations))
        })
    }

    /// Benchmark hook: where one inference of the current drawing spends its time, as an array
    /// of `{name, op, seconds}` (each step of tract's plan, mean over `runs` runs); null if
    /// there is nothing to measure.
    #[wasm_bindgen]
    pub fn profile_model(runs: u32) -> JsValue {
        APP.with(|cell| {
            cell.get()
                .and_then(|app| app.draw.profile(runs))
                .and_then(|steps| serde_wasm_bindgen::to_value(&steps).ok())
                .unwrap_or(JsValue::NULL)
        })
    }
}
