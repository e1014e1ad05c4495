//! "Teach it your handwriting": its elements and everything it shows; the only place that
//! touches them. Hooks (a contract with the tests): `#correct` with one button per digit
//! `[data-label]`, `#personal[data-samples]`, `#practice`, `#finetune`,
//! `#finetune-result[data-before][data-after][data-mnist-before][data-mnist-after][data-seconds]`,
//! `#finetune-keep`, `#finetune-discard`, `#personal-export`, `#personal-import`,
//! `#personal-delete`, `#personal-message`; the review: `#personal-review` (a `<details>`),
//! `#personal-list` with one `figure[data-index]` per sample shown (`data-label`, a 28x28
//! canvas of its input, a delete button `[data-delete]`).

use digits_core::personal::Sample;
use digits_core::{CLASSES, PIXELS, SIDE};
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{
    CanvasRenderingContext2d, Document, Element, HtmlButtonElement, HtmlCanvasElement, HtmlElement,
    HtmlInputElement, HtmlProgressElement, ImageData,
};

use crate::personal_text::{self, Outcome};
use crate::view::{by_id, insert_around};

const MARKUP: &str = include_str!("../../../web/personal-section.html");

pub struct PersonalView {
    pub section: HtmlElement,
    pub correct: HtmlElement,
    correct_text: HtmlElement,
    pub digit_buttons: Vec<HtmlButtonElement>,
    count: HtmlElement,
    message: HtmlElement,
    pub practice: HtmlButtonElement,
    pub finetune: HtmlButtonElement,
    progress: HtmlElement,
    bar: HtmlProgressElement,
    progress_text: HtmlElement,
    result: HtmlElement,
    result_text: HtmlElement,
    pub keep: HtmlButtonElement,
    pub discard: HtmlButtonElement,
    pub export: HtmlButtonElement,
    pub import: HtmlInputElement,
    pub delete: HtmlButtonElement,
    pub review: HtmlElement,
    review_text: HtmlElement,
    pub list: HtmlElement,
}

impl PersonalView {
    /// Adds the row of digit buttons under the pad and the section's controls (once), then
    /// resolves the elements.
    pub fn install(doc: &Document) -> Result<PersonalView, String> {
        if doc.get_element_by_id("correct").is_none() {
            let pad: Element = doc
                .query_selector(".pad-wrap")
                .ok()
                .flatten()
                .ok_or(".pad-wrap is missing")?;
            // Below the pad, so it never moves the pad under a writing finger.
            pad.insert_adjacent_html("afterend", &personal_text::correct_row())
                .map_err(|_| "could not add the row of digits")?;
        }
        if doc.get_element_by_id("finetune").is_none() {
            insert_around(doc, "personal-message", MARKUP)?;
        }
        let correct: HtmlElement = by_id(doc, "correct")?;
        let mut digit_buttons = Vec::with_capacity(CLASSES);
        for d in 0..CLASSES {
            let b = correct
                .query_selector(&format!("[data-label='{d}']"))
                .ok()
                .flatten()
                .ok_or_else(|| format!("#correct has no button for {d}"))?;
            digit_buttons.push(
                wasm_bindgen::JsCast::dyn_into(b).map_err(|_| "a digit button is not a button")?,
            );
        }
        Ok(PersonalView {
            section: by_id(doc, "personal")?,
            correct,
            correct_text: by_id(doc, "correct-text")?,
            digit_buttons,
            count: by_id(doc, "personal-count")?,
            message: by_id(doc, "personal-message")?,
            practice: by_id(doc, "practice")?,
            finetune: by_id(doc, "finetune")?,
            progress: by_id(doc, "finetune-progress")?,
            bar: by_id(doc, "finetune-bar")?,
            progress_text: by_id(doc, "finetune-progress-text")?,
            result: by_id(doc, "finetune-result")?,
            result_text: by_id(doc, "finetune-result-text")?,
            keep: by_id(doc, "finetune-keep")?,
            discard: by_id(doc, "finetune-discard")?,
            export: by_id(doc, "personal-export")?,
            import: by_id(doc, "personal-import")?,
            delete: by_id(doc, "personal-delete")?,
            review: by_id(doc, "personal-review")?,
            review_text: by_id(doc, "personal-review-text")?,
            list: by_id(doc, "personal-list")?,
        })
    }

    /// Whether the review is open (its samples are worth drawing).
    pub fn review_open(&self) -> bool {
        self.review.has_attribute("open")
    }

