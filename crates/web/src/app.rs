//! The page's controller: wires the canvas, the buttons and the keyboard to the [`Pad`], loads
//! the model, and shows the prediction.

use std::cell::RefCell;
use std::rc::Rc;

use digits_core::metrics::argmax;
use digits_core::model::Model;
use digits_core::preprocess::{Stroke, strokes_to_mnist};
use digits_core::svg;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, KeyboardEvent, PointerEvent};

use crate::dom::{self, by_id, listen, number, set_attr, set_hidden, set_html, set_text};
use crate::pad::Pad;

/// Where the model is, relative to the page (works under any sub-path).
const MODEL_URL: &str = "model.onnx";
/// Pen width on screen, as a share of the canvas side.
const SCREEN_PEN: f64 = 0.045;
const INK: &str = "#111827";

enum ModelState {
    Loading,
    /// The model, and the ONNX bytes it was loaded from (for the evaluation workers).
    Ready(Model, Rc<[u8]>),
    Failed,
}

struct App {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    pad: Pad,
    model: ModelState,
    /// Side of the canvas in CSS pixels and the device pixel ratio of the backing store.
    css: f64,
    dpr: f64,
    frame_pending: bool,
    frame_cb: Option<Closure<dyn FnMut()>>,
}

type Shared = Rc<RefCell<App>>;

thread_local! {
    static APP: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

pub(crate) fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Entry point, run when the wasm module loads.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    // The evaluation workers instantiate this module too: they have no page to run.
    if web_sys::window().is_none() {
        return Ok(());
    }
    let canvas: HtmlCanvasElement = by_id("pad")?;
    let ctx = canvas
        .get_context("2d")?
        .ok_or("the browser gave no 2D canvas context")?
        .dyn_into::<CanvasRenderingContext2d>()?;
    let app = Rc::new(RefCell::new(App {
        canvas: canvas.clone(),
        ctx,
        pad: Pad::default(),
        model: ModelState::Loading,
        css: 0.0,
        dpr: 1.0,
        frame_pending: false,
        frame_cb: None,
    }));
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    resize(&app);
    show_prediction(&app);
    attach(&app)?;
    dom::document()
        .document_element()
        .ok_or("no root element")?
        .class_list()
        .add_1("wasm-ready")?;
    wasm_bindgen_futures::spawn_local(load_model(app, false));
    crate::report::init()?;
    Ok(())
}

/// The bytes of the loaded model, if there is one.
pub(crate) fn model_bytes() -> Option<Rc<[u8]>> {
    APP.with(|a| match &a.borrow().as_ref()?.borrow().model {
        ModelState::Ready(_, bytes) => Some(bytes.clone()),
        _ => None,
    })
}

/// Runs `f` with the loaded model, if there is one.
pub(crate) fn with_model<R>(f: impl FnOnce(&Model) -> R) -> Option<R> {
    APP.with(|a| {
        let app = a.borrow().clone()?;
        let app = app.borrow();
        match &app.model {
            ModelState::Ready(m, _) => Some(f(m)),
            _ => None,
        }
    })
}

