//! The worker side of the in-browser check. `eval-worker.js` (a module worker, written at build
//! time from `web/eval-worker.js`) boots this same wasm module, already compiled by the page, and
//! hands each message to [`check_slice`]: first the model, which it loads and keeps (while the
//! page is still downloading the test set), then the slice of the MNIST test set to classify,
//! off the main thread and in parallel with the other workers.

use std::cell::RefCell;

use digits_core::model::{Model, to_input};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

use crate::model_file;
use crate::protocol::{Reply, Request, groups};

/// Images per run of the model: a multiple of the plan's own batch (the worker has its own
/// thread, so nothing waits for it).
const BATCH: usize = 100;

thread_local! {
    /// The model of the worker's `load` message, or why it could not be loaded.
    static MODEL: RefCell<Option<Result<Model, String>>> = const { RefCell::new(None) };
}

/// Handles one message of the page (a [`Request`]): a model to load, which answers only if it
/// fails; or images to classify, which posts [`Reply`]s: progress, then the labels or why it
/// failed (nothing more if the model failed to load: that was said once).
#[wasm_bindgen]
pub fn check_slice(message: JsValue) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let post = |reply: Reply| {
        if let Err(e) = scope.post_message(&reply.to_js()) {
            crate::js::error(&format!(
                "the check worker could not answer: {}",
                crate::js::js_error(&e)
            ));
        }
    };
    match Request::from_js(&message) {
        Ok(Request::Load { model }) => {
            let loaded = model_file::load(&model).map_err(|e| e.to_string());
            if let Err(message) = &loaded {
                post(Reply::Failed {
                    message: message.clone(),
                });
            }
            MODEL.with(|m| *m.borrow_mut() = Some(loaded));
        }
        Ok(Request::Classify {
            images,
            progress_every,
        }) => {
            let outcome = MODEL.with(|m| match m.borrow().as_ref() {
                // Said once, when the model failed to load.
                Some(Err(_)) => None,
                model => Some(classify(
                    model.and_then(|r| r.as_ref().ok()),
                    &images,
                    progress_every,
                    &post,
                )),
            });
            match outcome {
                Some(Ok(labels)) => post(Reply::Done { labels }),
                Some(Err(message)) => post(Reply::Failed { message }),
                None => {}
            }
        }
        Err(message) => post(Reply::Failed { message }),
    }
}

fn classify(
    model: Option<&Model>,
    images: &[u8],
    progress_every: usize,
    post: &impl Fn(Reply),
) -> Result<Vec<u8>, String> {
    let model = model.ok_or("the check worker was given images before a model")?;
    let mut labels = Vec::with_capacity(images.len() / digits_core::PIXELS);
    for group in groups(images, progress_every) {
        let predicted = model
            .classify(&to_input(group), BATCH)
            .map_err(|e| e.to_string())?;
        labels.extend(predicted);
        post(Reply::Progress { done: labels.len() });
    }
    Ok(labels)
}
