//! An exported digit classifier, run with tract-onnx.
//!
//! The model contract (written by `digits train`): input `image`, float32 `[N,1,28,28]` with
//! 0.0 = background and 1.0 = ink; output `probabilities`, float32 `[N,10]`.
//!
//! A model loaded [with its layers](Model::from_bytes_with_layers) also gives what its hidden
//! layers compute ([`Model::layers`]): the same graph, run once, with some of its inner tensors
//! as extra outputs, so the views can never drift from the answer.

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

pub use crate::prediction::{ONE_DIGIT, Prediction};
use crate::{CLASSES, PIXELS, SIDE};

/// What went wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{name}: not a usable ONNX digit model: {reason}")]
    Load { name: String, reason: String },
    #[error("input has {len} values, expected a multiple of {PIXELS} (28x28 images)")]
    InputLength { len: usize },
    #[error("inference failed: {0}")]
    Run(String),
    #[error("model output has shape {shape:?}, expected [{n}, {width}]")]
    OutputShape {
        shape: Vec<usize>,
        n: usize,
        width: usize,
    },
}

type Plan = std::sync::Arc<TypedSimplePlan>;

/// One step of a model's plan and the time it took ([`Model::profile`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepTime {
    /// The node's name in the optimized graph (an ONNX node's name, with a suffix where tract
    /// split it: `conv_4.matmatmul`).
    pub name: String,
    /// tract's op (`OptMatMul`, `OptMaxPool`, `LazyIm2col`, ...).
    pub op: String,
    /// Mean seconds per run.
    pub seconds: f64,
}

pub use crate::layer::LayerView;

/// The ops whose outputs are shown as layers: what a beginner reads as "what this layer sees".
const SHOWN_OPS: [&str; 5] = [
    "Relu",
    "MaxPool",
    "GlobalAveragePool",
    "AveragePool",
    "Sigmoid",
];

/// The inner tensors a model's layer views show, as (tensor, op), in graph order: the output of
/// every activation and pooling node, then the scores the final Softmax turns into
/// probabilities (a `Gemm`'s output in our models).
fn shown_tensors(graph: &tract_onnx::pb::GraphProto) -> Vec<(String, String)> {
    let Some(output) = graph.output.first().map(|o| o.name.as_str()) else {
        return Vec::new();
    };
    let mut shown: Vec<(String, String)> = graph
        .node
        .iter()
        .filter(|n| SHOWN_OPS.contains(&n.op_type.as_str()))
        .filter_map(|n| Some((n.output.first()?.clone(), n.op_type.clone())))
        .filter(|(t, _)| t != output)
        .collect();
    let last = graph
        .node
        .iter()
        .find(|n| n.output.iter().any(|o| o == output));
    if let Some(softmax) = last.filter(|n| n.op_type == "Softmax") {
        let scores = softmax.input.first().cloned().unwrap_or_default();
        let maker = graph
            .node
            .iter()
            .find(|n| n.output.contains(&scores))
            .map_or("Scores".to_string(), |n| n.op_type.clone());
        shown.retain(|(t, _)| *t != scores);
        shown.push((scores, maker));
    }
    shown
}

/// The two tensors of a doubt output (a model from `digits train --doubt-head`), if the model
/// has one: its final Softmax reads a `Mul` of the ten scores and a `Sigmoid`, how sure the
/// network is that the input is one whole digit. Returns (the scores, the Sigmoid's output).
fn doubt_tensors(graph: &tract_onnx::pb::GraphProto) -> Option<(String, String)> {
    let output = graph.output.first()?.name.as_str();
    let maker = |t: &str| graph.node.iter().find(|n| n.output.iter().any(|o| o == t));
    let softmax = maker(output).filter(|n| n.op_type == "Softmax")?;
    let mul = maker(softmax.input.first()?).filter(|n| n.op_type == "Mul" && n.input.len() == 2)?;
    let is_sigmoid = |t: &String| maker(t).is_some_and(|n| n.op_type == "Sigmoid");
    let (sure, scores) = match (is_sigmoid(&mul.input[0]), is_sigmoid(&mul.input[1])) {
        (true, false) => (&mul.input[0], &mul.input[1]),
        (false, true) => (&mul.input[1], &mul.input[0]),
        _ => return None,
    };
    Some((scores.clone(), sure.clone()))
}