fn attach(app: &Shared) -> Result<(), JsValue> {
    let canvas = app.borrow().canvas.clone();
    let target: &web_sys::EventTarget = canvas.as_ref();
    {
        let app = app.clone();
        listen(target, "pointerdown", move |e: PointerEvent| {
            if e.pointer_type() == "mouse" && e.button() != 0 {
                return;
            }
            e.prevent_default();
            let (x, y) = position(&app, &e);
            let started = app.borrow_mut().pad.down(e.pointer_id(), x, y);
            if started {
                let a = app.borrow();
                let _ = a.canvas.set_pointer_capture(e.pointer_id());
                a.dot(x, y);
                drop(a);
                schedule(&app);
            }
        })?;
    }
    {
        let app = app.clone();
        listen(target, "pointermove", move |e: PointerEvent| {
            if !app.borrow().pad.drawing() {
                return;
            }
            e.prevent_default();
            // Every position the browser merged into this event, for smooth curves.
            let events = e.get_coalesced_events();
            let list: Vec<PointerEvent> = if events.length() > 0 {
                events.iter().filter_map(|v| v.dyn_into().ok()).collect()
            } else {
                vec![e.clone()]
            };
            let mut drew = false;
            for ev in &list {
                let (x, y) = position(&app, ev);
                let seg = app.borrow_mut().pad.moved(e.pointer_id(), x, y);
                if let Some((a, b)) = seg {
                    app.borrow().segment(a, b);
                    drew = true;
                }
            }
            if drew {
                schedule(&app);
            }
        })?;
    }
    for name in ["pointerup", "pointercancel"] {
        let app = app.clone();
        listen(target, name, move |e: PointerEvent| {
            if app.borrow_mut().pad.up(e.pointer_id()) {
                show_prediction(&app);
            }
        })?;
    }
    // No context menu or selection on long press.
    listen(target, "contextmenu", |e: web_sys::Event| {
        e.prevent_default()
    })?;

    let undo: web_sys::HtmlElement = by_id("undo")?;
    {
        let app = app.clone();
        listen(undo.as_ref(), "click", move |_: web_sys::Event| {
            do_undo(&app)
        })?;
    }
    let clear: web_sys::HtmlElement = by_id("clear")?;
    {
        let app = app.clone();
        listen(clear.as_ref(), "click", move |_: web_sys::Event| {
            do_clear(&app)
        })?;
    }
    let retry: web_sys::HtmlElement = by_id("retry")?;
    {
        let app = app.clone();
        listen(retry.as_ref(), "click", move |_: web_sys::Event| {
            app.borrow_mut().model = ModelState::Loading;
            wasm_bindgen_futures::spawn_local(load_model(app.clone(), true));
        })?;
    }
    let doc = dom::document();
    {
        let app = app.clone();
        listen(doc.as_ref(), "keydown", move |e: KeyboardEvent| {
            let undo_key = e.key() == "Backspace"
                || ((e.ctrl_key() || e.meta_key()) && e.key().eq_ignore_ascii_case("z"));
            if e.key() == "Escape" {
                e.prevent_default();
                do_clear(&app);
            } else if undo_key {
                e.prevent_default();
                do_undo(&app);
            }
        })?;
    }
    let window = web_sys::window().ok_or("no window")?;
    {
        let app = app.clone();
        listen(window.as_ref(), "resize", move |_: web_sys::Event| {
            resize(&app)
        })?;
    }
    Ok(())
}

/// Pointer position relative to the canvas, 0..1 across its side.
fn position(app: &Shared, e: &PointerEvent) -> (f32, f32) {
    let rect = app.borrow().canvas.get_bounding_client_rect();
    let side = rect.width().max(1.0);
    let x = (number(e, "clientX") - rect.left()) / side;
    let y = (number(e, "clientY") - rect.top()) / side;
    (x as f32, y as f32)
}

fn do_undo(app: &Shared) {
    app.borrow_mut().pad.undo();
    app.borrow().redraw();
    show_prediction(app);
}

fn do_clear(app: &Shared) {
    app.borrow_mut().pad.clear();
    app.borrow().redraw();
    show_prediction(app);
}

/// Matches the backing store to the canvas's CSS size and the device pixel ratio, then redraws
/// from the recorded strokes (so a resize or rotation never garbles the drawing).
fn resize(app: &Shared) {
    let mut a = app.borrow_mut();
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let css = a.canvas.get_bounding_client_rect().width().max(1.0);
    if (css - a.css).abs() < 0.5 && (dpr - a.dpr).abs() < 1e-3 {
        return;
    }
    a.css = css;
    a.dpr = dpr;
    let px = (css * dpr).round() as u32;
    a.canvas.set_width(px);
    a.canvas.set_height(px);
    a.redraw();
}

