//! "How good is this model?": once the section is seen, the trainer's stored report, then the page's own check of
//! the model on all 10,000 MNIST test digits (fetched only once the section is in view and the
//! model is ready; run by [`check`](crate::check) in workers), then a confusion matrix whose
//! cells fill the sample grid with their digits. It runs the model only through the
//! [`ModelSlot`] and hears about it from the page's root.
//!
//! After the page's model, the same check runs the plain fully connected network (`mlp.onnx`)
//! that "Inside the network" sets beside it, and the section compares the two: a table, their
//! confusion matrices side by side, and both training histories.
//!
//! Hooks: `#confusion` (cells with data-true, data-pred, data-count), `#accuracy[data-value]`
//! (set when the browser's check finishes), `#samples`, `#drawn-accuracy[data-value]` (the
//! trainer's drawn-digit figure, shown only when the report has one), `#versus-table` (rows
//! `tr[data-model][data-accuracy]`), `#versus-cnn`, `#versus-mlp`, `#history`.

use std::cell::RefCell;
use std::rc::Rc;

use digits_core::idx::{Labelled, parse_labelled};
use digits_core::metrics::Confusion;
use digits_core::model::to_input;
use digits_core::report::ModelReport;
use digits_core::svg::{self, Sample};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, MouseEvent};

use crate::check;
use crate::dom::listen;
use crate::js::{begin_fetch, fetch_bytes, now, read_fetch};
use crate::model::ModelSlot;
use crate::model_file::{MLP_URL, MODEL_URL};
use crate::page::ReportElements;
use crate::report_text::{self as text, GRID_MAX, Versus};

const REPORT_URL: &str = "model.report.json";
const MLP_REPORT_URL: &str = "mlp.report.json";
const IMAGES_URL: &str = "t10k-images-idx3-ubyte.gz";
const LABELS_URL: &str = "t10k-labels-idx1-ubyte.gz";

#[derive(Default)]
struct State {
    /// The section has been on screen.
    visible: bool,
    /// The check is running or has run.
    started: bool,
    /// The test set and the browser's predictions, once the check has run.
    test: Option<Rc<Labelled>>,
    predicted: Vec<u8>,
    /// The report's sample indices (the default grid).
    samples: Vec<usize>,
    /// The trainers' reports of the CNN and of the plain network, once read.
    reports: [Option<ModelReport>; 2],
    /// Their test accuracies as this browser checked them.
    checked: [Option<f64>; 2],
}

pub struct Report {
    el: ReportElements,
    model: Rc<ModelSlot>,
    state: RefCell<State>,
}

impl Report {
    /// Watches for the section coming into view (then shows the stored reports and starts the
    /// check) and for clicks.
    pub fn attach(el: ReportElements, model: Rc<ModelSlot>) -> Result<Rc<Report>, JsValue> {
        let report = Rc::new(Report {
            el,
            model,
            state: RefCell::default(),
        });
        let r = report.clone();
        crate::dom::on_visibility(&report.el.section, move |seen| {
            if seen {
                // The stored reports too are read only once the section is seen: nothing of this
                // section is downloaded before the first prediction.
                let first = !std::mem::replace(&mut r.state.borrow_mut().visible, true);
                if first {
                    wasm_bindgen_futures::spawn_local(r.clone().load_stored());
                }
                r.maybe_start();
            }
        })?;
        let r = report.clone();
        listen(
            report.el.confusion.as_ref(),
            "click",
            move |e: MouseEvent| {
                let cell = e
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .and_then(|t| t.closest("[data-true]").ok().flatten());
                if let Some(cell) = cell {
                    let num = |a: &str| cell.get_attribute(a).and_then(|v| v.parse::<u8>().ok());
                    if let (Some(t), Some(p)) = (num("data-true"), num("data-pred")) {
                        r.show_cell(t, p);
                    }
                }
            },
        )?;
        let r = report.clone();
        listen(
            report.el.samples_reset.as_ref(),
            "click",
            move |_: Event| r.show_default_samples(),
        )?;
        Ok(report)
    }

    /// The model is ready: the check may begin if the section has been seen.
    pub fn model_ready(self: &Rc<Self>) {
        self.maybe_start();
    }

    /// The model could not be loaded: say that the check waits for it (a Retry that succeeds
    /// calls [`Report::model_ready`]).
    pub fn model_failed(&self) {
        if !self.state.borrow().started {
            self.set_status("The check needs the model, which could not be loaded.");
        }
    }

    fn maybe_start(self: &Rc<Self>) {
        let go = {
            let mut s = self.state.borrow_mut();
            let go = s.visible && !s.started && self.model.bytes().is_some();
            s.started |= go;
            go
        };
        if go {
            wasm_bindgen_futures::spawn_local(self.clone().evaluate());
        }
    }

    fn set_status(&self, text: &str) {
        self.el.status.set_text_content(Some(text));
    }