/// A loaded, optimized model ready to classify batches of 28x28 images.
pub struct Model {
    plan: Plan,
    /// The extra outputs after the probabilities (tensor, op), when loaded with its layers.
    shown: Vec<(String, String)>,
    /// Where a doubt output's scores and Sigmoid are among the plan's outputs.
    doubt: Option<(usize, usize)>,
    metadata: Vec<(String, String)>,
    /// Images per run when the plan was made for a fixed batch size.
    batch: Option<usize>,
    /// The model gives scores, not probabilities (no Softmax at its end): one is applied.
    softmax: bool,
}

/// Runs `f`, turning a panic inside tract (a model that asks for an absurd allocation, say) into
/// an error. Where panics abort (the page's wasm), `f` simply runs.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    #[cfg(panic = "unwind")]
    {
        use std::cell::Cell;
        thread_local! {
            /// This thread is inside `guarded`: its panics become errors, not printed reports.
            static GUARDED: Cell<bool> = const { Cell::new(false) };
        }
        static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
        QUIET_HOOK.call_once(|| {
            let report = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !GUARDED.with(Cell::get) {
                    report(info)
                }
            }));
        });
        GUARDED.with(|g| g.set(true));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        GUARDED.with(|g| g.set(false));
        result.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an internal error".into());
            Err(format!("tract failed on this model: {what}"))
        })
    }
    #[cfg(not(panic = "unwind"))]
    {
        f()
    }
}

/// A digit model has one input (the images) and one output (their probabilities).
fn one_in_one_out(inputs: usize, outputs: usize) -> Result<(), String> {
    if inputs == 1 && outputs == 1 {
        Ok(())
    } else {
        Err(format!(
            "expected one input and one output, found {inputs} and {outputs}"
        ))
    }
}

/// Whether one image's outputs can be probabilities: finite, within 0..1 and adding up to 1.
fn probabilities(p: &[f32; CLASSES]) -> bool {
    let sum: f32 = p.iter().sum();
    p.iter()
        .all(|v| v.is_finite() && (-1e-6..=1.0 + 1e-6).contains(v))
        && (sum - 1.0).abs() < 1e-3
}

/// Softmax of one image's scores, in place.
fn softmax(p: &mut [f32; CLASSES]) {
    let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in p.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    p.iter_mut().for_each(|v| *v /= sum);
}

/// The values of an output that holds `width` values for each of `n` images, row by row.
fn rows(out: &TValue, n: usize, width: usize) -> Result<Vec<f32>, ModelError> {
    let view = out
        .to_plain_array_view::<f32>()
        .map_err(|e| ModelError::Run(chain(&e)))?;
    if view.shape() != [n, width] {
        return Err(ModelError::OutputShape {
            shape: view.shape().to_vec(),
            n,
            width,
        });
    }
    Ok(view
        .as_slice()
        .map_or_else(|| view.iter().copied().collect(), <[f32]>::to_vec))
}

/// The whole error chain of a tract error, on one line.
fn chain(e: &TractError) -> String {
    format!("{e:#}")
}

