//! "How good is this model?": the trainer's stored report at once, then the page's own check of
//! the model on all 10,000 MNIST test digits (fetched only once the section is in view and the
//! model is ready), in small chunks so drawing and scrolling stay smooth; then a confusion matrix
//! whose cells fill the sample grid with their digits.
//!
//! Hooks: `#confusion` (cells with data-true, data-pred, data-count), `#accuracy[data-value]`
//! (set when the browser's check finishes), `#samples`.

use std::cell::RefCell;

use digits_core::idx::{Labelled, parse_labelled};
use digits_core::metrics::{Confusion, argmax};
use digits_core::model::to_input;
use digits_core::svg::{self, Sample};
use digits_core::{CLASSES, PIXELS};

use crate::text::grouped;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry};

use crate::app::{fetch_bytes, with_model};
use crate::dom::{by_id, listen, set_attr, set_hidden, set_html, set_text};
use crate::parallel;

const REPORT_URL: &str = "model.report.json";
const IMAGES_URL: &str = "t10k-images-idx3-ubyte.gz";
const LABELS_URL: &str = "t10k-labels-idx1-ubyte.gz";
/// Images per slice of work between two yields to the browser.
const CHUNK: usize = 100;
const GRID_COLUMNS: usize = 10;
const GRID_MAX: usize = 100;

#[derive(Default)]
struct State {
    visible: bool,
    started: bool,
    test: Option<Labelled>,
    predicted: Vec<u8>,
    /// The report's sample indices (the default grid).
    samples: Vec<usize>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

pub fn init() -> Result<(), JsValue> {
    wasm_bindgen_futures::spawn_local(load_stored());
    let section: Element = by_id("report")?;
    let cb = Closure::<dyn FnMut(js_sys::Array)>::new(|entries: js_sys::Array| {
        let seen = entries
            .iter()
            .filter_map(|e| e.dyn_into::<IntersectionObserverEntry>().ok())
            .any(|e| e.is_intersecting());
        if seen {
            STATE.with(|s| s.borrow_mut().visible = true);
            maybe_start();
        }
    });
    let observer = IntersectionObserver::new(cb.as_ref().unchecked_ref())?;
    observer.observe(&section);
    cb.forget();
    let container: Element = by_id("confusion-container")?;
    listen(container.as_ref(), "click", |e: web_sys::MouseEvent| {
        let cell = e
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|t| t.closest("[data-true]").ok().flatten());
        if let Some(cell) = cell {
            let num = |a: &str| cell.get_attribute(a).and_then(|v| v.parse::<u8>().ok());
            if let (Some(t), Some(p)) = (num("data-true"), num("data-pred")) {
                show_cell(t, p);
            }
        }
    })?;
    let reset: Element = by_id("samples-reset")?;
    listen(reset.as_ref(), "click", |_: web_sys::Event| {
        show_default_samples()
    })?;
    Ok(())
}

/// Called when the model is ready: the check may begin if the section has been seen.
pub fn model_ready() {
    maybe_start();
}

fn maybe_start() {
    let go = STATE.with(|s| {
        let mut s = s.borrow_mut();
        let go = s.visible && !s.started && with_model(|_| ()).is_some();
        s.started |= go;
        go
    });
    if go {
        wasm_bindgen_futures::spawn_local(evaluate());
    }
}

