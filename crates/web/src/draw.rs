//! Drawing and the live answer: pointer, button and keyboard input go to the [`Pad`] and the
//! [`Surface`]; the drawing is read (cut into digits by `digits_core::segment`, each read by the
//! model) at most once per animation frame while it changes and once more at the end of each
//! stroke, and the number, a box around each digit, and the probability chart and "what the
//! model sees" of the digit in focus are shown. Tapping a digit (in the number or its box's tag)
//! or hovering its box puts it in focus; by default it is the digit written last. It runs the
//! model only through the [`ModelSlot`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::CLASSES;
use digits_core::model::{Prediction, StepTime};
use digits_core::preprocess::{Stroke, strokes_to_mnist};
use digits_core::segment::{Digit, Reader};
use digits_core::svg;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Event, KeyboardEvent, PointerEvent};

use crate::answer::{self, Answer};
use crate::canvas::{SCREEN_PEN, Surface};
use crate::dom::{self, listen};
use crate::js::{self, median_ms, now};
use crate::model::ModelSlot;
use crate::pad::Pad;
use crate::page::DrawElements;

pub struct Draw {
    el: DrawElements,
    model: Rc<ModelSlot>,
    pad: RefCell<Pad>,
    /// Reads the drawing, keeping the readings of what did not change since the last frame.
    reader: RefCell<Reader>,
    /// The digits found in the drawing, left to right, as last read.
    digits: RefCell<Vec<Digit>>,
    /// The digit the user put in focus (tapped or hovered); `None`: the one written last.
    focus: Cell<Option<usize>>,
    surface: RefCell<Surface>,
    /// A recognition is asked for on the next animation frame.
    frame_pending: Cell<bool>,
    frame_cb: RefCell<Option<Closure<dyn FnMut()>>>,
    /// Told the digit in focus's input after every reading, and whether the stroke has ended.
    watch: RefCell<Option<Watcher>>,
}

/// What [`Draw::on_focus`] calls.
type Watcher = Box<dyn Fn(Option<&[f32]>, bool)>;

impl Draw {
    /// Sets up the pad and its listeners, and shows the empty answer.
    pub fn attach(el: DrawElements, model: Rc<ModelSlot>) -> Result<Rc<Draw>, JsValue> {
        let surface = Surface::new(el.pad.clone())?;
        let draw = Rc::new(Draw {
            el,
            model,
            pad: RefCell::new(Pad::default()),
            reader: RefCell::new(Reader::default()),
            digits: RefCell::new(Vec::new()),
            focus: Cell::new(None),
            surface: RefCell::new(surface),
            frame_pending: Cell::new(false),
            frame_cb: RefCell::new(None),
            watch: RefCell::new(None),
        });
        draw.fit();
        draw.show();
        draw.listen()?;
        Ok(draw)
    }