impl Model {
    /// Loads an ONNX model from its bytes. `name` identifies it in errors (a path or URL).
    /// The plan takes any number of images per run.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Model, ModelError> {
        Self::load(bytes, name, None, false)
    }

    /// Loads an ONNX model for one image at a time that also gives what its layers compute
    /// ([`Model::layers`]). Keeping inner tensors costs tract some fusions, so a page runs this
    /// beside the plain plan, only for the views.
    pub fn from_bytes_with_layers(bytes: &[u8], name: &str) -> Result<Model, ModelError> {
        Self::load(bytes, name, Some(1), true)
    }

    /// Loads an ONNX model whose plan is made for exactly `batch` images per run: tract
    /// optimizes a known shape better (with `batch` 1, about a quarter less time per image than
    /// the any-size plan). [`Model::predict`] still takes any number of images, `batch` at a
    /// time.
    pub fn from_bytes_for_batch(
        bytes: &[u8],
        name: &str,
        batch: usize,
    ) -> Result<Model, ModelError> {
        Self::load(bytes, name, Some(batch.max(1)), false)
    }

    fn load(
        bytes: &[u8],
        name: &str,
        batch: Option<usize>,
        layers: bool,
    ) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(ModelError::Load {
                name: name.to_string(),
                reason: "the file is empty".into(),
            });
        }
        guarded(|| Self::load_checked(bytes, batch, layers)).map_err(|reason| ModelError::Load {
            name: name.to_string(),
            reason,
        })
    }

    fn load_checked(bytes: &[u8], batch: Option<usize>, layers: bool) -> Result<Model, String> {
        let onnx = tract_onnx::onnx();
        let mut reader = bytes;
        let proto = onnx
            .proto_model_for_read(&mut reader)
            .map_err(|e| chain(&e))?;
        let metadata = proto
            .metadata_props
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        let mut model = onnx.model_for_proto_model(&proto).map_err(|e| chain(&e))?;
        // The model's declared input, checked before a batch size replaces its first dimension
        // (which would hide a wrong shape behind tract's unification errors). A model made for
        // a fixed number of images (PyTorch's default export has 1) is run with that many.
        let fixed = Self::declared_batch(&model)?;
        let shown = match (&proto.graph, layers) {
            (Some(graph), true) => shown_tensors(graph),
            _ => Vec::new(),
        };
        // The plan's outputs: the probabilities, the shown layers, then a doubt output's scores
        // and Sigmoid (where a shown layer is one of them, that output is used).
        let mut names: Vec<String> = shown.iter().map(|(t, _)| t.clone()).collect();
        let mut doubt = None;
        if let Some((scores, sure)) = proto.graph.as_ref().and_then(doubt_tensors) {
            let mut at = |t: String| {
                1 + names.iter().position(|n| *n == t).unwrap_or_else(|| {
                    names.push(t);
                    names.len() - 1
                })
            };
            doubt = Some((at(scores), at(sure)));
        }
        if !names.is_empty() {
            let output = model
                .outlet_label(model.outputs[0])
                .ok_or("the model's output has no name")?
                .to_string();
            model
                .select_outputs_by_name(std::iter::once(output).chain(names.iter().cloned()))
                .map_err(|e| chain(&e))?;
        }
        let batch = match (fixed, batch) {
            (Some(n), _) => Some(n.max(1)),
            (None, Some(b)) => {
                let fact = f32::fact([b, 1, SIDE, SIDE]).into();
                model.set_input_fact(0, fact).map_err(|e| chain(&e))?;
                Some(b)
            }
            (None, None) => None,
        };
        let mut typed = model.into_optimized().map_err(|e| chain(&e))?;
        digits_plan_ops::speed_up(&mut typed).map_err(|e| chain(&e))?;
        Self::check_io(&typed, 1 + names.len())?;
        let plan = typed.into_runnable().map_err(|e| chain(&e))?;
        let mut loaded = Model {
            plan,
            shown,
            doubt,
            metadata,
            batch,
            softmax: false,
        };
        // One trial run on blank images: the output must be CLASSES values per image, and if
        // they are not probabilities the model ends without a Softmax: apply one.
        let trial = loaded
            .predict(&vec![0.0; batch.unwrap_or(1) * PIXELS])
            .map_err(|e| e.to_string())?;
        loaded.softmax = !trial.iter().all(probabilities);
        // A Mul of a Sigmoid before the Softmax that is not one value per image times the ten
        // scores is some other graph: it is read as a model without a doubt output.
        let blank = vec![0.0; batch.unwrap_or(1) * PIXELS];
        if loaded.doubt.is_some() && loaded.predictions(&blank).is_err() {
            loaded.doubt = None;
        }
        Ok(loaded)
    }

    /// Whether the model's outputs are scores that this wrapper turns into probabilities.
    pub fn applies_softmax(&self) -> bool {
        self.softmax
    }

    /// One ONNX metadata property (models from `digits train` have dataset, arch, parameters,
    /// command and test_accuracy).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Checks what the ONNX file declares about its input, without typing the whole graph:
    /// one input and one output, and where the input's dimensions are given, `[N,1,28,28]`.
    /// Returns the first dimension if it is a fixed number.
    fn declared_batch(model: &InferenceModel) -> Result<Option<usize>, String> {
        one_in_one_out(model.inputs.len(), model.outputs.len())?;
        let fact = model.input_fact(0).map_err(|e| chain(&e))?;
        let dims: Vec<Option<i64>> = fact
            .shape
            .dims()
            .map(|d| d.concretize().and_then(|d| d.to_i64().ok()))
            .collect();
        let fits = dims.len() == 4
            && [1, SIDE as i64, SIDE as i64]
                .iter()
                .zip(&dims[1..])
                .all(|(&want, got)| got.is_none_or(|g| g == want));
        if !dims.is_empty() && !fits {
            let shown: Vec<String> = dims
                .iter()
                .enumerate()
                .map(|(i, d)| match (i, d) {
                    (_, Some(v)) => v.to_string(),
                    (0, None) => "N".into(),
                    _ => "?".into(),
                })
                .collect();
            return Err(format!(
                "input has shape {}, expected [N,1,28,28]",
                shown.join(",")
            ));
        }
        Ok(dims
            .first()
            .copied()
            .flatten()
            .and_then(|n| usize::try_from(n).ok()))
    }

    fn check_io(model: &TypedModel, outputs: usize) -> Result<(), String> {
        if model.outputs.len() != outputs {
            return Err(format!(
                "expected {outputs} outputs, found {}",
                model.outputs.len()
            ));
        }
        one_in_one_out(model.inputs.len(), 1)?;
        let fact = model.input_fact(0).map_err(|e| chain(&e))?;
        if fact.datum_type != f32::datum_type() {
            return Err(format!("input is {:?}, expected f32", fact.datum_type));
        }
        let dims: Vec<Option<i64>> = fact.shape.iter().map(|d| d.to_i64().ok()).collect();
        let side = Some(SIDE as i64);
        if dims.len() != 4 || dims[1] != Some(1) || dims[2] != side || dims[3] != side {
            return Err(format!(
                "input has shape {:?}, expected [N,1,28,28]",
                fact.shape
            ));
        }
        Ok(())
    }

    /// Classifies `images.len() / 784` images (row-major 28x28, 0.0 = background, 1.0 = ink)
    /// and returns their class probabilities.
    pub fn predict(&self, images: &[f32]) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        self.batched(images, |out, n| self.probabilities(&out[0], n))
    }

    /// Classifies images as [`Model::predict`] does, with each answer taken apart: the
    /// probabilities, which digit the ten scores alone read, and how sure a doubt output is
    /// that the input is one digit.
    pub fn predictions(&self, images: &[f32]) -> Result<Vec<Prediction>, ModelError> {
        self.batched(images, |out, n| self.taken_apart(out, n))
    }

    /// The answers of `n` images taken apart, from one run's outputs.
    fn taken_apart(&self, out: &TVec<TValue>, n: usize) -> Result<Vec<Prediction>, ModelError> {
        let probabilities = self.probabilities(&out[0], n)?;
        let Some((scores, sure)) = self.doubt else {
            return Ok(probabilities.into_iter().map(Prediction::plain).collect());
        };
        let scores = rows(&out[scores], n, CLASSES)?;
        let sure = rows(&out[sure], n, 1)?;
        Ok(probabilities
            .into_iter()
            .zip(scores.chunks_exact(CLASSES).zip(sure))
            .map(|(p, (s, k))| {
                let mut digit = [0f32; CLASSES];
                digit.copy_from_slice(s);
                softmax(&mut digit);
                Prediction {
                    probabilities: p,
                    digit,
                    one_digit: Some(k),
                }
            })
            .collect())
    }

    /// Whether the model has a doubt output ([`Prediction::one_digit`]).
    pub fn has_doubt(&self) -> bool {
        self.doubt.is_some()
    }

    /// Runs the plan on `images` (a whole number of 28x28 images), as many at a time as it
    /// was made for, and gathers what `read` takes from each run's outputs for its `n` images.
    fn batched<T>(
        &self,
        images: &[f32],
        read: impl Fn(&TVec<TValue>, usize) -> Result<Vec<T>, ModelError>,
    ) -> Result<Vec<T>, ModelError> {
        if images.is_empty() || !images.len().is_multiple_of(PIXELS) {
            return Err(ModelError::InputLength { len: images.len() });
        }
        let Some(b) = self.batch else {
            return read(&self.run(images)?, images.len() / PIXELS);
        };
        let mut out = Vec::with_capacity(images.len() / PIXELS);
        for group in images.chunks(b * PIXELS) {
            let n = group.len() / PIXELS;
            if n == b {
                out.extend(read(&self.run(group)?, b)?);
            } else {
                // The last, short group: padded with blank images whose answers are dropped.
                let mut padded = group.to_vec();
                padded.resize(b * PIXELS, 0.0);
                out.extend(read(&self.run(&padded)?, b)?.into_iter().take(n));
            }
        }
        Ok(out)
    }

    /// One run of the plan on `images.len() / 784` images: every output.
    fn run(&self, images: &[f32]) -> Result<TVec<TValue>, ModelError> {
        guarded(|| Ok(self.run_plan(images))).map_err(ModelError::Run)?
    }

    fn run_plan(&self, images: &[f32]) -> Result<TVec<TValue>, ModelError> {
        let n = images.len() / PIXELS;
        let input = Tensor::from_shape(&[n, 1, SIDE, SIDE], images)
            .map_err(|e| ModelError::Run(chain(&e)))?;
        self.plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| ModelError::Run(chain(&e)))
    }

    /// The probabilities of `n` images from the plan's first output.
    fn probabilities(&self, out: &TValue, n: usize) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        Ok(rows(out, n, CLASSES)?
            .chunks_exact(CLASSES)
            .map(|c| {
                let mut p = [0f32; CLASSES];
                p.copy_from_slice(c);
                if self.softmax {
                    softmax(&mut p);
                }
                p
            })
            .collect())
    }

    /// What every shown layer computes for one image (784 values): the input, each activation
    /// and pooling output, the scores before softmax and the probabilities, in graph order. A
    /// model not loaded [with its layers](Model::from_bytes_with_layers) gives only the input
    /// and the probabilities.
    pub fn layers(&self, image: &[f32]) -> Result<Vec<LayerView>, ModelError> {
        Ok(self.layers_and_prediction(image)?.0)
    }

    /// [`Model::layers`], and the answer taken apart ([`Model::predictions`]), from the same
    /// run.
    pub fn layers_and_prediction(
        &self,
        image: &[f32],
    ) -> Result<(Vec<LayerView>, Prediction), ModelError> {
        if image.len() != PIXELS || self.batch.is_some_and(|b| b != 1) {
            return Err(ModelError::InputLength { len: image.len() });
        }
        guarded(|| Ok(self.run_layers(image))).map_err(ModelError::Run)?
    }

    fn run_layers(&self, image: &[f32]) -> Result<(Vec<LayerView>, Prediction), ModelError> {
        let run_err = |e: TractError| ModelError::Run(chain(&e));
        let input = Tensor::from_shape(&[1, 1, SIDE, SIDE], image).map_err(run_err)?;
        let out = self.plan.run(tvec!(input.into_tvalue())).map_err(run_err)?;
        let mut views = vec![LayerView {
            name: "image".into(),
            op: "Input".into(),
            channels: 1,
            height: SIDE,
            width: SIDE,
            values: image.to_vec(),
        }];
        for (value, (name, op)) in out.iter().skip(1).zip(&self.shown) {
            let view = value.to_plain_array_view::<f32>().map_err(run_err)?;
            let dims = view.shape();
            let (channels, height, width) = match dims {
                [1, c] => (*c, 1, 1),
                [1, c, h, w] => (*c, *h, *w),
                _ => {
                    return Err(ModelError::Run(format!(
                        "{name} has shape {dims:?}, expected [1,C] or [1,C,H,W]"
                    )));
                }
            };
            views.push(LayerView {
                name: name.clone(),
                op: op.clone(),
                channels,
                height,
                width,
                // Contiguous (a copy of one block) in every plan we make; any other layout
                // is walked element by element.
                values: view
                    .as_slice()
                    .map_or_else(|| view.iter().copied().collect(), <[f32]>::to_vec),
            });
        }
        let prediction = self.taken_apart(&out, 1)?[0];
        views.push(LayerView {
            name: self.output_name(),
            op: "Softmax".into(),
            channels: CLASSES,
            height: 1,
            width: 1,
            values: prediction.probabilities.to_vec(),
        });
        Ok((views, prediction))
    }

    /// The name of the model's output tensor.
    fn output_name(&self) -> String {
        let model = self.plan.model();
        model
            .outputs
            .first()
            .and_then(|&o| model.outlet_label(o))
            .unwrap_or("probabilities")
            .to_string()
    }

    /// Where one run of the plan spends its time: each step of the optimized plan (tract's own
    /// op names, as `tract dump --profile` shows them) with its mean seconds over `runs` runs
    /// on `image`, in plan order. `now` is a clock in seconds (`Instant` natively,
    /// `performance.now()` in the page). A first run, not timed, warms the caches.
    pub fn profile(
        &self,
        image: &[f32],
        runs: usize,
        now: impl Fn() -> f64,
    ) -> Result<Vec<StepTime>, ModelError> {
        let n = self.batch.unwrap_or(1);
        if image.len() != n * PIXELS {
            return Err(ModelError::InputLength { len: image.len() });
        }
        let run_err = |e: TractError| ModelError::Run(chain(&e));
        let input = Tensor::from_shape(&[n, 1, SIDE, SIDE], image).map_err(run_err)?;
        let mut state = TypedSimpleState::new(&self.plan).map_err(run_err)?;
        let model = self.plan.model();
        let mut seconds = vec![0.0; model.nodes.len()];
        for run in 0..=runs {
            state
                .run_plan_with_eval(
                    tvec!(input.clone().into_tvalue()),
                    |ctx, op_state, node, inputs| {
                        let start = now();
                        let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
                        if run > 0 {
                            seconds[node.id] += now() - start;
                        }
                        out
                    },
                )
                .map_err(run_err)?;
        }
        Ok(self
            .plan
            .order_without_consts()
            .iter()
            .map(|&id| StepTime {
                name: model.nodes[id].name.clone(),
                op: model.nodes[id].op.name().to_string(),
                seconds: seconds[id] / runs.max(1) as f64,
            })
            .collect())
    }

    /// Classifies many images in batches of `batch`, returning the predicted digit of each.
    pub fn classify(&self, images: &[f32], batch: usize) -> Result<Vec<u8>, ModelError> {
        let mut out = Vec::with_capacity(images.len() / PIXELS);
        for chunk in images.chunks(batch.max(1) * PIXELS) {
            for p in self.predict(chunk)? {
                out.push(crate::metrics::argmax(&p).unwrap_or(0) as u8);
            }
        }
        Ok(out)
    }
}

