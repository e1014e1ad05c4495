//! The "Train your own" section's elements and everything it shows; the only place that
//! touches them. Hooks (a contract with the tests): `#train[data-state]`, `#train-start`,
//! `#train-pause`, `#train-stop`, `#train-progress[data-images][data-epoch]`, `#train-loss` and
//! `#train-accuracy` (SVG charts), `#train-confusion`, `#train-result[data-accuracy][data-rate][data-seconds]`,
//! `#use-trained`, `#download-model`, `#download-report`, `#train-delete`, `#train-message`.

use digits_core::metrics::Confusion;
use digits_core::report::ModelReport;
use digits_core::text::grouped;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlAnchorElement, HtmlButtonElement, HtmlElement, HtmlInputElement,
    HtmlProgressElement, HtmlSelectElement,
};

use crate::charts;
use crate::settings::{self, Form};

pub struct View {
    pub section: HtmlElement,
    pub preset: HtmlSelectElement,
    pub spec_row: HtmlElement,
    pub spec: HtmlInputElement,
    pub images: HtmlInputElement,
    pub epochs: HtmlInputElement,
    pub batch: HtmlInputElement,
    pub lr: HtmlInputElement,
    pub start: HtmlButtonElement,
    pub pause: HtmlButtonElement,
    pub stop: HtmlButtonElement,
    message: HtmlElement,
    progress: HtmlElement,
    bar: HtmlProgressElement,
    progress_text: HtmlElement,
    loss: Element,
    accuracy: Element,
    confusion: Element,
    result: HtmlElement,
    result_text: HtmlElement,
    pub use_trained: HtmlButtonElement,
    pub delete: HtmlButtonElement,
    download_model: HtmlAnchorElement,
    download_report: HtmlAnchorElement,
}

pub fn by_id<T: JsCast>(doc: &Document, id: &str) -> Result<T, String> {
    doc.get_element_by_id(id)
        .ok_or_else(|| format!("#{id} is missing"))?
        .dyn_into::<T>()
        .map_err(|_| format!("#{id} is not the expected kind of element"))
}

/// What the section is doing, as `#train[data-state]` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Loading,
    Training,
    Paused,
    Done,
    Failed,
}

/// The section's controls and results (`web/train-section.html`), split around its status line.
const MARKUP: &str = include_str!("../../../web/train-section.html");
/// The module's styles (both sections'), a file of the site.
const STYLESHEET: &str = "train.css";

