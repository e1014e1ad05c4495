//! The worker side of the in-browser check. `eval-worker.js` (a module worker, written at build
//! time from `web/eval-worker.js`) boots this same wasm module, already compiled by the page, and
//! hands its message to [`check_slice`], which classifies the slice of the MNIST test set it was
//! given, off the main thread and in parallel with the other workers.

use digits_core::model::to_input;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

use crate::model_file;
use crate::protocol::{Reply, Request};

/// Images per run of the model: a multiple of the plan's own batch (the worker has its own
/// thread, so nothing waits for it).
const BATCH: usize = 100;

/// Runs one check request (a [`Request`] as the page sent it) and posts [`Reply`]s: progress,
/// then the labels or why it failed.
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
    match classify(&message, &post) {
        Ok(labels) => post(Reply::Done { labels }),
        Err(message) => post(Reply::Failed { message }),
    }
}

fn classify(message: &JsValue, post: &impl Fn(Reply)) -> Result<Vec<u8>, String> {
    let request = Request::from_js(message)?;
    let model = model_file::load(&request.model).map_err(|e| e.to_string())?;
    let mut labels = Vec::with_capacity(request.count());
    for group in request.groups() {
        let predicted = model
            .classify(&to_input(group), BATCH)
            .map_err(|e| e.to_string())?;
        labels.extend(predicted);
        post(Reply::Progress { done: labels.len() });
    }
    Ok(labels)
}