pub use crate::input::{to_input, to_input_into};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;

    #[test]
    fn garbage_is_a_clear_error() {
        for (bytes, what) in [
            (&b""[..], "empty"),
            (&b"not an onnx file at all"[..], "text"),
        ] {
            let e = Model::from_bytes(bytes, "bad.onnx").err().expect(what);
            assert!(e.to_string().contains("bad.onnx"), "{e}");
        }
    }

    /// Seven different 28x28 inputs: strokes of a simple pseudo-random walk.
    fn inputs() -> Vec<f32> {
        let mut state = 12345u32;
        let mut next = || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as usize
        };
        let mut out = vec![0.0; 7 * PIXELS];
        for img in out.chunks_mut(PIXELS) {
            let (mut x, mut y) = (8 + next() % 12, 8 + next() % 12);
            for _ in 0..60 {
                img[y * SIDE + x] = 1.0;
                x = (x + next() % 3).saturating_sub(1).clamp(4, 23);
                y = (y + next() % 3).saturating_sub(1).clamp(4, 23);
            }
        }
        out
    }

    #[test]
    fn a_fixed_batch_plan_answers_like_the_any_size_plan() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let any = Model::from_bytes(bytes, "model.onnx").unwrap();
        let x = inputs();
        let expected = any.predict(&x).unwrap();
        for b in [1, 3, 7, 16] {
            let fixed = Model::from_bytes_for_batch(bytes, "model.onnx", b).unwrap();
            // 7 images: several full groups, a padded last group, or one padded group.
            let got = fixed.predict(&x).unwrap();
            assert_eq!(got.len(), 7, "batch {b}");
            for (g, e) in got.iter().zip(&expected) {
                for (a, b) in g.iter().zip(e) {
                    assert!((a - b).abs() < 1e-5, "batch {b}: {g:?} vs {e:?}");
                }
            }
            assert_eq!(fixed.classify(&x, 5).unwrap(), any.classify(&x, 5).unwrap());
        }
    }

    #[test]
    fn the_shipped_model_shows_every_layer_and_answers_as_the_plain_plan() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let model = Model::from_bytes_with_layers(bytes, "model.onnx").unwrap();
        let plain = Model::from_bytes_for_batch(bytes, "model.onnx", 1).unwrap();
        let x = inputs();
        for image in x.chunks(PIXELS).take(3) {
            let views = model.layers(image).unwrap();
            let shapes: Vec<(&str, usize, usize)> = views
                .iter()
                .map(|v| (v.op.as_str(), v.channels, v.height))
                .collect();
            assert_eq!(
                shapes,
                [
                    ("Input", 1, 28),
                    ("Relu", 16, 28),
                    ("MaxPool", 16, 14),
                    ("Relu", 32, 14),
                    ("Relu", 32, 14),
                    ("MaxPool", 32, 7),
                    ("Relu", 64, 7),
                    ("GlobalAveragePool", 64, 1),
                    // The doubt output: how sure it is of one digit, and the scores times that.
                    ("Sigmoid", 1, 1),
                    ("Mul", 10, 1),
                    ("Softmax", 10, 1),
                ]
            );
            for v in &views {
                assert_eq!(
                    v.values.len(),
                    v.channels * v.height * v.width,
                    "{}",
                    v.name
                );
            }
            assert_eq!(views.last().unwrap().name, "probabilities");
            let want = plain.predict(image).unwrap()[0];
            let got = &views.last().unwrap().values;
            for (a, b) in got.iter().zip(want) {
                assert!((a - b).abs() < 1e-6, "{got:?} vs {want:?}");
            }
            // It still answers like any model, and the scores' softmax is the answer.
            assert_eq!(model.predict(image).unwrap()[0], want);
            let mut scores = [0f32; CLASSES];
            scores.copy_from_slice(&views[views.len() - 2].values);
            softmax(&mut scores);
            assert!(scores.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5));
        }
        // A model loaded without its layers shows only the input and the answer.
        let two = plain.layers(&x[..PIXELS]).unwrap();
        assert_eq!(two.len(), 2);
        assert!(matches!(
            model.layers(&x[..10]),
            Err(ModelError::InputLength { .. })
        ));
    }

    #[test]
    fn a_doubt_output_is_taken_apart_and_a_plain_model_has_none() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let x = inputs();
        let plain = Model::from_bytes_for_batch(bytes, "model.onnx", 1).unwrap();
        let any = Model::from_bytes(bytes, "model.onnx").unwrap();
        let layers = Model::from_bytes_with_layers(bytes, "model.onnx").unwrap();
        assert!(plain.has_doubt() && any.has_doubt() && layers.has_doubt());
        let got = plain.predictions(&x).unwrap();
        assert_eq!(got.len(), 7);
        let mut doubted = 0;
        for (i, (g, p)) in got.iter().zip(plain.predict(&x).unwrap()).enumerate() {
            // The model's own output is untouched.
            assert_eq!(g.probabilities, p);
            let k = g.one_digit.unwrap();
            assert!(k > 0.0 && k < 1.0, "{k}");
            doubted += (k < 0.5) as usize;
            // The digit's probabilities: the same ranking, and the model's output is their
            // scores times the doubt's factor, softmaxed again.
            assert_eq!(metrics::argmax(&g.digit), metrics::argmax(&p));
            assert!((g.digit.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            let mut again = g.digit.map(|d| d.ln() * k);
            softmax(&mut again);
            for (a, b) in again.iter().zip(&p) {
                assert!((a - b).abs() < 1e-4, "{i}: {again:?} vs {p:?}");
            }
            // The top digit is at least as sure before the doubt as after it.
            let top = metrics::argmax(&p).unwrap();
            assert!(g.digit[top] >= p[top] - 1e-6);
            // Every plan answers the same, the layers' one through the Sigmoid it shows.
            let image = &x[i * PIXELS..(i + 1) * PIXELS];
            let (views, same_run) = layers.layers_and_prediction(image).unwrap();
            let sigmoid = views.iter().find(|v| v.op == "Sigmoid").unwrap();
            assert!((sigmoid.values[0] - k).abs() < 1e-6);
            assert_eq!(same_run, layers.predictions(image).unwrap()[0]);
            assert_eq!(views.last().unwrap().values, same_run.probabilities);
            for other in [&any, &layers] {
                let o = other.predictions(image).unwrap()[0];
                assert!((o.one_digit.unwrap() - k).abs() < 1e-5);
                assert!(
                    o.digit
                        .iter()
                        .zip(&g.digit)
                        .all(|(a, b)| (a - b).abs() < 1e-5)
                );
            }
        }
        // The random walks are not digits: the doubt output says so for some of them.
        assert!(doubted > 0, "{got:?}");
        let mlp = include_bytes!("../../../web/assets/mlp.onnx");
        let mlp = Model::from_bytes_for_batch(mlp, "mlp.onnx", 1).unwrap();
        assert!(!mlp.has_doubt());
        for (g, p) in mlp
            .predictions(&x)
            .unwrap()
            .iter()
            .zip(mlp.predict(&x).unwrap())
        {
            assert_eq!((g.probabilities, g.digit, g.one_digit), (p, p, None));
        }
        assert!(matches!(
            plain.predictions(&x[..10]),
            Err(ModelError::InputLength { len: 10 })
        ));
    }

    #[test]
    fn the_profile_names_every_step_of_the_plan_with_its_time() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let model = Model::from_bytes_for_batch(bytes, "model.onnx", 1).unwrap();
        let x = inputs();
        let t0 = std::time::Instant::now();
        let steps = model
            .profile(&x[..PIXELS], 3, || t0.elapsed().as_secs_f64())
            .unwrap();
        let ops: Vec<&str> = steps.iter().map(|s| s.op.as_str()).collect();
        // The shipped model's two pools and four paddings run on the faster stand-ins.
        let count = |op: &str| ops.iter().filter(|&&o| o == op).count();
        assert_eq!(count("MaxPool2x2"), 2, "{ops:?}");
        assert_eq!(count("ZeroPadHw"), 4, "{ops:?}");
        assert!(
            ops.iter().all(|&o| o != "OptMaxPool" && o != "Pad"),
            "{ops:?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.name.starts_with("conv_") && s.op == "OptMatMul")
        );
        assert!(steps.iter().all(|s| s.seconds >= 0.0));
        assert!(steps.iter().map(|s| s.seconds).sum::<f64>() > 0.0);
        assert!(matches!(
            model.profile(&x, 3, || 0.0),
            Err(ModelError::InputLength { .. })
        ));
    }
}
