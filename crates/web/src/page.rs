//! The elements of `index.html` the code uses, typed and grouped by the feature that owns them,
//! resolved once at start: a missing or mistyped element is one clear error then, never a
//! silent no-op later. Nothing here reacts to events or knows what a feature does.

use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlProgressElement,
};

/// Declares a group of elements: a struct with one typed field per element and the ids they
/// have in `index.html`.
macro_rules! elements {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty = $id:literal,)* }) => {
        $(#[$doc])*
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl $name {
            /// The ids of this group's elements in `index.html`.
            pub const IDS: &'static [&'static str] = &[$($id),*];

            fn resolve(doc: &Document) -> Result<Self, String> {
                Ok(Self { $($field: element(doc, $id)?,)* })
            }
        }
    };
}

elements! {
    /// The pad, its buttons, the boxes over it and the live answer.
    DrawElements {
        pad: HtmlCanvasElement = "pad",
        undo: HtmlButtonElement = "undo",
        clear: HtmlButtonElement = "clear",
        prediction: HtmlElement = "prediction",
        digit: HtmlElement = "digit",
        confidence: HtmlElement = "confidence",
        doubt: HtmlElement = "doubt",
        chart: HtmlElement = "chart",
        chart_caption: HtmlElement = "chart-caption",
        seen: HtmlElement = "seen",
        seen_caption: HtmlElement = "seen-caption",
        boxes: HtmlElement = "boxes",
    }
}

elements! {
    /// "Inside the network": the two networks' answers, every layer, the filters, the
    /// robustness strip and the occlusion map.
    InsideElements {
        section: HtmlElement = "inside",
        compare_cnn: HtmlElement = "compare-cnn",
        compare_mlp: HtmlElement = "compare-mlp",
        layers: HtmlElement = "layers",
        filters: HtmlElement = "filters",
        robustness: HtmlElement = "robustness",
        saliency: HtmlElement = "saliency",
    }
}

elements! {
    /// The model's loading status, its Retry button and the line about the model.
    ModelElements {
        status: HtmlElement = "status",
        status_text: HtmlElement = "status-text",
        retry: HtmlButtonElement = "retry",
        about: HtmlElement = "about",
        switch: HtmlElement = "model-switch",
        switch_text: HtmlElement = "model-switch-text",
        use_shipped: HtmlButtonElement = "use-shipped",
    }
}

elements! {
    /// "How good is this model?": the check, the matrix and the sample grid.
    ReportElements {
        section: HtmlElement = "report",
        progress: HtmlProgressElement = "eval-progress",
        status: HtmlElement = "eval-status",
        accuracy: HtmlElement = "accuracy",
        accuracy_source: HtmlElement = "accuracy-source",
        drawn: HtmlElement = "drawn",
        drawn_accuracy: HtmlElement = "drawn-accuracy",
        drawn_source: HtmlElement = "drawn-source",
        confusion: HtmlElement = "confusion-container",
        per_class: HtmlElement = "per-class",
        samples_figure: HtmlElement = "samples-figure",
        samples_caption: HtmlElement = "samples-caption",
        samples_reset: HtmlButtonElement = "samples-reset",
        samples: HtmlElement = "samples-container",
        versus_status: HtmlElement = "versus-status",
        versus_table: HtmlElement = "versus-table",
        versus_cnn: HtmlElement = "versus-cnn",
        versus_mlp: HtmlElement = "versus-mlp",
        history: HtmlElement = "history",
    }
}

elements! {
    /// The update banner and the offline note.
    OfflineElements {
        update: HtmlElement = "update",
        update_reload: HtmlButtonElement = "update-reload",
        offline: HtmlElement = "offline",
    }
}

/// Every element the page's code uses.
pub struct Page {
    /// `<html>`: its classes tell tests and styles how far the page got (`wasm-ready`,
    /// `model-ready`, `offline-ready`).
    pub root: Element,
    pub draw: DrawElements,
    pub inside: InsideElements,
    pub model: ModelElements,
    pub report: ReportElements,
    pub offline: OfflineElements,
}

impl Page {
    /// Finds every element, or says which one is missing or of the wrong kind.
    pub fn resolve(doc: &Document) -> Result<Page, String> {
        Ok(Page {
            root: doc
                .document_element()
                .ok_or("the document has no root element")?,
            draw: DrawElements::resolve(doc)?,
            inside: InsideElements::resolve(doc)?,
            model: ModelElements::resolve(doc)?,
            report: ReportElements::resolve(doc)?,
            offline: OfflineElements::resolve(doc)?,
        })
    }

    /// The ids of every element the code uses.
    pub fn ids() -> impl Iterator<Item = &'static str> {
        [
            DrawElements::IDS,
            InsideElements::IDS,
            ModelElements::IDS,
            ReportElements::IDS,
            OfflineElements::IDS,
        ]
        .into_iter()
        .flatten()
        .copied()
    }
}

/// The element with `id`, as a `T`.
fn element<T: JsCast>(doc: &Document, id: &str) -> Result<T, String> {
    let e: Element = doc
        .get_element_by_id(id)
        .ok_or_else(|| format!("the page has no element #{id}"))?;
    let tag = e.tag_name().to_lowercase();
    e.dyn_into::<T>().map_err(|_| {
        let wanted = std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("?");
        format!("#{id} is a <{tag}>, expected an {wanted}")
    })
}

#[cfg(test)]
mod tests {
    use super::Page;

    const INDEX: &str = include_str!("../../../index.html");

    #[test]
    fn every_element_the_code_uses_is_in_index_html_once() {
        let mut ids: Vec<&str> = Page::ids().collect();
        assert!(ids.len() >= 20, "{ids:?}");
        for id in &ids {
            let attr = format!("id=\"{id}\"");
            assert_eq!(INDEX.matches(&attr).count(), 1, "{attr} in index.html");
        }
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "an id is in two groups");
    }
}
