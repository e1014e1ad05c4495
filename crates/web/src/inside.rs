//! "Inside the network": for the digit in focus, every layer of the page's CNN as it draws
//! (the real model, run by tract with its inner tensors as extra outputs), the first layer's
//! filters beside their maps, and a plain fully connected network's answer beside the CNN's;
//! at the end of each stroke, the robustness strip (the drawing moved, turned, thickened,
//! thinned, read by both networks) and the occlusion map of the CNN's answer.
//!
//! It is told what to show by the page's root ([`Inside::show`]); it never reads the pad. The
//! plain network (`mlp.onnx`) and the layer plan are loaded on first use, after the first
//! prediction, so they add nothing to what the page loads before it.
//!
//! Hooks: `#layers` (figures with `data-layer`, `data-channels`), `#filters`, `#compare`
//! (`[data-model="cnn"]`, `[data-model="mlp"]` with `data-digit`), `#robustness` (figures with
//! `data-variant`, `data-cnn`, `data-mlp`), `#saliency` (`data-digit`, `data-runs`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::CLASSES;
use digits_core::inside::{self, Tiles, Variant};
use digits_core::metrics::argmax;
use digits_core::model::{LayerView, Model};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, ImageData};

use crate::inside_text as text;
use crate::js::{self, fetch_bytes, now, yield_now};
use crate::model::ModelSlot;
use crate::model_file::{self, MLP_URL};
use crate::page::InsideElements;

enum Mlp {
    NotLoaded,
    Loading,
    Ready(Model),
    Failed(String),
}

/// A canvas and its 2-D context.
struct Paint {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
}

impl Paint {
    fn of(canvas: HtmlCanvasElement) -> Option<Paint> {
        let ctx = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        Some(Paint { canvas, ctx })
    }

    fn put(&self, width: usize, rgba: &[u8]) {
        let height = rgba.len() / 4 / width.max(1);
        if self.canvas.width() as usize != width || self.canvas.height() as usize != height {
            self.canvas.set_width(width as u32);
            self.canvas.set_height(height as u32);
        }
        if let Ok(img) =
            ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32)
        {
            let _ = self.ctx.put_image_data(&img, 0.0, 0.0);
        }
    }

    fn tiles(&self, t: &Tiles) {
        self.put(t.width, &t.rgba);
    }
}

#[derive(Default)]
struct State {
    /// The CNN with its layers, loaded from the page's model on first use, and its first
    /// layer's filters.
    cnn: Option<Model>,
    filter_weights: Option<inside::Filters>,
    /// The layer names the figures in `#layers` were made for, and their canvases.
    layout: Vec<String>,
    layers: Vec<Paint>,
    /// The filter-and-map pairs' canvas, and the pairs with their filters drawn.
    filters: Option<(Paint, inside::Pairs)>,
    /// The input shown last, and whether its end-of-stroke views are done.
    input: Option<Vec<f32>>,
    settled: bool,
    /// The answers to that input.
    cnn_answer: Option<[f32; CLASSES]>,
    mlp_answer: Option<[f32; CLASSES]>,
}

pub struct Inside {
    el: InsideElements,
    model: Rc<ModelSlot>,
    mlp: RefCell<Mlp>,
    state: RefCell<State>,
    /// Counts the inputs shown: end-of-stroke work for an older one is dropped.
    generation: Cell<u64>,
    /// The section is on screen. Off screen nothing is computed (drawing never waits for views
    /// nobody sees); what it would have shown waits here until it scrolls into view.
    visible: Cell<bool>,
    waiting: RefCell<Option<(Option<Vec<f32>>, bool)>>,
}

impl Inside {
    pub fn attach(el: InsideElements, model: Rc<ModelSlot>) -> Result<Rc<Inside>, JsValue> {
        let inside = Rc::new(Inside {
            el,
            model,
            mlp: RefCell::new(Mlp::NotLoaded),
            state: RefCell::default(),
            generation: Cell::new(0),
            visible: Cell::new(false),
            waiting: RefCell::new(None),
        });
        let me = inside.clone();
        crate::dom::on_visibility(&inside.el.section, move |seen| {
            me.visible.set(seen);
            let waiting = me.waiting.borrow_mut().take();
            if let (true, Some((input, settled))) = (seen, waiting) {
                me.show(input.as_deref(), settled);
            }
        })?;
        Ok(inside)
    }

    /// The pad's model changed (one trained or fine-tuned in the page, or back to the shipped
    /// one): the layer views are made from it from the next digit shown on.
    pub fn model_changed(&self) {
        *self.state.borrow_mut() = State::default();
    }

    /// Shows the digit in focus (`None`: nothing drawn): every layer and both answers now, and
    /// once `settled` (the stroke ended) the robustness strip and the occlusion map, after the
    /// browser has painted. Off screen, it only remembers what to show.
    pub fn show(self: &Rc<Self>, input: Option<&[f32]>, settled: bool) {
        if !self.visible.get() {
            *self.waiting.borrow_mut() = Some((input.map(<[f32]>::to_vec), settled));
            return;
        }
        self.render(input, settled);
    }

