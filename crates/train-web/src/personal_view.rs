//! "Teach it your handwriting": its elements and everything it shows; the only place that
//! touches them. Hooks (a contract with the tests): `#correct` with one button per digit
//! `[data-label]`, `#personal[data-samples]`, `#practice`, `#finetune`,
//! `#finetune-result[data-before][data-after][data-mnist-before][data-mnist-after][data-seconds]`,
//! `#finetune-keep`, `#finetune-discard`, `#personal-export`, `#personal-import`,
//! `#personal-delete`, `#personal-message`.

use digits_core::CLASSES;
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlProgressElement,
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
        })
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
