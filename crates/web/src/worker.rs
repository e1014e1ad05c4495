//! The worker side of the in-browser check. `eval-worker.js` (a module worker, written at build
//! time from `web/eval-worker.js`) instantiates this same wasm module, already compiled by the
//! page, and classifies its slice of the MNIST test set with an [`Evaluator`], off the main
//! thread and in parallel with the other workers.

use digits_core::model::{Model, to_input};
use wasm_bindgen::prelude::*;

/// Images per call of the plan, a multiple of the plan's own batch (the worker has its own
/// thread: no need to yield between them).
const BATCH: usize = 100;

/// The page's model, loaded in a worker.
#[wasm_bindgen]
pub struct Evaluator {
    model: Model,
}

#[wasm_bindgen]
impl Evaluator {
    /// Loads the model from the ONNX bytes the page loaded.
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8]) -> Result<Evaluator, JsValue> {
        Model::from_bytes_for_batch(model, "model.onnx", crate::MODEL_BATCH)
            .map(|model| Evaluator { model })
            .map_err(|e| JsValue::from_str(&e.to_string()))
    }

    /// The predicted digit of each 28x28 image in `pixels` (784 bytes per image, 0 = paper).
    pub fn classify(&self, pixels: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.model
            .classify(&to_input(pixels), BATCH)
            .map_err(|e| JsValue::from_str(&e.to_string()))
    }
}
