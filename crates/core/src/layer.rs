//! What one layer of a model computed for one image: what the runtime (`model`) gives and what
//! "Inside the network" (`inside`) draws, so neither has to know the other.

/// What one layer of a model computed for one image (`model::Model::layers`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerView {
    /// The ONNX tensor's name (`relu_3`; `image` for the input, the model's output name for
    /// the probabilities).
    pub name: String,
    /// The ONNX op that made it (`Relu`, `MaxPool`, `GlobalAveragePool`, `Gemm` for the scores
    /// before softmax, `Softmax`; `Input` for the input).
    pub op: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `channels x height x width` values, channel by channel, row by row.
    pub values: Vec<f32>,
}

impl LayerView {
    /// Channel `c`'s `height x width` values.
    pub fn channel(&self, c: usize) -> &[f32] {
        let plane = self.height * self.width;
        &self.values[c * plane..(c + 1) * plane]
    }
}