fn parse_json(bytes: &[u8]) -> Option<JsValue> {
    js_sys::JSON::parse(std::str::from_utf8(bytes).ok()?).ok()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The trainer's report: its confusion matrix and accuracy, marked as such, until the browser's
/// own check replaces them.
async fn load_stored() {
    let Ok(bytes) = fetch_bytes(REPORT_URL, false).await else {
        set_text("accuracy-source", "(the trainer's report is not available)");
        return;
    };
    let Some(report) = parse_json(&bytes) else {
        return;
    };
    let mut counts = [[0u32; CLASSES]; CLASSES];
    let rows = js_sys::Array::from(&get(&report, "confusion"));
    for (t, row) in rows.iter().enumerate().take(CLASSES) {
        for (p, v) in js_sys::Array::from(&row).iter().enumerate().take(CLASSES) {
            counts[t][p] = v.as_f64().unwrap_or(0.0) as u32;
        }
    }
    let samples: Vec<usize> = js_sys::Array::from(&get(&report, "samples"))
        .iter()
        .filter_map(|v| v.as_f64().map(|f| f as usize))
        .collect();
    let browser_done = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.samples = samples;
        !s.predicted.is_empty()
    });
    if browser_done {
        show_default_samples();
        return;
    }
    let c = Confusion { counts };
    set_html("confusion-container", &svg::confusion_matrix(&c.counts));
    set_text("accuracy", &format!("{:.2}%", 100.0 * c.accuracy()));
    set_text(
        "accuracy-source",
        &format!(
            "({} of {}, from the trainer's report; this browser's own check follows)",
            grouped(c.correct()),
            grouped(c.total())
        ),
    );
}

async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}

fn progress(done: usize, total: usize) {
    if let Ok(p) = by_id::<web_sys::HtmlProgressElement>("eval-progress") {
        p.set_max(total as f64);
        p.set_value(done as f64);
    }
    set_text(
        "eval-status",
        &format!(
            "Checked {} of {} test digits…",
            grouped(done as u64),
            grouped(total as u64)
        ),
    );
}

async fn evaluate() {
    set_text("eval-status", "Downloading the 10,000 test digits…");
    let (images, labels) = match (
        fetch_bytes(IMAGES_URL, false).await,
        fetch_bytes(LABELS_URL, false).await,
    ) {
        (Ok(i), Ok(l)) => (i, l),
        (Err(e), _) | (_, Err(e)) => {
            set_text(
                "eval-status",
                &format!("Could not download the test set: {e}."),
            );
            STATE.with(|s| s.borrow_mut().started = false);
            return;
        }
    };
    let test = match parse_labelled((&images, IMAGES_URL), (&labels, LABELS_URL)) {
        Ok(t) => t,
        Err(e) => {
            set_text("eval-status", &format!("The test set is damaged: {e}."));
            return;
        }
    };
    let total = test.len();
    let t0 = crate::app::now();
    let workers = parallel::worker_count();
    let show = move |done: usize| progress(done, total);
    let (predicted, how) = match parallel::classify(&test, workers, show).await {
        Ok(p) => (
            p,
            format!("{workers} worker{}", if workers == 1 { "" } else { "s" }),
        ),
        Err(e) => {
            web_sys::console::warn_1(
                &format!("checking on the main thread: the workers failed ({e})").into(),
            );
            match classify_here(&test).await {
                Some(p) => (p, "main thread".to_string()),
                None => return,
            }
        }
    };
    let seconds = (crate::app::now() - t0) / 1000.0;
    let c = Confusion::from_predictions(&test.labels, &predicted);
    set_html("confusion-container", &svg::confusion_matrix(&c.counts));
    set_text("accuracy", &format!("{:.2}%", 100.0 * c.accuracy()));
    set_attr("accuracy", "data-value", &c.accuracy().to_string());
    set_text(
        "accuracy-source",
        &format!(
            "({} of {} correct, computed in this browser)",
            grouped(c.correct()),
            grouped(c.total())
        ),
    );
    set_text(
        "eval-status",
        &format!(
            "Checked all {} test digits in this browser in {seconds:.1} s ({how}).",
            grouped(total as u64)
        ),
    );
    set_html("per-class", &per_class_table(&c));
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.test = Some(test);
        s.predicted = predicted;
    });
    show_default_samples();
}

