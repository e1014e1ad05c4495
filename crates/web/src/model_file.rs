//! The page's model files (its CNN, and the plain network it is compared with): where they are,
//! and how the page, its check workers and the wasm == native parity test all load them (the
//! same plan everywhere). Free of browser types.

use digits_core::model::{Model, ModelError};

/// Where the model is, relative to the page (works under any sub-path).
pub const MODEL_URL: &str = "model.onnx";

/// Where the plain fully connected network that the page compares with the model is.
pub const MLP_URL: &str = "mlp.onnx";

/// Images per run of the page's model plan. tract optimizes a fixed shape better, and one image
/// at a time is the fastest per image (live drawing is one image; the test-set check runs them
/// one by one in workers).
pub const MODEL_BATCH: usize = 1;

/// Loads the model's ONNX bytes the way the page runs them.
pub fn load(bytes: &[u8]) -> Result<Model, ModelError> {
    load_named(bytes, MODEL_URL)
}

/// Loads another model file (`name` in its errors) the way the page runs its model.
pub fn load_named(bytes: &[u8], name: &str) -> Result<Model, ModelError> {
    Model::from_bytes_for_batch(bytes, name, MODEL_BATCH)
}

/// The line about the model under the page, from its metadata (`parameters`, `test_accuracy`).
pub fn about(parameters: Option<&str>, test_accuracy: Option<&str>) -> String {
    // A count the page's prose writes with thousands separators (33,482); anything else as it is.
    let grouped = parameters.map(|p| {
        p.parse::<u64>()
            .map_or(p.to_string(), digits_core::text::grouped)
    });
    let parameters = grouped.as_deref();
    match (parameters, test_accuracy.map(str::parse::<f64>)) {
        (Some(p), Some(Ok(a))) => format!(
            "Model: a {p}-parameter CNN, {:.2}% on the 10,000 MNIST test digits. Trained from scratch with ndarray, run with tract in WebAssembly.",
            100.0 * a
        ),
        (Some(p), _) => format!("Model: a {p}-parameter CNN, run with tract in WebAssembly."),
        (None, _) => "Model loaded; it carries no training report.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_says_what_it_is() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let m = load(bytes).unwrap();
        let about = about(m.meta("parameters"), m.meta("test_accuracy"));
        let report = digits_core::report::ModelReport::from_json(
            include_bytes!("../../../web/assets/model.report.json"),
            "model.report.json",
        )
        .unwrap();
        let want = format!(
            "Model: a {}-parameter CNN, {:.2}% on",
            digits_core::text::grouped(report.parameters as u64),
            100.0 * report.test.accuracy
        );
        assert!(want.contains("36,619"), "{want}");
        assert!(about.starts_with(&want), "{about}");
    }

    #[test]
    fn about_copes_with_missing_metadata() {
        assert_eq!(
            about(Some("12"), Some("lots")),
            "Model: a 12-parameter CNN, run with tract in WebAssembly."
        );
        assert_eq!(
            about(Some("many"), None),
            "Model: a many-parameter CNN, run with tract in WebAssembly."
        );
        assert_eq!(
            about(None, Some("0.9")),
            "Model loaded; it carries no training report."
        );
    }

    #[test]
    fn a_broken_file_names_the_model() {
        let e = load(b"nope").err().unwrap().to_string();
        assert!(e.starts_with("model.onnx: "), "{e}");
    }
}