    /// The review: the newest samples first (at most [`personal_text::REVIEW_MAX`]), each its
    /// input as the model read it, its label and a delete button; `data-index` is the
    /// sample's place in `samples`.
    pub fn show_review(&self, samples: &[Sample]) -> Result<(), String> {
        self.review_text
            .set_text_content(Some(&personal_text::review_heading(samples.len())));
        self.list.set_text_content(None);
        let doc = self.list.owner_document().ok_or("no document")?;
        let make = |tag: &str| {
            doc.create_element(tag)
                .map_err(|_| format!("could not make a <{tag}>"))
        };
        for (i, sample) in samples
            .iter()
            .enumerate()
            .rev()
            .take(personal_text::REVIEW_MAX)
        {
            let (caption, delete) = personal_text::review_caption(sample.label, sample.read);
            let figure = make("figure")?;
            let _ = figure.set_attribute("class", "personal-sample");
            let _ = figure.set_attribute("data-index", &i.to_string());
            let _ = figure.set_attribute("data-label", &sample.label.to_string());
            let canvas: HtmlCanvasElement = make("canvas")?
                .dyn_into()
                .map_err(|_| "a canvas is not a canvas")?;
            canvas.set_width(SIDE as u32);
            canvas.set_height(SIDE as u32);
            let _ = canvas.set_attribute("aria-hidden", "true");
            if sample.input.len() == PIXELS {
                let mut rgba = Vec::with_capacity(PIXELS * 4);
                for &v in &sample.input {
                    rgba.extend([255 - v, 255 - v, 255 - v, 255]);
                }
                let context = canvas
                    .get_context("2d")
                    .ok()
                    .flatten()
                    .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok());
                if let (Some(context), Ok(image)) = (
                    context,
                    ImageData::new_with_u8_clamped_array_and_sh(
                        Clamped(&rgba),
                        SIDE as u32,
                        SIDE as u32,
                    ),
                ) {
                    let _ = context.put_image_data(&image, 0.0, 0.0);
                }
            }
            let text = make("figcaption")?;
            text.set_text_content(Some(&caption));
            let button = make("button")?;
            let _ = button.set_attribute("type", "button");
            let _ = button.set_attribute("data-delete", &i.to_string());
            let _ = button.set_attribute("aria-label", &delete);
            button.set_text_content(Some("×"));
            for child in [&canvas.into(), &text, &button] {
                figure
                    .append_child(child)
                    .map_err(|_| "could not fill the review")?;
            }
            self.list
                .append_child(&figure)
                .map_err(|_| "could not fill the review")?;
        }
        Ok(())
    }

    /// A line of the section; `error` shows it as one.
    pub fn say(&self, text: &str, error: bool) {
        self.message.set_text_content(Some(text));
        let _ = self
            .message
            .set_attribute("data-kind", if error { "error" } else { "info" });
    }

    /// The line of the row under the pad.
    pub fn tell(&self, text: &str) {
        self.correct_text.set_text_content(Some(text));
    }

    /// Shows the row under the pad or hides it; `ask`: the digit practice asks for.
    pub fn show_row(&self, shown: bool, ask: Option<u8>) {
        self.correct.set_hidden(!shown);
        for (d, b) in self.digit_buttons.iter().enumerate() {
            let _ = b
                .class_list()
                .toggle_with_force("ask", ask == Some(d as u8));
        }
    }

    /// The samples kept: the count (also `#personal[data-samples]`) and what can be done.
    pub fn samples(&self, counts: &[usize; CLASSES], busy: bool) {
        let total: usize = counts.iter().sum();
        let _ = self
            .section
            .set_attribute("data-samples", &total.to_string());
        self.count
            .set_text_content(Some(&personal_text::counts(counts)));
        self.finetune
            .set_disabled(busy || total < personal_text::MIN_SAMPLES);
        self.export.set_disabled(total == 0);
    }

    pub fn busy(&self, busy: bool) {
        let _ = self
            .section
            .set_attribute("data-state", if busy { "tuning" } else { "idle" });
        self.practice.set_disabled(busy);
        self.delete.set_disabled(busy);
        self.import.set_disabled(busy);
        if busy {
            self.finetune.set_disabled(true);
        }
    }

    pub fn progress(&self, share: f64, text: &str) {
        self.progress.set_hidden(false);
        self.bar.set_value(share.clamp(0.0, 1.0));
        self.progress_text.set_text_content(Some(text));
    }

    pub fn clear_result(&self) {
        self.result.set_hidden(true);
        for name in [
            "data-before",
            "data-after",
            "data-mnist-before",
            "data-mnist-after",
            "data-seconds",
        ] {
            let _ = self.result.set_attribute(name, "");
        }
    }

    /// A finished run's figures, with Keep and Discard.
    pub fn result(&self, o: &Outcome) {
        let r = &self.result;
        let share = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
        let _ = r.set_attribute("data-before", &share(o.before));
        let _ = r.set_attribute("data-after", &share(o.after));
        let _ = r.set_attribute("data-mnist-before", &format!("{:.4}", o.mnist_before));
        let _ = r.set_attribute("data-mnist-after", &format!("{:.4}", o.mnist_after));
        let _ = r.set_attribute("data-seconds", &format!("{:.2}", o.seconds));
        self.result_text.set_text_content(Some(&o.text()));
        self.keep.set_hidden(false);
        self.discard.set_hidden(false);
        r.set_hidden(false);
    }

    /// After Keep or Discard: the figures stay, the choice goes.
    pub fn decided(&self) {
        self.keep.set_hidden(true);
        self.discard.set_hidden(true);
    }
}
