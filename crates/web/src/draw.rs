//! Drawing and the live answer: pointer, button and keyboard input go to the [`Pad`] and the
//! [`Surface`]; the drawing is recognized at most once per animation frame while it changes
//! and once more at the end of each stroke, and the answer, the probability chart and "what
//! the model sees" are shown. It runs the model only through the [`ModelSlot`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::CLASSES;
use digits_core::model::StepTime;
use digits_core::preprocess::{StrokeRaster, strokes_to_mnist, to_mnist};
use digits_core::svg;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Event, KeyboardEvent, PointerEvent};

use crate::answer::Answer;
use crate::canvas::Surface;
use crate::dom::{self, listen};
use crate::js::{self, now};
use crate::model::ModelSlot;
use crate::pad::Pad;
use crate::page::DrawElements;

pub struct Draw {
    el: DrawElements,
    model: Rc<ModelSlot>,
    pad: RefCell<Pad>,
    /// The drawing rasterized for the model, updated with what changed since the last frame.
    raster: RefCell<StrokeRaster>,
    surface: RefCell<Surface>,
    /// A recognition is asked for on the next animation frame.
    frame_pending: Cell<bool>,
    frame_cb: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Draw {
    /// Sets up the pad and its listeners, and shows the empty answer.
    pub fn attach(el: DrawElements, model: Rc<ModelSlot>) -> Result<Rc<Draw>, JsValue> {
        let surface = Surface::new(el.pad.clone())?;
        let draw = Rc::new(Draw {
            el,
            model,
            pad: RefCell::new(Pad::default()),
            raster: RefCell::new(StrokeRaster::default()),
            surface: RefCell::new(surface),
            frame_pending: Cell::new(false),
            frame_cb: RefCell::new(None),
        });
        draw.fit();
        draw.show();
        draw.listen()?;
        Ok(draw)
    }

    fn listen(self: &Rc<Self>) -> Result<(), JsValue> {
        let pad: &web_sys::EventTarget = self.el.pad.as_ref();
        let d = self.clone();
        listen(pad, "pointerdown", move |e: PointerEvent| {
            d.pointer_down(&e)
        })?;
        let d = self.clone();
        listen(pad, "pointermove", move |e: PointerEvent| {
            d.pointer_move(&e)
        })?;
        for name in ["pointerup", "pointercancel"] {
            let d = self.clone();
            listen(pad, name, move |e: PointerEvent| {
                if d.pad.borrow_mut().up(e.pointer_id()) {
                    d.show();
                }
            })?;
        }
        // No context menu or selection on long press.
        listen(pad, "contextmenu", |e: Event| e.prevent_default())?;
        let d = self.clone();
        listen(self.el.undo.as_ref(), "click", move |_: Event| d.undo())?;
        let d = self.clone();
        listen(self.el.clear.as_ref(), "click", move |_: Event| d.clear())?;
        let d = self.clone();
        listen(
            dom::document().as_ref(),
            "keydown",
            move |e: KeyboardEvent| {
                let undo_key = e.key() == "Backspace"
                    || ((e.ctrl_key() || e.meta_key()) && e.key().eq_ignore_ascii_case("z"));
                if e.key() == "Escape" {
                    e.prevent_default();
                    d.clear();
                } else if undo_key {
                    e.prevent_default();
                    d.undo();
                }
            },
        )?;
        let window = web_sys::window().ok_or("no window")?;
        let d = self.clone();
        listen(window.as_ref(), "resize", move |_: Event| d.fit())?;
        Ok(())
    }

    fn pointer_down(self: &Rc<Self>, e: &PointerEvent) {
        if e.pointer_type() == "mouse" && e.button() != 0 {
            return;
        }
        e.prevent_default();
        let (x, y) = self.surface.borrow().position(e);
        if self.pad.borrow_mut().down(e.pointer_id(), x, y) {
            let _ = self.el.pad.set_pointer_capture(e.pointer_id());
            self.surface.borrow().dot(x, y);
            self.schedule();
        }
    }

    fn pointer_move(self: &Rc<Self>, e: &PointerEvent) {
        if !self.pad.borrow().drawing() {
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
        let surface = self.surface.borrow();
        let mut drew = false;
        for ev in &list {
            let (x, y) = surface.position(ev);
            if let Some((a, b)) = self.pad.borrow_mut().moved(e.pointer_id(), x, y) {
                surface.segment(a, b);
                drew = true;
            }
        }
        drop(surface);
        if drew {
            self.schedule();
        }
    }

    fn undo(&self) {
        self.pad.borrow_mut().undo();
        self.surface.borrow().redraw(self.pad.borrow().strokes());
        self.show();
    }

    fn clear(&self) {
        self.pad.borrow_mut().clear();
        self.surface.borrow().redraw(self.pad.borrow().strokes());
        self.show();
    }

    /// Follows the canvas's size and pixel ratio, redrawing from the recorded strokes (so a
    /// resize or rotation never garbles the drawing).
    fn fit(&self) {
        let mut surface = self.surface.borrow_mut();
        if surface.fit() {
            surface.redraw(self.pad.borrow().strokes());
        }
    }

    /// Asks for a recognition on the next animation frame (at most one per frame).
    fn schedule(self: &Rc<Self>) {
        if self.frame_pending.replace(true) {
            return;
        }
        let mut cb = self.frame_cb.borrow_mut();
        let cb = cb.get_or_insert_with(|| {
            let d = self.clone();
            Closure::new(move || {
                d.frame_pending.set(false);
                d.show();
            })
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
        }
    }

    /// Preprocessing and inference for the current strokes: (model input, probabilities). Only
    /// what changed since the last frame is rasterized again.
    fn recognize(&self) -> (Option<Vec<f32>>, Option<[f32; CLASSES]>) {
        let input = self
            .raster
            .borrow_mut()
            .update(self.pad.borrow().strokes())
            .and_then(to_mnist);
        (input.clone(), self.classify(input.as_deref()))
    }

    /// The model's probabilities for an input, if there is one and a model.
    fn classify(&self, input: Option<&[f32]>) -> Option<[f32; CLASSES]> {
        input.and_then(|img| match self.model.predict(img)? {
            Ok(p) => p.first().copied(),
            Err(e) => {
                js::error(&format!("inference failed: {e}"));
                None
            }
        })
    }

    /// Recognizes the current drawing and shows the answer, the chart and the model's view.
    pub fn show(&self) {
        let strokes = self.pad.borrow().strokes().len();
        let _ = self
            .el
            .pad
            .set_attribute("data-strokes", &strokes.to_string());
        let (input, probs) = self.recognize();
        self.el.seen.set_inner_html(&match &input {
            Some(img) => svg::digit_image(img, "What the model sees"),
            None => svg::digit_image(&[], "Nothing drawn yet"),
        });
        self.el
            .chart
            .set_inner_html(&svg::probability_chart(&probs.unwrap_or([0.0; CLASSES])));
        let answer = Answer::new(probs.as_ref(), input.is_some(), self.model.status());
        let _ = self
            .el
            .prediction
            .set_attribute("data-digit", &answer.data_digit);
        self.el.digit.set_text_content(Some(&answer.digit));
        self.el.confidence.set_text_content(Some(&answer.caption));
    }

    /// Median milliseconds of `iterations` recognitions of the current drawing from scratch
    /// (rasterizing every stroke, preprocessing, inference: what a frame costs at worst, when the
    /// drawing grows past its bounding box); NaN if there is nothing to measure.
    pub fn benchmark(&self, iterations: u32) -> f64 {
        if self.pad.borrow().is_empty() || self.model.bytes().is_none() {
            return f64::NAN;
        }
        median_ms(iterations, || {
            let input = strokes_to_mnist(self.pad.borrow().strokes());
            let _ = self.classify(input.as_deref());
        })
    }

    /// Mean milliseconds of `iterations` inferences alone on the current drawing's input, timed
    /// as one loop (the browser's clock is too coarse for one inference); NaN if there is
    /// nothing to measure. The figure to set beside another runtime's.
    pub fn benchmark_inference(&self, iterations: u32) -> f64 {
        let input = strokes_to_mnist(self.pad.borrow().strokes());
        match (input, self.model.bytes()) {
            (Some(input), Some(_)) => {
                let n = iterations.max(1);
                let t0 = now();
                for _ in 0..n {
                    let _ = self.classify(Some(&input));
                }
                (now() - t0) / f64::from(n)
            }
            _ => f64::NAN,
        }
    }

    /// Where inference of the current drawing spends its time, step by step, over `runs` runs;
    /// `None` if there is no drawing or no model.
    pub fn profile(&self, runs: u32) -> Option<Vec<StepTime>> {
        let input = strokes_to_mnist(self.pad.borrow().strokes())?;
        match self.model.profile(&input, runs as usize)? {
            Ok(steps) => Some(steps),
            Err(e) => {
                js::error(&format!("profiling failed: {e}"));
                None
            }
        }
    }
}

/// Median milliseconds of `iterations` calls of `f`.
fn median_ms(iterations: u32, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..iterations.max(1))
        .map(|_| {
            let t0 = now();
            f();
            now() - t0
        })
        .collect();
    times.sort_by(|x, y| x.total_cmp(y));
    times[times.len() / 2]
}