/// The check on the main thread, in slices with a yield between them so drawing and scrolling
/// stay smooth: for browsers without module workers. `None` after showing why it stopped.
async fn classify_here(test: &Labelled) -> Option<Vec<u8>> {
    let total = test.len();
    let mut predicted = Vec::with_capacity(total);
    let mut done = 0;
    while done < total {
        let end = (done + CHUNK).min(total);
        let input = to_input(&test.images.pixels[done * PIXELS..end * PIXELS]);
        match with_model(|m| m.predict(&input)) {
            Some(Ok(probs)) => {
                predicted.extend(probs.iter().map(|p| argmax(p).unwrap_or(0) as u8));
            }
            Some(Err(e)) => {
                set_text("eval-status", &format!("The check failed: {e}."));
                return None;
            }
            None => {
                set_text("eval-status", "The check needs the model.");
                return None;
            }
        }
        done = end;
        progress(done, total);
        yield_now().await;
    }
    Some(predicted)
}

fn per_class_table(c: &Confusion) -> String {
    let mut s = String::from(
        "<table><caption>Per digit</caption><thead><tr><th scope=\"col\">digit</th><th scope=\"col\">precision</th><th scope=\"col\">recall</th><th scope=\"col\">test digits</th></tr></thead><tbody>",
    );
    for m in c.per_class() {
        s.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{:.2}%</td><td>{:.2}%</td><td>{}</td></tr>",
            m.digit,
            100.0 * m.precision,
            100.0 * m.recall,
            grouped(m.support)
        ));
    }
    s.push_str("</tbody></table>");
    s
}

fn render_samples(indices: &[usize], caption: &str, reset: bool) {
    STATE.with(|s| {
        let s = s.borrow();
        let Some(test) = &s.test else {
            return;
        };
        let samples: Vec<Sample<'_>> = indices
            .iter()
            .filter(|&&i| i < test.len() && i < s.predicted.len())
            .map(|&i| Sample {
                index: i,
                pixels: &[],
                truth: test.labels[i],
                predicted: s.predicted[i],
            })
            .collect();
        let pixels: Vec<Vec<f32>> = samples
            .iter()
            .map(|smp| to_input(test.images.image(smp.index)))
            .collect();
        let samples: Vec<Sample<'_>> = samples
            .iter()
            .zip(&pixels)
            .map(|(smp, px)| Sample {
                index: smp.index,
                pixels: px,
                truth: smp.truth,
                predicted: smp.predicted,
            })
            .collect();
        set_html(
            "samples-container",
            &svg::sample_grid(&samples, GRID_COLUMNS),
        );
        set_text("samples-caption", caption);
        set_hidden("samples-reset", !reset);
    });
}

fn show_default_samples() {
    let indices = STATE.with(|s| s.borrow().samples.clone());
    render_samples(
        &indices,
        "Sample test digits: mistakes first (true → predicted), then correct ones",
        false,
    );
}

fn show_cell(t: u8, p: u8) {
    let indices: Vec<usize> = STATE.with(|s| {
        let s = s.borrow();
        let Some(test) = &s.test else {
            return Vec::new();
        };
        (0..s.predicted.len())
            .filter(|&i| test.labels[i] == t && s.predicted[i] == p)
            .collect()
    });
    if STATE.with(|s| s.borrow().test.is_none()) {
        return;
    }
    let n = indices.len();
    let what = if t == p {
        format!("{t}s read correctly")
    } else {
        format!("{t}s read as {p}")
    };
    let count = grouped(n as u64);
    let caption = if n > GRID_MAX {
        format!("{what}: {count} test digits (the first {GRID_MAX} shown)")
    } else {
        format!(
            "{what}: {count} test digit{}",
            if n == 1 { "" } else { "s" }
        )
    };
    render_samples(&indices[..n.min(GRID_MAX)], &caption, true);
    bring_samples_into_view();
}

/// After a click on the matrix, the digits it selected must be seen: on a phone the grid is
/// below the matrix, out of view. Scrolls only when the grid's top is not on screen (so not on a
/// desktop, where it sits beside the matrix), smoothly unless the user asked for reduced motion.
fn bring_samples_into_view() {
    let (Some(window), Ok(figure)) = (web_sys::window(), by_id::<Element>("samples-figure")) else {
        return;
    };
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