    /// The trainer's report: its confusion matrix and accuracy, marked as such, until the
    /// browser's own check replaces them.
    async fn load_stored(self: Rc<Self>) {
        let report = match fetch_bytes(REPORT_URL, false).await {
            Ok(bytes) => decode_report(&bytes, REPORT_URL),
            Err(e) => Err(e),
        };
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                crate::js::warn(&format!("the trainer's report: {e}"));
                self.el
                    .accuracy_source
                    .set_text_content(Some("(the trainer's report could not be read)"));
                return;
            }
        };
        let mlp = match fetch_bytes(MLP_REPORT_URL, false).await {
            Ok(bytes) => decode_report(&bytes, MLP_REPORT_URL),
            Err(e) => Err(e),
        };
        if let Err(e) = &mlp {
            crate::js::warn(&format!("the plain network's report: {e}"));
        }
        self.show_history(&report, mlp.as_ref().ok());
        {
            let mut s = self.state.borrow_mut();
            s.reports = [Some(report.clone()), mlp.ok()];
        }
        self.show_versus();
        if let Some(d) = &report.drawn {
            let el = &self.el;
            el.drawn_accuracy
                .set_text_content(Some(&format!("{:.2}%", 100.0 * d.accuracy)));
            let _ = el
                .drawn_accuracy
                .set_attribute("data-value", &d.accuracy.to_string());
            el.drawn_source
                .set_text_content(Some(&text::drawn_source(d)));
            el.drawn.set_hidden(false);
        }
        let browser_done = {
            let mut s = self.state.borrow_mut();
            s.samples = report.samples;
            s.test.is_some()
        };
        if browser_done {
            self.show_default_samples();
            return;
        }
        let c = report.test.matrix();
        self.el
            .confusion
            .set_inner_html(&svg::confusion_matrix(&c.counts));
        self.el.accuracy.set_text_content(Some(&text::accuracy(&c)));
        self.el
            .accuracy_source
            .set_text_content(Some(&text::stored_source(&c)));
    }

    async fn evaluate(self: Rc<Self>) {
        let Some(bytes) = self.model.bytes() else {
            self.state.borrow_mut().started = false;
            return;
        };
        self.set_status("Downloading the 10,000 test digits…");
        let t0 = now();
        // The workers boot and load the model while the test set downloads.
        let check = check::Check::start(bytes, MODEL_URL);
        let test = match download_test_set().await {
            Ok(t) => t,
            Err(e) => {
                self.set_status(&e);
                self.state.borrow_mut().started = false;
                return;
            }
        };
        let total = test.len();
        let r = self.clone();
        let progress = move |done: usize| r.progress(done, total);
        let (predicted, how) = match check.classify(&test, progress).await {
            Ok(answer) => answer,
            Err(e) => {
                self.set_status(&format!("The check failed: {e}."));
                return;
            }
        };
        let seconds = (now() - t0) / 1000.0;
        let c = Confusion::from_predictions(&test.labels, &predicted);
        let el = &self.el;
        el.confusion
            .set_inner_html(&svg::confusion_matrix(&c.counts));
        el.accuracy.set_text_content(Some(&text::accuracy(&c)));
        let _ = el
            .accuracy
            .set_attribute("data-value", &c.accuracy().to_string());
        el.accuracy_source
            .set_text_content(Some(&text::browser_source(&c)));
        self.set_status(&text::finished(total, seconds, &how));
        el.per_class.set_inner_html(&text::per_class_table(&c));
        el.versus_cnn
            .set_inner_html(&svg::confusion_matrix_as(&c.counts, "confusion-cnn"));
        {
            let mut s = self.state.borrow_mut();
            s.test = Some(Rc::new(test));
            s.predicted = predicted;
            s.checked[0] = Some(c.accuracy());
        }
        self.show_versus();
        self.show_default_samples();
        self.check_mlp().await;
    }

    /// The same check for the plain network, then the comparison.
    async fn check_mlp(&self) {
        let el = &self.el;
        el.versus_status.set_text_content(Some(
            "Checking the plain network on the same 10,000 digits…",
        ));
        let bytes = match fetch_bytes(MLP_URL, false).await {
            Ok(b) => b,
            Err(e) => {
                el.versus_status.set_text_content(Some(&format!(
                    "The plain network could not be downloaded: {e}."
                )));
                return;
            }
        };
        // The test set stays in the state (the matrix's clicks read it) while the check runs.
        let test = self.state.borrow().test.clone();
        let Some(test) = test else {
            return;
        };
        let t0 = now();
        let result = check::classify(bytes.into(), MLP_URL, &test, |_| {}).await;
        let seconds = (now() - t0) / 1000.0;
        let c = result.map(|(p, how)| (Confusion::from_predictions(&test.labels, &p), how));
        match c {
            Ok((c, how)) => {
                el.versus_mlp
                    .set_inner_html(&svg::confusion_matrix_as(&c.counts, "confusion-mlp"));
                self.state.borrow_mut().checked[1] = Some(c.accuracy());
                self.show_versus();
                el.versus_status.set_text_content(Some(&format!(
                    "Both networks checked in this browser on the same 10,000 digits (the plain network in {seconds:.1} s, {how})."
                )));
            }
            Err(e) => el
                .versus_status
                .set_text_content(Some(&format!("The plain network's check failed: {e}."))),
        }
    }

    /// The comparison table, from what is known so far.
    fn show_versus(&self) {
        let s = self.state.borrow();
        let row = |i: usize, id, name| {
            let r = s.reports[i].as_ref();
            Versus {
                id,
                name,
                parameters: r.map(|r| r.parameters),
                bytes: r.map(|r| r.onnx_bytes),
                stored: r.map(|r| r.test.accuracy),
                checked: s.checked[i],
            }
        };
        let rows = [row(0, "cnn", "CNN"), row(1, "mlp", "Plain network")];
        self.el
            .versus_table
            .set_inner_html(&text::versus_table(&rows));
    }

    /// Both training histories, from the trainers' reports.
    fn show_history(&self, cnn: &ModelReport, mlp: Option<&ModelReport>) {
        let mut models = vec![svg::History {
            id: "cnn",
            label: "CNN",
            colour: "#0b6bcb",
            epochs: &cnn.history,
        }];
        if let Some(m) = mlp {
            models.push(svg::History {
                id: "mlp",
                label: "Plain network",
                colour: "#d66000",
                epochs: &m.history,
            });
        }
        self.el.history.set_inner_html(&svg::history_chart(&models));
    }

    fn progress(&self, done: usize, total: usize) {
        self.el.progress.set_max(total as f64);
        self.el.progress.set_value(done as f64);
        self.set_status(&text::progress(done, total));
    }

    /// Fills the sample grid with the test digits `indices`.
    fn render_samples(&self, indices: &[usize], caption: &str, reset: bool) {
        let s = self.state.borrow();
        let Some(test) = &s.test else {
            return;
        };
        let chosen: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| i < test.len() && i < s.predicted.len())
            .collect();
        let pixels: Vec<Vec<f32>> = chosen
            .iter()
            .map(|&i| to_input(test.images.image(i)))
            .collect();
        let samples: Vec<Sample<'_>> = chosen
            .iter()
            .zip(&pixels)
            .map(|(&i, px)| Sample {
                index: i,
                pixels: px,
                truth: test.labels[i],
                predicted: s.predicted[i],
            })
            .collect();
        self.el
            .samples
            .set_inner_html(&svg::sample_grid(&samples, svg::SAMPLE_COLUMNS));
        self.el.samples_caption.set_text_content(Some(caption));
        self.el.samples_reset.set_hidden(!reset);
    }

    fn show_default_samples(&self) {
        let indices = self.state.borrow().samples.clone();
        self.render_samples(&indices, text::DEFAULT_CAPTION, false);
    }

    fn show_cell(&self, t: u8, p: u8) {
        let indices = {
            let s = self.state.borrow();
            let Some(test) = &s.test else {
                return;
            };
            text::cell_indices(&test.labels, &s.predicted, t, p)
        };
        let caption = text::cell_caption(t, p, indices.len());
        self.render_samples(&indices[..indices.len().min(GRID_MAX)], &caption, true);
        self.bring_samples_into_view();
    }

    /// After a click on the matrix, the digits it selected must be seen: on a phone the grid is
    /// below the matrix, out of view. Scrolls only when the grid's top is not on screen (so not
    /// on a desktop, where it sits beside the matrix), smoothly unless the user asked for
    /// reduced motion.
    fn bring_samples_into_view(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let figure = &self.el.samples_figure;
        let top = figure.get_bounding_client_rect().top();
        let height = window
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(0.0);
        if top >= 0.0 && top < height - 120.0 {
            return;
        }
        let reduced = window
            .match_media("(prefers-reduced-motion: reduce)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches());
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Start);
        options.set_behavior(if reduced {
            web_sys::ScrollBehavior::Instant
        } else {
            web_sys::ScrollBehavior::Smooth
        });
        figure.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// The report's JSON, parsed by the browser and decoded into the one report type.
fn decode_report(bytes: &[u8], name: &str) -> Result<ModelReport, String> {
    let invalid = |why: String| format!("{name}: not a model report: {why}");
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(e.to_string()))?;
    let value = js_sys::JSON::parse(text).map_err(|e| invalid(crate::js::js_error(&e)))?;
    let report: ModelReport =
        serde_wasm_bindgen::from_value(value).map_err(|e| invalid(e.to_string()))?;
    report.checked(name).map_err(|e| e.to_string())
}

/// The MNIST test set, downloaded (both files at once) and checked; errors are sentences for the
/// page.
async fn download_test_set() -> Result<Labelled, String> {
    let failed = |e: String| format!("Could not download the test set: {e}.");
    // Both begun before either is awaited: they download at once.
    let images = begin_fetch(IMAGES_URL, false).map_err(failed)?;
    let labels = begin_fetch(LABELS_URL, false).map_err(failed)?;
    let images = read_fetch(images, IMAGES_URL).await.map_err(failed)?;
    let labels = read_fetch(labels, LABELS_URL).await.map_err(failed)?;
    parse_labelled((&images, IMAGES_URL), (&labels, LABELS_URL))
        .map_err(|e| format!("The test set is damaged: {e}."))
}
