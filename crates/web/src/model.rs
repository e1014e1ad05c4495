//! The page's model: downloading and loading it (with one fresh download when a cached copy is
//! damaged), its state, the status line with Retry, and the only way the rest of the page runs
//! it. The one place that knows which model the pad uses. It does not know who waits for it: the
//! page's root tells the other features when a load ends.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::model::{Model, ModelError, Prediction, StepTime};

use crate::answer::ModelStatus;
use crate::js::{fetch_bytes, now, warn};
use crate::model_file::{self, MODEL_URL};
use crate::page::ModelElements;

enum State {
    Loading,
    /// The model, and the ONNX bytes it was loaded from (for the check's workers).
    Ready(Model, Rc<[u8]>),
    Failed,
}

pub struct ModelSlot {
    el: ModelElements,
    state: RefCell<State>,
    /// The shipped model and its line under the page, kept while the pad reads with a model
    /// trained in the page ("Train your own").
    shipped: RefCell<Option<(State, String)>>,
    /// Whether that model is a personal one (fine-tuned on the user's handwriting).
    personal: Cell<bool>,
}

impl ModelSlot {
    pub fn new(el: ModelElements) -> ModelSlot {
        ModelSlot {
            el,
            state: RefCell::new(State::Loading),
            shipped: RefCell::new(None),
            personal: Cell::new(false),
        }
    }

    pub fn status(&self) -> ModelStatus {
        match &*self.state.borrow() {
            State::Loading => ModelStatus::Loading,
            State::Ready(..) => ModelStatus::Ready,
            State::Failed => ModelStatus::Failed,
        }
    }

    /// The answers for `images` (28x28 each, 0..1) taken apart ([`Model::predictions`]): what
    /// the pad reads with. `None` without a model.
    pub fn predictions(&self, images: &[f32]) -> Option<Result<Vec<Prediction>, ModelError>> {
        match &*self.state.borrow() {
            State::Ready(m, _) => Some(m.predictions(images)),
            _ => None,
        }
    }

    /// Where one inference of `image` spends its time, step by step, over `runs` runs
    /// ([`Model::profile`]); `None` without a model.
    pub fn profile(&self, image: &[f32], runs: usize) -> Option<Result<Vec<StepTime>, ModelError>> {
        match &*self.state.borrow() {
            State::Ready(m, _) => Some(m.profile(image, runs, || now() / 1000.0)),
            _ => None,
        }
    }

    /// The ONNX bytes of the loaded model, for workers that load it themselves.
    pub fn bytes(&self) -> Option<Rc<[u8]>> {
        match &*self.state.borrow() {
            State::Ready(_, bytes) => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Downloads and loads the model, showing how it goes; returns whether it is ready. `fresh`
    /// skips every cache (Retry). A model that downloads but does not load (say, a damaged copy
    /// in a cache) is fetched once more from the network before the page gives up and shows the
    /// error with its Retry button.
    pub async fn load(&self, fresh: bool) -> bool {
        *self.state.borrow_mut() = State::Loading;
        self.show_status("Loading the model…", false);
        self.el.status.set_hidden(false);
        let mut loaded = download(fresh).await;
        if let (Err(e), false) = (&loaded, fresh) {
            warn(&format!("model: {e}; fetching a fresh copy"));
            loaded = download(true).await;
        }
        match loaded {
            Ok((model, bytes)) => {
                let about =
                    model_file::about(model.meta("parameters"), model.meta("test_accuracy"));
                self.el.about.set_text_content(Some(&about));
                *self.state.borrow_mut() = State::Ready(model, bytes.into());
                self.show_status("Model ready", false);
                self.el.status.set_hidden(true);
                true
            }
            Err(e) => {
                *self.state.borrow_mut() = State::Failed;
                warn(&format!("model: {e}"));
                self.show_status(
                    &format!(
                        "The model could not be loaded: {e}. You can still draw; predictions need the model."
                    ),
                    true,
                );
                false
            }
        }
    }

    /// Switches the pad to a model trained in the page (its ONNX `bytes`), keeping the shipped
    /// one to switch back to; refused with the reason if it does not load.
    /// `personal`: a model fine-tuned on the user's own handwriting.
    pub fn use_trained(&self, bytes: Vec<u8>, personal: bool) -> Result<(), String> {
        let (name, reading, switch) = if personal {
            (
                "your personal model",
                "Reading with your personal model, fine-tuned on your handwriting on this device",
                "Reading with your personal model.",
            )
        } else {
            (
                "your trained model",
                "Reading with the model you trained in this page",
                "Reading with the model you trained.",
            )
        };
        let model = model_file::load_named(&bytes, name).map_err(|e| e.to_string())?;
        let about = format!(
            "{reading}: {}",
            model_file::about(model.meta("parameters"), model.meta("test_accuracy"))
                .trim_start_matches("Model: ")
        );
        self.personal.set(personal);
        self.el.switch_text.set_text_content(Some(switch));
        let previous = self.state.replace(State::Ready(model, bytes.into()));
        let mut shipped = self.shipped.borrow_mut();
        if shipped.is_none() {
            let text = self.el.about.text_content().unwrap_or_default();
            *shipped = Some((previous, text));
        }
        self.el.about.set_text_content(Some(&about));
        self.el.switch.set_hidden(false);
        Ok(())
    }

    /// Whether the pad reads with a model made in the page: (trained, personal).
    pub fn kind(&self) -> (bool, bool) {
        let made = self.shipped.borrow().is_some();
        (made && !self.personal.get(), made && self.personal.get())
    }

    /// Back to the shipped model after [`ModelSlot::use_trained`]; false if it was in use.
    pub fn use_shipped(&self) -> bool {
        let Some((state, text)) = self.shipped.borrow_mut().take() else {
            return false;
        };
        *self.state.borrow_mut() = state;
        self.el.about.set_text_content(Some(&text));
        self.el.switch.set_hidden(true);
        true
    }

    fn show_status(&self, text: &str, error: bool) {
        self.el.status_text.set_text_content(Some(text));
        let _ = self
            .el
            .status
            .set_attribute("data-state", if error { "error" } else { "ok" });
        self.el.retry.set_hidden(!error);
    }
}

async fn download(fresh: bool) -> Result<(Model, Vec<u8>), String> {
    match fetch_bytes(MODEL_URL, fresh).await {
        Ok(bytes) => model_file::load(&bytes)
            .map(|m| (m, bytes))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("could not download the model: {e}")),
    }
}