    fn render(self: &Rc<Self>, input: Option<&[f32]>, settled: bool) {
        let same = self.state.borrow().input.as_deref() == input;
        if same && (!settled || self.state.borrow().settled) {
            return;
        }
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        if !same {
            self.update(input);
        }
        self.state.borrow_mut().settled = settled;
        if settled {
            let me = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                yield_now().await;
                if me.generation.get() == generation {
                    me.settle();
                }
            });
        }
    }

    /// The layers and both answers for `input`.
    fn update(self: &Rc<Self>, input: Option<&[f32]>) {
        self.ensure_models();
        let mut state = self.state.borrow_mut();
        state.input = input.map(<[f32]>::to_vec);
        // The CNN's answer as the card shows it: its ten scores alone (the doubt that it is one
        // digit would flatten it, and the plain network has none).
        let (views, cnn_answer) = match (&state.cnn, input) {
            (Some(cnn), Some(x)) => match cnn.layers_and_prediction(x) {
                Ok((v, p)) => (Some(v), Some(p.digit)),
                Err(e) => {
                    js::error(&format!("the layer views failed: {e}"));
                    (None, None)
                }
            },
            _ => (None, None),
        };
        state.cnn_answer = cnn_answer;
        state.mlp_answer = input.and_then(|x| self.mlp_predict(x));
        if let Some(views) = &views {
            self.paint_layers(&mut state, views);
        } else {
            for p in &state.layers {
                p.ctx
                    .clear_rect(0.0, 0.0, p.canvas.width().into(), p.canvas.height().into());
            }
        }
        if input.is_none() {
            self.el.robustness.set_inner_html("");
            self.el.saliency.set_inner_html("");
            let _ = self.el.saliency.set_attribute("data-digit", "");
        }
        let waiting = match (&*self.mlp.borrow(), input) {
            (_, None) => "draw a digit".to_string(),
            (Mlp::Failed(e), _) => format!("not available ({e})"),
            _ => "loading…".to_string(),
        };
        let cnn_waiting = if input.is_some() {
            "loading…"
        } else {
            "draw a digit"
        };
        self.answer(&self.el.compare_cnn, state.cnn_answer.as_ref(), cnn_waiting);
        self.answer(&self.el.compare_mlp, state.mlp_answer.as_ref(), &waiting);
    }

    fn answer(&self, el: &Element, p: Option<&[f32; CLASSES]>, waiting: &str) {
        let (digit, html) = text::answer_line(p, waiting);
        let _ = el.set_attribute("data-digit", &digit);
        if let Some(out) = el.query_selector("output").ok().flatten() {
            out.set_inner_html(&html);
        }
    }

    /// Builds the figures the first time (or for another model), then paints every layer and
    /// the filter pairs.
    fn paint_layers(&self, state: &mut State, views: &[LayerView]) {
        let names: Vec<String> = views.iter().map(|v| v.name.clone()).collect();
        let tiles: Vec<Tiles> = views.iter().map(inside::tiles).collect();
        if state.layout != names {
            self.el
                .layers
                .set_inner_html(&text::layers_html(views, &tiles));
            state.layers = canvases(&self.el.layers);
            state.layout = names;
        }
        for (p, t) in state.layers.iter().zip(&tiles) {
            p.tiles(t);
        }
        let Some(filters) = &state.filter_weights else {
            return;
        };
        // The first shown layer after the input is what the filters make (conv + ReLU).
        let Some(maps) = views.get(1) else {
            return;
        };
        if state.filters.is_none() {
            let html = r#"<canvas width="1" height="1" role="img" aria-label="Each first-layer filter beside the feature map it makes"></canvas>"#;
            self.el.filters.set_inner_html(html);
            let _ = self
                .el
                .filters
                .set_attribute("data-filters", &filters.count.to_string());
            let pairs = inside::Pairs::new(filters, maps.height, maps.width, 4);
            state.filters = canvases(&self.el.filters).pop().map(|p| (p, pairs));
        }
        if let Some((p, pairs)) = &state.filters {
            p.tiles(&pairs.paint(maps));
        }
    }

    /// The end-of-stroke views: the robustness strip and the occlusion map.
    fn settle(&self) {
        let (input, cnn, mlp) = {
            let s = self.state.borrow();
            match &s.input {
                Some(x) => (x.clone(), s.cnn_answer, s.mlp_answer),
                None => return,
            }
        };
        let cnn_digit = cnn.as_ref().and_then(|p| argmax(p));
        let mlp_digit = mlp.as_ref().and_then(|p| argmax(p));
        let variants: Vec<(Variant, Vec<f32>)> =
            Variant::ALL.iter().map(|&v| (v, v.apply(&input))).collect();
        let rows: Vec<_> = variants
            .iter()
            .map(|(v, x)| {
                let c = self.cnn_predict(x).as_ref().and_then(|p| argmax(p));
                let m = self.mlp_predict(x).as_ref().and_then(|p| argmax(p));
                (*v, c, m)
            })
            .collect();
        self.el
            .robustness
            .set_inner_html(&text::robustness_html(&rows, cnn_digit, mlp_digit));
        for (p, (_, x)) in canvases(&self.el.robustness).iter().zip(&variants) {
            let tiles = inside::tiles(&LayerView {
                name: String::new(),
                op: "Input".into(),
                channels: 1,
                height: digits_core::SIDE,
                width: digits_core::SIDE,
                values: x.clone(),
            });
            p.tiles(&tiles);
        }
        if let Some(digit) = cnn_digit {
            self.saliency(&input, digit);
        }
    }

    /// The occlusion map of the CNN's answer `digit` over the input.
    fn saliency(&self, input: &[f32], digit: usize) {
        let t0 = now();
        let Some(map) = inside::occlusion(input, digit, |x| self.cnn_predict(x)) else {
            return;
        };
        let ms = now() - t0;
        let el = &self.el.saliency;
        el.set_inner_html(&format!(
            r#"<canvas width="28" height="28" role="img" aria-label="Occlusion map"></canvas><p>{}</p>"#,
            text::saliency_caption(digit, map.runs, ms)
        ));
        let _ = el.set_attribute("data-digit", &digit.to_string());
        let _ = el.set_attribute("data-runs", &map.runs.to_string());
        let _ = el.set_attribute("data-ms", &format!("{ms:.1}"));
        if let Some(p) = canvases(el).first() {
            p.put(digits_core::SIDE, &inside::occlusion_rgba(input, &map));
        }
    }

    /// The CNN's probabilities for one input, from its ten scores alone (the page's plain plan:
    /// the fastest).
    fn cnn_predict(&self, x: &[f32]) -> Option<[f32; CLASSES]> {
        self.model.predictions(x)?.ok()?.first().map(|p| p.digit)
    }

    fn mlp_predict(&self, x: &[f32]) -> Option<[f32; CLASSES]> {
        match &*self.mlp.borrow() {
            Mlp::Ready(m) => m.predict(x).ok()?.first().copied(),
            _ => None,
        }
    }

    /// Loads the layer plan from the page's model and starts downloading the plain network,
    /// once.
    fn ensure_models(self: &Rc<Self>) {
        if self.state.borrow().cnn.is_none()
            && let Some(bytes) = self.model.bytes()
        {
            match Model::from_bytes_with_layers(&bytes, model_file::MODEL_URL) {
                Ok(m) => {
                    let mut state = self.state.borrow_mut();
                    state.cnn = Some(m);
                    state.filter_weights = inside::Filters::from_onnx(&bytes);
                }
                Err(e) => js::error(&format!("the layer views: {e}")),
            }
        }
        if matches!(*self.mlp.borrow(), Mlp::NotLoaded) {
            *self.mlp.borrow_mut() = Mlp::Loading;
            wasm_bindgen_futures::spawn_local(self.clone().load_mlp());
        }
    }

    async fn load_mlp(self: Rc<Self>) {
        let loaded = match fetch_bytes(MLP_URL, false).await {
            Ok(bytes) => model_file::load_named(&bytes, MLP_URL).map_err(|e| e.to_string()),
            Err(e) => Err(format!("could not download the plain network: {e}")),
        };
        if let Err(e) = &loaded {
            js::warn(&format!("{MLP_URL}: {e}"));
        }
        *self.mlp.borrow_mut() = match loaded {
            Ok(m) => Mlp::Ready(m),
            Err(e) => Mlp::Failed(e),
        };
        // Show the plain network's answers for what is on the pad now.
        let (input, settled) = {
            let mut s = self.state.borrow_mut();
            let input = s.input.take();
            (input, s.settled)
        };
        self.show(input.as_deref(), settled);
    }

    /// Median milliseconds of `iterations` updates of every layer and both answers for
    /// `input` (as while drawing).
    pub fn benchmark_update(self: &Rc<Self>, input: &[f32], iterations: u32) -> f64 {
        crate::js::median_ms(iterations, || {
            self.state.borrow_mut().input = None;
            self.update(Some(input));
        })
    }

    /// Milliseconds of the end-of-stroke views (robustness strip and occlusion map) for
    /// `input`, median of `iterations`.
    pub fn benchmark_settle(self: &Rc<Self>, input: &[f32], iterations: u32) -> f64 {
        self.update(Some(input));
        crate::js::median_ms(iterations, || self.settle())
    }

    /// Whether the plain network is loaded (benchmarks wait for it).
    pub fn ready(&self) -> bool {
        matches!(*self.mlp.borrow(), Mlp::Ready(_)) && self.state.borrow().cnn.is_some()
    }
}

/// The canvases under `el`, in document order, with their contexts.
fn canvases(el: &Element) -> Vec<Paint> {
    let Ok(list) = el.query_selector_all("canvas") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.get(i)?.dyn_into::<HtmlCanvasElement>().ok())
        .filter_map(Paint::of)
        .collect()
}