/// Resolves once the module's stylesheet has loaded (or failed to): what the module adds is
/// shown only then, so it never appears unstyled and then jumps under a finger.
pub async fn stylesheet_loaded(doc: &Document) {
    let Some(link) = doc
        .query_selector(&format!("link[href='{STYLESHEET}']"))
        .ok()
        .flatten()
        .and_then(|l| l.dyn_into::<web_sys::HtmlLinkElement>().ok())
    else {
        return;
    };
    if link.sheet().is_some() {
        return;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = link.add_event_listener_with_callback("load", &resolve);
        let _ = link.add_event_listener_with_callback("error", &resolve);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Adds a section's `markup` (a file whose leading comment is skipped) around its status line
/// `#id`: the part before the marker `<!-- #id -->` above it, the rest below; and the module's
/// stylesheet, once.
pub fn insert_around(doc: &Document, id: &str, markup: &str) -> Result<(), String> {
    let message: Element = by_id(doc, id)?;
    let body = markup.split_once("-->").map_or(markup, |(_, rest)| rest);
    let (above, below) = body
        .split_once(&format!("<!-- #{id} -->"))
        .ok_or_else(|| format!("the markup has no #{id} marker"))?;
    let linked = doc
        .query_selector(&format!("link[href='{STYLESHEET}']"))
        .ok()
        .flatten()
        .is_some();
    if !linked {
        let link = doc.create_element("link").map_err(|_| "no <link>")?;
        let _ = link.set_attribute("rel", "stylesheet");
        let _ = link.set_attribute("href", STYLESHEET);
        if let Some(head) = doc.head() {
            let _ = head.append_child(&link);
        }
    }
    message
        .insert_adjacent_html("beforebegin", above)
        .and_then(|_| message.insert_adjacent_html("afterend", below))
        .map_err(|_| format!("could not add the controls around #{id}"))
}

impl View {
    /// Adds the section's controls, results and stylesheet to the page (once), then resolves
    /// its elements.
    pub fn install(doc: &Document) -> Result<View, String> {
        if doc.get_element_by_id("train-form").is_none() {
            insert_around(doc, "train-message", MARKUP)?;
        }
        let view = View::resolve(doc)?;
        view.preset.set_inner_html(&settings::preset_options());
        view.images
            .set_value(&grouped(settings::DEFAULT_IMAGES as u64));
        view.epochs.set_value(&settings::DEFAULT_EPOCHS.to_string());
        view.batch.set_value(&settings::DEFAULT_BATCH.to_string());
        view.lr.set_value(&settings::DEFAULT_LR.to_string());
        Ok(view)
    }

    fn resolve(doc: &Document) -> Result<View, String> {
        Ok(View {
            section: by_id(doc, "train")?,
            preset: by_id(doc, "train-preset")?,
            spec_row: by_id(doc, "train-spec-row")?,
            spec: by_id(doc, "train-spec")?,
            images: by_id(doc, "train-images")?,
            epochs: by_id(doc, "train-epochs")?,
            batch: by_id(doc, "train-batch")?,
            lr: by_id(doc, "train-lr")?,
            start: by_id(doc, "train-start")?,
            pause: by_id(doc, "train-pause")?,
            stop: by_id(doc, "train-stop")?,
            message: by_id(doc, "train-message")?,
            progress: by_id(doc, "train-progress")?,
            bar: by_id(doc, "train-bar")?,
            progress_text: by_id(doc, "train-progress-text")?,
            loss: by_id(doc, "train-loss")?,
            accuracy: by_id(doc, "train-accuracy")?,
            confusion: by_id(doc, "train-confusion")?,
            result: by_id(doc, "train-result")?,
            result_text: by_id(doc, "train-result-text")?,
            use_trained: by_id(doc, "use-trained")?,
            delete: by_id(doc, "train-delete")?,
            download_model: by_id(doc, "download-model")?,
            download_report: by_id(doc, "download-report")?,
        })
    }

    /// The form's fields, read as text (checked by [`crate::settings::Settings::from_form`]).
    pub fn form(&self) -> (String, String, String, String, String, String) {
        (
            self.preset.value(),
            self.spec.value(),
            self.images.value(),
            self.epochs.value(),
            self.batch.value(),
            self.lr.value(),
        )
    }

    pub fn with_form<T>(&self, f: impl FnOnce(&Form<'_>) -> T) -> T {
        let (preset, spec, images, epochs, batch, lr) = self.form();
        f(&Form {
            preset: &preset,
            spec: &spec,
            images: &images,
            epochs: &epochs,
            batch: &batch,
            lr: &lr,
        })
    }

    /// Shows the spec field only for a custom network.
    pub fn show_spec(&self) {
        self.spec_row.set_hidden(self.preset.value() != "custom");
    }

    pub fn set_phase(&self, phase: Phase) {
        let name = match phase {
            Phase::Idle => "idle",
            Phase::Loading => "loading",
            Phase::Training => "training",
            Phase::Paused => "paused",
            Phase::Done => "done",
            Phase::Failed => "failed",
        };
        let _ = self.section.set_attribute("data-state", name);
        let busy = matches!(phase, Phase::Loading | Phase::Training | Phase::Paused);
        self.start.set_disabled(busy);
        self.stop.set_disabled(!busy);
        self.pause
            .set_disabled(!matches!(phase, Phase::Training | Phase::Paused));
        self.pause.set_text_content(Some(if phase == Phase::Paused {
            "Resume"
        } else {
            "Pause"
        }));
        for field in [
            &self.spec,
            &self.images,
            &self.epochs,
            &self.batch,
            &self.lr,
        ] {
            field.set_disabled(busy);
        }
        self.preset.set_disabled(busy);
    }

    /// A line under the buttons; `error` shows it as one.
    pub fn say(&self, text: &str, error: bool) {
        self.message.set_text_content(Some(text));
        let _ = self
            .message
            .set_attribute("data-kind", if error { "error" } else { "info" });
    }

    pub fn progress(&self, share: f64, text: &str) {
        self.bar.set_value(share.clamp(0.0, 1.0));
        self.progress_text.set_text_content(Some(text));
    }

    /// The counters the tests follow.
    pub fn counters(&self, images: usize, epoch: usize) {
        let _ = self
            .progress
            .set_attribute("data-images", &images.to_string());
        let _ = self
            .progress
            .set_attribute("data-epoch", &epoch.to_string());
    }

    pub fn charts(&self, losses: &[f32], steps: usize, train: &[f64], val: &[f64], epochs: usize) {
        self.loss.set_inner_html(&charts::loss_chart(losses, steps));
        self.accuracy
            .set_inner_html(&charts::accuracy_chart(train, val, epochs));
    }

    pub fn confusion(&self, c: &Confusion, epoch: usize) {
        self.confusion.set_inner_html(&format!(
            "<figcaption>The test set after epoch {epoch}: {:.2}% of {} digits right</figcaption>{}",
            100.0 * c.accuracy(),
            grouped(c.total() as u64),
            digits_core::svg::confusion_matrix_as(&c.counts, "train-confusion-matrix")
        ));
    }

    pub fn clear_result(&self) {
        self.result.set_hidden(true);
        for name in ["data-accuracy", "data-rate", "data-seconds"] {
            let _ = self.result.set_attribute(name, "");
        }
        self.loss.set_inner_html("");
        self.accuracy.set_inner_html("");
        self.confusion.set_inner_html("");
        self.counters(0, 0);
        self.progress(0.0, "");
    }

    /// The finished model: its accuracy, its training speed (images/s, evaluation excluded) and
    /// time, and links to its file and report.
    pub fn result(&self, text: &str, report: &ModelReport, model_url: &str, report_url: &str) {
        self.result_text.set_text_content(Some(text));
        let r = &self.result;
        let _ = r.set_attribute("data-accuracy", &format!("{:.4}", report.test.accuracy));
        let _ = r.set_attribute("data-rate", &format!("{:.1}", report.images_per_sec));
        let _ = r.set_attribute("data-seconds", &format!("{:.2}", report.train_seconds));
        self.download_model.set_href(model_url);
        self.download_report.set_href(report_url);
        self.result.set_hidden(false);
    }
}