impl App {
    fn prepare(&self) {
        let ctx = &self.ctx;
        let _ = ctx.set_transform(self.dpr, 0.0, 0.0, self.dpr, 0.0, 0.0);
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
        ctx.set_line_width(SCREEN_PEN * self.css);
        ctx.set_stroke_style_str(INK);
        ctx.set_fill_style_str(INK);
    }

    fn segment(&self, a: (f32, f32), b: (f32, f32)) {
        self.prepare();
        let s = self.css;
        self.ctx.begin_path();
        self.ctx.move_to(a.0 as f64 * s, a.1 as f64 * s);
        self.ctx.line_to(b.0 as f64 * s, b.1 as f64 * s);
        self.ctx.stroke();
    }

    fn dot(&self, x: f32, y: f32) {
        self.prepare();
        let s = self.css;
        self.ctx.begin_path();
        let _ = self.ctx.arc(
            x as f64 * s,
            y as f64 * s,
            SCREEN_PEN * s / 2.0,
            0.0,
            std::f64::consts::TAU,
        );
        self.ctx.fill();
    }

    fn redraw(&self) {
        let _ = self.ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        let (w, h) = (self.canvas.width() as f64, self.canvas.height() as f64);
        self.ctx.clear_rect(0.0, 0.0, w, h);
        for stroke in self.pad.strokes() {
            self.draw_stroke(stroke);
        }
    }

    fn draw_stroke(&self, stroke: &Stroke) {
        if stroke.len() == 1 {
            self.dot(stroke[0].0, stroke[0].1);
            return;
        }
        self.prepare();
        let s = self.css;
        self.ctx.begin_path();
        for (i, &(x, y)) in stroke.iter().enumerate() {
            if i == 0 {
                self.ctx.move_to(x as f64 * s, y as f64 * s);
            } else {
                self.ctx.line_to(x as f64 * s, y as f64 * s);
            }
        }
        self.ctx.stroke();
    }
}

/// Asks for a prediction on the next animation frame (at most one per frame).
fn schedule(app: &Shared) {
    let mut a = app.borrow_mut();
    if a.frame_pending {
        return;
    }
    a.frame_pending = true;
    if a.frame_cb.is_none() {
        let app2 = app.clone();
        a.frame_cb = Some(Closure::new(move || {
            app2.borrow_mut().frame_pending = false;
            show_prediction(&app2);
        }));
    }
    let cb = a.frame_cb.as_ref().expect("set above");
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
    }
}

/// Preprocessing and inference for the current strokes: (model input, probabilities).
fn recognize(app: &App) -> (Option<Vec<f32>>, Option<[f32; 10]>) {
    let input = strokes_to_mnist(app.pad.strokes());
    let probs = match (&input, &app.model) {
        (Some(img), ModelState::Ready(m, _)) => match m.predict(img) {
            Ok(p) => p.first().copied(),
            Err(e) => {
                web_sys::console::error_1(&format!("inference failed: {e}").into());
                None
            }
        },
        _ => None,
    };
    (input, probs)
}

/// Recognizes the current drawing and updates the prediction, the chart and the model's view.
fn show_prediction(app: &Shared) {
    let a = app.borrow();
    set_attr("pad", "data-strokes", &a.pad.strokes().len().to_string());
    let (input, probs) = recognize(&a);
    match &input {
        Some(img) => set_html("seen", &svg::digit_image(img, "What the model sees")),
        None => set_html("seen", &svg::digit_image(&[], "Nothing drawn yet")),
    }
    set_html(
        "chart",
        &svg::probability_chart(&probs.unwrap_or([0.0; 10])),
    );
    match (probs, &input, &a.model) {
        (Some(p), _, _) => {
            let d = argmax(&p).unwrap_or(0);
            set_attr("prediction", "data-digit", &d.to_string());
            set_text("digit", &d.to_string());
            set_text("confidence", &format!("{:.1}% sure", 100.0 * p[d]));
        }
        (None, None, _) => {
            set_attr("prediction", "data-digit", "");
            set_text("digit", "?");
            set_text("confidence", "Draw a digit");
        }
        (None, Some(_), ModelState::Loading) => {
            set_attr("prediction", "data-digit", "");
            set_text("digit", "…");
            set_text("confidence", "Waiting for the model");
        }
        (None, Some(_), _) => {
            set_attr("prediction", "data-digit", "");
            set_text("digit", "?");
            set_text("confidence", "No model loaded");
        }
    }
}