    /// After every reading, `f` gets the 28x28 input of the digit in focus (`None` when there
    /// is none) and whether the drawing has settled (no stroke under way).
    pub fn on_focus(&self, f: impl Fn(Option<&[f32]>, bool) + 'static) {
        *self.watch.borrow_mut() = Some(Box::new(f));
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
        // Tapping a digit, in the number or on its box's tag, puts it in focus.
        for area in [&self.el.digit, &self.el.boxes] {
            let d = self.clone();
            listen(area.as_ref(), "click", move |e: Event| {
                let hit = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .and_then(|t| t.closest("[data-i], [data-digit-index]").ok().flatten());
                let index = hit.and_then(|h| {
                    h.get_attribute("data-i")
                        .or_else(|| h.get_attribute("data-digit-index"))
                });
                if let Some(i) = index.and_then(|i| i.parse().ok()) {
                    d.set_focus(i);
                }
            })?;
        }
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
            self.focus.set(None);
            let _ = self.el.pad.set_pointer_capture(e.pointer_id());
            self.surface.borrow().dot(x, y);
            self.schedule();
        }
    }

    fn pointer_move(self: &Rc<Self>, e: &PointerEvent) {
        if !self.pad.borrow().drawing() {
            if e.pointer_type() == "mouse" {
                self.hover(e);
            }
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
        self.focus.set(None);
        self.pad.borrow_mut().undo();
        self.surface.borrow().redraw(self.pad.borrow().strokes());
        self.show();
    }

    fn clear(&self) {
        self.focus.set(None);
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
            drop(surface);
            self.render();
        }
    }

    /// Puts digit `i` in focus.
    fn set_focus(&self, i: usize) {
        if i < self.digits.borrow().len() && self.focus.replace(Some(i)) != Some(i) {
            self.render();
        }
    }

    /// A mouse over a digit's box puts that digit in focus.
    fn hover(&self, e: &PointerEvent) {
        let (x, y) = self.surface.borrow().position(e);
        let margin = self.box_margin() / self.surface.borrow().scale();
        let hit = self.digits.borrow().iter().position(|d| {
            let r = &d.rect;
            let m = margin as f32;
            x >= r.x0 - m && x <= r.x1 + m && y >= r.y0 - m && y <= r.y1 + m
        });
        if let Some(i) = hit {
            self.set_focus(i);
        }
    }

    /// How far a digit's box reaches past its stroke points, in CSS pixels: the pen's half
    /// width and a little air.
    fn box_margin(&self) -> f64 {
        SCREEN_PEN * self.surface.borrow().scale() / 2.0 + 4.0
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

    /// Reads the current strokes: the digits found, left to right. Only what changed since the
    /// last frame is read by the model again.
    fn recognize(&self) -> Vec<Digit> {
        let mut classify = |x: &[f32]| self.classify(Some(x));
        self.reader
            .borrow_mut()
            .strokes(self.pad.borrow().strokes(), &mut classify)
    }

    /// The model's answer for an input, taken apart, if there is one and a model.
    fn classify(&self, input: Option<&[f32]>) -> Option<Prediction> {
        input.and_then(|img| match self.model.predictions(img)? {
            Ok(p) => p.first().copied(),
            Err(e) => {
                js::error(&format!("inference failed: {e}"));
                None
            }
        })
    }

    /// Reads the current drawing and shows it: the number, the boxes and the digit in focus.
    pub fn show(&self) {
        let strokes = self.pad.borrow().strokes().len();
        let _ = self
            .el
            .pad
            .set_attribute("data-strokes", &strokes.to_string());
        *self.digits.borrow_mut() = self.recognize();
        self.render();
    }

    /// Shows the last reading: the number and how sure, a box around each digit, and the chart
    /// and the model's view of the digit in focus.
    fn render(&self) {
        let digits = self.digits.borrow();
        let probs: Vec<Option<[f32; CLASSES]>> = digits.iter().map(|d| d.probabilities()).collect();
        let strokes: Vec<Vec<usize>> = digits.iter().map(|d| d.strokes.clone()).collect();
        let focus = self
            .focus
            .get()
            .filter(|&i| i < digits.len())
            .or_else(|| answer::latest(&strokes));
        let drawn = !self.pad.borrow().is_empty();
        let shown = focus.and_then(|i| digits.get(i));
        // The digit in focus's answer taken apart: the chart shows its ten scores alone (the
        // number reader weighed them with the doubt that it is one digit; the doubt is said
        // apart).
        let detail = shown.and_then(|d| d.prediction);
        let answer = Answer::new(&probs, focus, detail, drawn, self.model.status());
        let p = &self.el.prediction;
        let _ = p.set_attribute("data-digit", &answer.data_digit);
        let _ = p.set_attribute("data-number", &answer.data_number);
        let many = answer.digits.len() > 1;
        let mut html = String::new();
        for (i, d) in answer.digits.iter().enumerate() {
            if many {
                let class = if focus == Some(i) { "nd focus" } else { "nd" };
                html.push_str(&format!(
                    r#"<button type="button" class="{class}" data-i="{i}" aria-label="Digit {n}: {d}">{d}</button>"#,
                    n = i + 1
                ));
            } else {
                html.push_str(&format!("<span>{d}</span>"));
            }
        }
        self.el.digit.set_inner_html(&html);
        self.el.confidence.set_text_content(Some(&answer.caption));
        self.el.doubt.set_hidden(!answer.doubt);
        if let Some(watch) = &*self.watch.borrow() {
            let input = shown.map(|d| d.input.as_slice()).filter(|x| !x.is_empty());
            watch(input, !self.pad.borrow().drawing());
        }
        let which = match (shown, digits.len()) {
            (Some(_), n) if n > 1 => format!(" (digit {} of {n})", focus.unwrap_or(0) + 1),
            _ => String::new(),
        };
        self.el.seen.set_inner_html(&match shown {
            Some(d) => svg::digit_image(&d.input, "What the model sees"),
            None => svg::digit_image(&[], "Nothing drawn yet"),
        });
        self.el.seen_caption.set_text_content(Some(&format!(
            "What the model sees{which}: your drawing as a 28×28 MNIST image"
        )));
        self.el.chart.set_inner_html(&svg::probability_chart(
            &detail.map_or([0.0; CLASSES], |p| p.digit),
        ));
        self.el
            .chart_caption
            .set_text_content(Some(&format!("Probability of each digit{which}")));
        let surface = self.surface.borrow();
        let (w, h) = surface.size();
        let margin = self.box_margin();
        let boxes: Vec<_> = digits
            .iter()
            .map(|d| (answer::css_box(&d.rect, surface.scale(), margin), d.digit()))
            .collect();
        self.el
            .boxes
            .set_inner_html(&answer::overlay(w, h, &boxes, focus.filter(|_| many)));
    }

    /// Median milliseconds of `iterations` readings of the current drawing from scratch
    /// (cutting it into digits, rasterizing and preprocessing every candidate digit, inference:
    /// what a frame costs at worst, with nothing kept from the frame before); NaN if there is
    /// nothing to measure.
    pub fn benchmark(&self, iterations: u32) -> f64 {
        if self.pad.borrow().is_empty() || self.model.bytes().is_none() {
            return f64::NAN;
        }
        median_ms(iterations, || {
            let mut classify = |x: &[f32]| self.classify(Some(x));
            let _ = Reader::default().strokes(self.pad.borrow().strokes(), &mut classify);
        })
    }

    /// Median milliseconds of `iterations` live updates of the current drawing: each reads the
    /// drawing with its last stroke one point longer or shorter than the time before (as when
    /// it grows under the finger), keeping the readings of the other strokes, as the page does
    /// while drawing, and hands the digit written last to the [`Draw::on_focus`] watcher (the
    /// layer views and the second network). NaN if there is nothing to measure.
    pub fn benchmark_live(&self, iterations: u32) -> f64 {
        let full: Vec<_> = self.pad.borrow().strokes().to_vec();
        let Some(last) = full.last() else {
            return f64::NAN;
        };
        if self.model.bytes().is_none() {
            return f64::NAN;
        }
        let mut shorter = full.clone();
        if let Some(s) = shorter.last_mut() {
            if last.len() > 1 {
                s.pop();
            } else {
                // A dot: moved a little instead.
                s[0].0 += 1e-3;
            }
        }
        let mut reader = Reader::default();
        let mut classify = |x: &[f32]| self.classify(Some(x));
        let _ = reader.strokes(&full, &mut classify);
        let mut k = 0;
        let watch = self.watch.borrow();
        median_ms(iterations, || {
            k += 1;
            let strokes = if k % 2 == 1 { &shorter } else { &full };
            let digits = reader.strokes(strokes, &mut classify);
            // What the page does next with the reading: the views of the digit written last.
            if let Some(watch) = &*watch {
                let written: Vec<Vec<usize>> = digits.iter().map(|d| d.strokes.clone()).collect();
                let last = answer::latest(&written).and_then(|i| digits.get(i));
                watch(last.map(|d| d.input.as_slice()), false);
            }
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

    /// The pad's model changed: every reading is made again with the new one.
    pub fn model_changed(&self) {
        self.reader.borrow_mut().forget();
        self.show();
    }

    /// The digit in focus as last read, to be kept as a sample: what the model read (if it
    /// answered), its 28x28 input and its strokes (in canvas heights). `whole`: the whole
    /// drawing as one digit, however it was cut (practice asks for one digit at a time).
    pub fn focus_sample(&self, whole: bool) -> Option<(Option<usize>, Vec<f32>, Vec<Stroke>)> {
        if whole {
            let strokes = self.pad.borrow().strokes().to_vec();
            let input = strokes_to_mnist(&strokes)?;
            let read = self
                .classify(Some(&input))
                .and_then(|p| digits_core::metrics::argmax(&p.probabilities));
            return Some((read, input, strokes));
        }
        let digits = self.digits.borrow();
        let written: Vec<Vec<usize>> = digits.iter().map(|d| d.strokes.clone()).collect();
        let i = self.focus.get().or_else(|| answer::latest(&written))?;
        let d = digits.get(i).filter(|d| !d.input.is_empty())?;
        let pad = self.pad.borrow();
        let strokes = d
            .strokes
            .iter()
            .filter_map(|&k| pad.strokes().get(k).cloned())
            .collect();
        Some((d.digit(), d.input.clone(), strokes))
    }

    /// The 28x28 input of the digit in focus, as last read.
    pub fn focus_input(&self) -> Option<Vec<f32>> {
        let digits = self.digits.borrow();
        let written: Vec<Vec<usize>> = digits.iter().map(|d| d.strokes.clone()).collect();
        let i = self.focus.get().or_else(|| answer::latest(&written))?;
        digits
            .get(i)
            .map(|d| d.input.clone())
            .filter(|x| !x.is_empty())
    }
}