fn status(text: &str, error: bool) {
    set_text("status-text", text);
    set_attr("status", "data-state", if error { "error" } else { "ok" });
    set_hidden("retry", !error);
}

/// Downloads `url` (relative to the page). `fresh` asks the network (and the service worker) for
/// a new copy instead of a cached one: after a corrupt download, and on Retry.
pub(crate) async fn fetch_bytes(url: &str, fresh: bool) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    if fresh {
        init.set_cache(web_sys::RequestCache::Reload);
    }
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("network error ({})", js_error(&e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    if !resp.ok() {
        return Err(format!("HTTP {} for {url}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| format!("download interrupted ({})", js_error(&e)))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

pub(crate) fn js_error(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Downloads and loads the model. `fresh` skips every cache (Retry). A model that downloads but
/// does not load (say, a damaged copy in a cache) is fetched once more from the network before
/// the page gives up and shows the error with its Retry button.
async fn load_model(app: Shared, fresh: bool) {
    status("Loading the model…", false);
    set_hidden("status", false);
    let mut loaded = download_model(fresh).await;
    if let (Err(e), false) = (&loaded, fresh) {
        web_sys::console::warn_1(&format!("model: {e}; fetching a fresh copy").into());
        loaded = download_model(true).await;
    }
    match loaded {
        Ok((model, bytes)) => {
            let about = match (model.meta("parameters"), model.meta("test_accuracy")) {
                (Some(p), Some(a)) => match a.parse::<f64>() {
                    Ok(a) => format!(
                        "Model: a {p}-parameter CNN, {:.2}% on the 10,000 MNIST test digits. Trained from scratch with ndarray, run with tract in WebAssembly.",
                        100.0 * a
                    ),
                    Err(_) => format!("Model: a {p}-parameter CNN, run with tract in WebAssembly."),
                },
                _ => "Model loaded; it carries no training report.".to_string(),
            };
            set_text("about", &about);
            app.borrow_mut().model = ModelState::Ready(model, bytes.into());
            status("Model ready", false);
            set_hidden("status", true);
            let _ = dom::document()
                .document_element()
                .map(|e| e.class_list().add_1("model-ready"));
            crate::report::model_ready();
        }
        Err(e) => {
            app.borrow_mut().model = ModelState::Failed;
            web_sys::console::warn_1(&format!("model: {e}").into());
            status(
                &format!(
                    "The model could not be loaded: {e}. You can still draw; predictions need the model."
                ),
                true,
            );
        }
    }
    show_prediction(&app);
    crate::offline::register();
}

async fn download_model(fresh: bool) -> Result<(Model, Vec<u8>), String> {
    match fetch_bytes(MODEL_URL, fresh).await {
        Ok(bytes) => Model::from_bytes_for_batch(&bytes, MODEL_URL, crate::MODEL_BATCH)
            .map(|m| (m, bytes))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("could not download the model: {e}")),
    }
}

/// Benchmark hook: median milliseconds of `iterations` live predictions (preprocessing of the
/// recorded strokes + inference) on the current drawing; NaN if there is nothing to measure.
#[wasm_bindgen]
pub fn benchmark_prediction(iterations: u32) -> f64 {
    APP.with(|a| {
        let Some(app) = a.borrow().clone() else {
            return f64::NAN;
        };
        let app = app.borrow();
        if app.pad.is_empty() || !matches!(app.model, ModelState::Ready(..)) {
            return f64::NAN;
        }
        let mut times: Vec<f64> = (0..iterations.max(1))
            .map(|_| {
                let t0 = now();
                let _ = recognize(&app);
                now() - t0
            })
            .collect();
        times.sort_by(|x, y| x.total_cmp(y));
        times[times.len() / 2]
    })
}
