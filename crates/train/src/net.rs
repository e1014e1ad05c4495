//! A network built from a spec: parameters in one flat vector, and per-shard workspaces that
//! hold activations, caches and gradients so the training loop never allocates.

use std::ops::Range;

use crate::layers::{self, BnBuffers, ConvGeom};
use crate::rng::Rng;
use crate::spec::{self, Op, Shape, SpecError};

pub const BN_EPS: f32 = 1e-5;
pub const BN_MOMENTUM: f32 = 0.1;
pub use digits_core::CLASSES;
use digits_core::PIXELS;

/// One layer: its op, shapes and where its parameters and running statistics live.
#[derive(Clone, Debug)]
pub struct Layer {
    pub op: Op,
    pub input: Shape,
    pub output: Shape,
    /// Offset of this layer's parameters in [`Network::params`].
    pub param_at: usize,
    pub param_len: usize,
    /// Offset of this layer's running statistics (batch norm: mean then variance).
    pub state_at: usize,
}

impl Layer {
    pub fn conv_geom(&self) -> ConvGeom {
        match self.op {
            Op::Conv { k, pad, .. } => ConvGeom {
                input: self.input,
                output: self.output,
                k,
                pad,
            },
            _ => unreachable!("conv_geom of a {:?} layer", self.op),
        }
    }

    /// Length of the weight part of the parameters (the rest is bias, or beta for batch norm).
    fn weight_len(&self) -> usize {
        match self.op {
            Op::Conv { .. } | Op::Linear { .. } | Op::BatchNorm => self.param_len - self.output.c,
            _ => 0,
        }
    }

    /// (weights, bias) of a conv or linear layer, (gamma, beta) of batch norm.
    pub fn split<'a>(&self, all: &'a [f32]) -> (&'a [f32], &'a [f32]) {
        all[self.param_at..self.param_at + self.param_len].split_at(self.weight_len())
    }

    pub fn split_mut<'a>(&self, all: &'a mut [f32]) -> (&'a mut [f32], &'a mut [f32]) {
        all[self.param_at..self.param_at + self.param_len].split_at_mut(self.weight_len())
    }
}

/// A network: the spec, its layers, trainable parameters and batch-norm running statistics,
/// and perhaps a "not one digit" output fitted on it afterwards ([`SideDoubt`]).
#[derive(Clone, Debug)]
pub struct Network {
    pub spec: String,
    pub layers: Vec<Layer>,
    pub params: Vec<f32>,
    pub state: Vec<f32>,
    pub side_doubt: Option<SideDoubt>,
}

/// A "not one digit" output beside the network (`digits train --doubt-head`,
/// `doubt_head`): a logistic regression of one layer's whole output (the feature
/// maps before pooling, where two digits side by side still look like two), fitted on the
/// trained, frozen network. It is no parameter: training never moves it, and the ten scores
/// stay the network's own. Its doubt flattens the probabilities as an `fc11` network's does
/// ([`layers::doubt_probabilities`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SideDoubt {
    /// The layer whose output (all of it, flattened) it reads.
    pub layer: usize,
    /// Its weights, one per value of that output, and bias.
    pub head: Head,
}

/// A logistic output's weights (one per feature) and bias: the doubt output without the layer
/// it reads (what `doubt_head::fit` finds from features alone).
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Head {
    /// The doubt (a logit) of one feature vector.
    pub fn doubt(&self, features: &[f32]) -> f32 {
        layers::dot(&self.weights, features) + self.bias
    }
}

/// Whether a forward pass trains (batch statistics, dropout) or infers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

impl Network {
    /// Builds the network of `spec` with He-initialized weights from `seed`.
    pub fn new(spec_str: &str, seed: u64) -> Result<Network, SpecError> {
        let parsed = spec::parse(spec_str)?;
        let mut layers = Vec::with_capacity(parsed.len());
        let (mut p, mut s) = (0, 0);
        for (op, input, output) in parsed {
            // The parser has checked that every count fits.
            let param_len = spec::param_len(op, input).expect("checked by spec::parse");
            let state_len = if op == Op::BatchNorm { 2 * input.c } else { 0 };
            layers.push(Layer {
                op,
                input,
                output,
                param_at: p,
                param_len,
                state_at: s,
            });
            p += param_len;
            s += state_len;
        }
        let mut net = Network {
            spec: spec_str.to_string(),
            layers,
            params: vec![0.0; p],
            state: vec![0.0; s],
            side_doubt: None,
        };
        let mut rng = Rng::derive(seed, &[0x1417]);
        for l in net.layers.clone() {
            let (w, b) = l.split_mut(&mut net.params);
            match l.op {
                Op::Conv { .. } | Op::Linear { .. } => {
                    let fan_in = w.len() / l.output.c;
                    let std = (2.0 / fan_in as f32).sqrt();
                    w.iter_mut().for_each(|v| *v = std * rng.normal());
                    b.fill(0.0);
                }
                Op::BatchNorm => {
                    w.fill(1.0);
                    b.fill(0.0);
                    let c = l.input.c;
                    net.state[l.state_at..l.state_at + c].fill(0.0);
                    net.state[l.state_at + c..l.state_at + 2 * c].fill(1.0);
                }
                _ => {}
            }
        }
        Ok(net)
    }

    /// The trainable parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// The model's parameters: the trainable ones and a doubt output's beside them
    /// ([`SideDoubt`]), what its file holds.
    pub fn model_param_count(&self) -> usize {
        self.params.len()
            + self
                .side_doubt
                .as_ref()
                .map_or(0, |s| s.head.weights.len() + 1)
    }

    /// The network's outputs per image: the ten digits' scores, and with a doubt output
    /// ([`Network::has_doubt`]) an eleventh.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(CLASSES, |l| l.output.size())
    }

    /// Whether the network ends with an eleventh output, "not one digit" (trained on the
    /// pieces of `--not-digits`): its probabilities are then
    /// [`layers::doubt_probabilities`], the ten digits' softmax flattened by that doubt.
    pub fn has_doubt(&self) -> bool {
        self.outputs() == CLASSES + 1
    }

    /// Parameter ranges that weight decay applies to (conv and linear weights, not biases or
    /// batch-norm parameters).
    pub fn decayed(&self) -> Vec<Range<usize>> {
        self.layers
            .iter()
            .filter(|l| matches!(l.op, Op::Conv { .. } | Op::Linear { .. }))
            .map(|l| l.param_at..l.param_at + l.weight_len())
            .collect()
    }

    /// Largest activation of one image over all layers.
    fn max_act(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.input.size().max(l.output.size()))
            .max()
            .unwrap_or(0)
    }

    /// Class probabilities (inference mode) for `images.len() / PIXELS` images.
    pub fn predict(&self, images: &[f32]) -> Vec<f32> {
        const CHUNK: usize = 64;
        let n = images.len() / PIXELS;
        let mut ws = Workspace::new(self, CHUNK.min(n.max(1)));
        let mut out = vec![0.0; n * CLASSES];
        let mut rng = Rng::new(0);
        for (imgs, probs) in images
            .chunks(CHUNK * PIXELS)
            .zip(out.chunks_mut(CHUNK * CLASSES))
        {
            let m = imgs.len() / PIXELS;
            ws.input_mut(m).copy_from_slice(imgs);
            ws.forward(self, Mode::Eval, &mut rng);
            if let Some(side) = &self.side_doubt {
                let maps = ws.activation(side.layer);
                let per = maps.len() / m.max(1);
                let logits: Vec<f32> = ws
                    .digit_logits()
                    .zip(maps.chunks_exact(per.max(1)))
                    .flat_map(|(z, f)| z.iter().copied().chain([side.head.doubt(f)]))
                    .collect();
                layers::doubt_probabilities(m, &logits, probs);
            } else if self.has_doubt() {
                layers::doubt_probabilities(m, ws.logits(), probs);
            } else {
                layers::softmax(m, CLASSES, ws.logits(), probs);
            }
        }
        out
    }

    /// Sets the running statistics to `stats` (laid out as [`Workspace::bn_stats`] gives them:
    /// per batch-norm layer, its channels' means, then their variances).
    pub fn set_running_stats(&mut self, stats: &[f32]) {
        let mut at = 0;
        for l in &self.layers {
            if l.op != Op::BatchNorm {
                continue;
            }
            let c = l.input.c;
            self.state[l.state_at..l.state_at + 2 * c].copy_from_slice(&stats[at..at + 2 * c]);
            at += 2 * c;
        }
    }

    /// Folds the batch statistics of the shards of one step ([`Workspace::bn_stats`] of each,
    /// in shard order) into the running statistics.
    pub fn update_running_stats(&mut self, shards: &[&[f32]]) {
        if shards.is_empty() {
            return;
        }
        let mut at = 0;
        for l in &self.layers {
            if l.op != Op::BatchNorm {
                continue;
            }
            let c = l.input.c;
            for ch in 0..c {
                let (mut mean, mut var) = (0f32, 0f32);
                for stats in shards {
                    mean += stats[at + ch];
                    var += stats[at + c + ch];
                }
                mean /= shards.len() as f32;
                var /= shards.len() as f32;
                let rm = &mut self.state[l.state_at + ch];
                *rm = (1.0 - BN_MOMENTUM) * *rm + BN_MOMENTUM * mean;
                let rv = &mut self.state[l.state_at + c + ch];
                *rv = (1.0 - BN_MOMENTUM) * *rv + BN_MOMENTUM * var;
            }
            at += 2 * c;
        }
    }
}

/// What a layer keeps from its forward pass for its backward pass.
pub enum Cache {
    None,
    Pool(Vec<u32>),
    Dropout(Vec<f32>),
    Bn {
        xhat: Vec<f32>,
        invstd: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
    },
}

/// Buffers for a forward and backward pass over up to `cap` images.
pub struct Workspace {
    cap: usize,
    /// Images in the current batch.
    pub n: usize,
    /// `acts[0]` is the input, `acts[i + 1]` the output of layer `i`.
    acts: Vec<Vec<f32>>,
    caches: Vec<Cache>,
    col: Vec<f32>,
    dbuf: [Vec<f32>; 2],
    /// Parameter gradients of the last backward pass (same layout as the parameters).
    pub grads: Vec<f32>,
    /// Labels of the current batch (for the loss).
    pub labels: Vec<u8>,
}

impl Workspace {
    pub fn new(net: &Network, cap: usize) -> Workspace {
        let mut acts = vec![vec![0.0; cap * PIXELS]];
        let mut caches = Vec::with_capacity(net.layers.len());
        let mut col = 0;
        for l in &net.layers {
            acts.push(vec![0.0; cap * l.output.size()]);
            caches.push(match l.op {
                Op::MaxPool { .. } => Cache::Pool(vec![0; cap * l.output.size()]),
                Op::Dropout { .. } => Cache::Dropout(vec![0.0; cap * l.output.size()]),
                Op::BatchNorm => Cache::Bn {
                    xhat: vec![0.0; cap * l.output.size()],
                    invstd: vec![0.0; l.input.c],
                    mean: vec![0.0; l.input.c],
                    var: vec![0.0; l.input.c],
                },
                Op::Conv { .. } => {
                    col = col.max(l.conv_geom().col_len());
                    Cache::None
                }
                _ => Cache::None,
            });
        }
        let d = cap * net.max_act();
        Workspace {
            cap,
            n: 0,
            acts,
            caches,
            col: vec![0.0; col],
            dbuf: [vec![0.0; d], vec![0.0; d]],
            grads: vec![0.0; net.params.len()],
            labels: vec![0; cap],
        }
    }

    /// Bytes [`Workspace::new`] allocates for `net` and `cap` images, computed without
    /// allocating (saturating: an absurd network gives `usize::MAX`, never an overflow).
    pub fn bytes(net: &Network, cap: usize) -> usize {
        let mut values = cap.saturating_mul(PIXELS);
        let mut col = 0usize;
        for l in &net.layers {
            let out = cap.saturating_mul(l.output.size());
            values = values.saturating_add(out);
            match l.op {
                Op::MaxPool { .. } | Op::Dropout { .. } => values = values.saturating_add(out),
                Op::BatchNorm => values = values.saturating_add(out).saturating_add(3 * l.input.c),
                Op::Conv { .. } => col = col.max(l.conv_geom().col_len()),
                _ => {}
            }
        }
        values = values
            .saturating_add(col)
            .saturating_add(cap.saturating_mul(net.max_act()).saturating_mul(2))
            .saturating_add(net.params.len());
        values.saturating_mul(4).saturating_add(cap)
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The input buffer for a batch of `n` images (`n * PIXELS` values).
    pub fn input_mut(&mut self, n: usize) -> &mut [f32] {
        assert!(
            n <= self.cap,
            "batch of {n} exceeds workspace capacity {}",
            self.cap
        );
        self.n = n;
        &mut self.acts[0][..n * PIXELS]
    }

    /// The output of layer `layer` in the last forward pass (`n x` its output size).
    pub fn activation(&self, layer: usize) -> &[f32] {
        let a = &self.acts[layer + 1];
        &a[..self.n * (a.len() / self.cap.max(1))]
    }

    /// The batch statistics of the last training forward pass, for the running statistics: for
    /// each batch-norm layer, each channel's mean, then its unbiased variance.
    pub fn bn_stats(&self, net: &Network) -> Vec<f32> {
        let mut out = Vec::new();
        for (li, l) in net.layers.iter().enumerate() {
            if let (Op::BatchNorm, Cache::Bn { mean, var, .. }) = (l.op, &self.caches[li]) {
                let count = (self.n * l.input.plane()) as f32;
                out.extend_from_slice(mean);
                out.extend(var.iter().map(|v| v * count / (count - 1.0).max(1.0)));
            }
        }
        out
    }

    /// Logits of the last forward pass (`n x outputs`: 10, or 11 with a doubt output).
    pub fn logits(&self) -> &[f32] {
        let last = self.acts.last().expect("network has layers");
        &last[..self.n * (last.len() / self.cap.max(1))]
    }

    /// The digits' logits of each image of the last forward pass, whatever follows them.
    pub fn digit_logits(&self) -> impl Iterator<Item = &[f32]> {
        let per = self.logits().len() / self.n.max(1);
        self.logits()
            .chunks_exact(per.max(1))
            .map(|l| &l[..CLASSES.min(l.len())])
    }

    /// Runs every layer on the current input.
    pub fn forward(&mut self, net: &Network, mode: Mode, rng: &mut Rng) {
        let n = self.n;
        for (i, l) in net.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let x = &before[i][..n * l.input.size()];
            let y = &mut after[0][..n * l.output.size()];
            let (w, b) = l.split(&net.params);
            match (l.op, &mut self.caches[i]) {
                (Op::Conv { .. }, _) => {
                    layers::conv_forward(l.conv_geom(), n, x, y, w, b, &mut self.col)
                }
                (Op::Linear { dout }, _) => layers::linear_forward(n, l.input.c, dout, x, y, w, b),
                (Op::Relu, _) => layers::relu_forward(x, y),
                (Op::MaxPool { k }, Cache::Pool(idx)) => {
                    layers::maxpool_forward(n, l.input, k, x, y, idx)
                }
                (Op::Dropout { p }, Cache::Dropout(mask)) => {
                    if mode == Mode::Train && p > 0.0 {
                        layers::dropout_forward(p, x, y, &mut mask[..x.len()], rng)
                    } else {
                        mask[..x.len()].fill(1.0);
                        y.copy_from_slice(x)
                    }
                }
                (Op::Flatten, _) => y.copy_from_slice(x),
                (Op::Gap, _) => layers::gap_forward(n, l.input, x, y),
                (
                    Op::BatchNorm,
                    Cache::Bn {
                        xhat,
                        invstd,
                        mean,
                        var,
                    },
                ) => {
                    if mode == Mode::Train {
                        let buf = BnBuffers {
                            xhat: &mut xhat[..x.len()],
                            invstd,
                            mean,
                            var,
                        };
                        layers::bn_forward_train(n, l.input, BN_EPS, x, y, w, b, buf)
                    } else {
                        let c = l.input.c;
                        let st = &net.state[l.state_at..l.state_at + 2 * c];
                        layers::bn_forward_eval(n, l.input, BN_EPS, x, y, w, b, &st[..c], &st[c..])
                    }
                }
                (op, _) => unreachable!("no cache for {op:?}"),
            }
        }
    }

    /// Softmax cross-entropy against `self.labels`, then back-propagation into `self.grads`
    /// (overwritten). The loss gradient is multiplied by `scale` (1 / the whole batch size, so
    /// shards add up to the batch mean). Returns (summed loss, correct predictions).
    pub fn backward(&mut self, net: &Network, smoothing: f32, scale: f32) -> (f64, usize) {
        let n = self.n;
        self.grads.fill(0.0);
        let [da, db] = &mut self.dbuf;
        let (mut dy, mut dx) = (da, db);
        let logits = &self.acts[net.layers.len()][..n * net.outputs()];
        let result = if net.has_doubt() {
            layers::doubt_cross_entropy(n, logits, &self.labels[..n], smoothing, scale, dy)
        } else {
            layers::softmax_cross_entropy(
                n,
                CLASSES,
                logits,
                &self.labels[..n],
                smoothing,
                scale,
                dy,
            )
        };
        for (i, l) in net.layers.iter().enumerate().rev() {
            let x = &self.acts[i][..n * l.input.size()];
            let y = &self.acts[i + 1][..n * l.output.size()];
            let g = &dy[..n * l.output.size()];
            let need_dx = i > 0;
            let dxs = &mut dx[..n * l.input.size()];
            let (w, _) = l.split(&net.params);
            let (dw, dbias) = l.split_mut(&mut self.grads);
            match (l.op, &self.caches[i]) {
                (Op::Conv { .. }, _) => layers::conv_backward(
                    l.conv_geom(),
                    n,
                    x,
                    g,
                    need_dx.then_some(dxs),
                    w,
                    dw,
                    dbias,
                    &mut self.col,
                ),
                (Op::Linear { dout }, _) => layers::linear_backward(
                    n,
                    l.input.c,
                    dout,
                    x,
                    g,
                    need_dx.then_some(dxs),
                    w,
                    dw,
                    dbias,
                ),
                (Op::Relu, _) => layers::relu_backward(y, g, dxs),
                (Op::MaxPool { k }, Cache::Pool(idx)) => {
                    layers::maxpool_backward(n, l.input, k, g, idx, dxs)
                }
                (Op::Dropout { .. }, Cache::Dropout(mask)) => {
                    layers::dropout_backward(g, &mask[..g.len()], dxs)
                }
                (Op::Flatten, _) => dxs.copy_from_slice(g),
                (Op::Gap, _) => layers::gap_backward(n, l.input, g, dxs),
                (Op::BatchNorm, Cache::Bn { xhat, invstd, .. }) => {
                    layers::bn_backward(n, l.input, g, dxs, w, xhat, invstd, dw, dbias)
                }
                (op, _) => unreachable!("no cache for {op:?}"),
            }
            std::mem::swap(&mut dy, &mut dx);
        }
        result
    }
}

#[cfg(test)]
impl Workspace {
    /// What this workspace holds, in bytes (to check [`Workspace::bytes`]).
    fn allocated_bytes(&self) -> usize {
        let f32s: usize = self.acts.iter().map(Vec::len).sum::<usize>()
            + self
                .caches
                .iter()
                .map(|c| match c {
                    Cache::None => 0,
                    Cache::Pool(v) => v.len(),
                    Cache::Dropout(v) => v.len(),
                    Cache::Bn {
                        xhat,
                        invstd,
                        mean,
                        var,
                    } => xhat.len() + invstd.len() + mean.len() + var.len(),
                })
                .sum::<usize>()
            + self.col.len()
            + self.dbuf.iter().map(Vec::len).sum::<usize>()
            + self.grads.len();
        4 * f32s + self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stats_are_set_as_a_workspace_lays_them_out() {
        let mut net = Network::new(crate::DEFAULT_ARCH, 1).unwrap();
        let count: usize = net
            .layers
            .iter()
            .filter(|l| l.op == Op::BatchNorm)
            .map(|l| 2 * l.input.c)
            .sum();
        let stats: Vec<f32> = (0..count).map(|k| k as f32).collect();
        net.set_running_stats(&stats);
        let mut at = 0;
        for l in net.layers.iter().filter(|l| l.op == Op::BatchNorm) {
            let c = l.input.c;
            assert_eq!(
                &net.state[l.state_at..l.state_at + 2 * c],
                &stats[at..at + 2 * c]
            );
            at += 2 * c;
        }
        // Folding those same statistics in as one step's moves nothing (but rounding).
        let before = net.state.clone();
        net.update_running_stats(&[&stats]);
        for (a, b) in net.state.iter().zip(&before) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} {b}");
        }
    }

    #[test]
    fn the_memory_estimate_is_what_a_workspace_allocates() {
        for arch in [
            crate::DEFAULT_ARCH,
            crate::PYTORCH_ARCH,
            "conv8k3,bn,relu,maxpool2,drop0.1,conv10k1,gap",
        ] {
            let net = Network::new(arch, 1).unwrap();
            for cap in [1, 32] {
                let ws = Workspace::new(&net, cap);
                assert_eq!(Workspace::bytes(&net, cap), ws.allocated_bytes(), "{arch}");
            }
        }
    }

    fn batch(ws: &mut Workspace, n: usize, seed: u64) {
        let mut r = Rng::new(seed);
        for v in ws.input_mut(n) {
            *v = r.uniform();
        }
        for (i, l) in ws.labels.iter_mut().enumerate() {
            *l = (i * 3 % 10) as u8;
        }
    }

    /// Whole-network gradient check, loss = mean cross-entropy with label smoothing. The layer
    /// kernels are checked one by one in `layers`; this checks how the network chains them.
    /// A smooth network (no ReLU or max-pool kinks) must match tightly.
    #[test]
    fn smooth_network_gradient_matches_finite_differences() {
        network_gradient(
            "conv4k3p1,bn,drop0.2,conv6k3,flatten,fc12,bn,fc10",
            1e-2,
            1e-2,
        );
    }

    /// With ReLU and max-pool, a finite step crosses a few kinks among thousands of units, which
    /// moves the numeric estimate by a few percent; a wrongly routed gradient is off by far more.
    #[test]
    fn network_with_every_layer_gradient_matches_finite_differences() {
        network_gradient(
            "conv4k3p1,bn,relu,maxpool2,conv6k3,drop0.2,relu,maxpool2,conv8k1,bn,relu,gap,fc12,bn,relu,fc10",
            1e-3,
            1e-1,
        );
    }

    /// The same with a doubt output: one row of the batch is not one digit.
    #[test]
    fn doubt_network_gradient_matches_finite_differences() {
        network_gradient(
            "conv4k3p1,bn,drop0.2,conv6k3,flatten,fc12,bn,fc11",
            1e-2,
            1e-2,
        );
    }

    fn network_gradient(spec: &str, eps: f32, tolerance: f64) {
        let mut net = Network::new(spec, 3).unwrap();
        let n = 4;
        let mut ws = Workspace::new(&net, n);
        batch(&mut ws, n, 11);
        if net.has_doubt() {
            ws.labels[1] = CLASSES as u8;
        }
        let loss = |net: &Network, ws: &mut Workspace| -> f64 {
            ws.forward(net, Mode::Train, &mut Rng::new(77));
            ws.backward(net, 0.05, 1.0 / n as f32).0 / n as f64
        };
        loss(&net, &mut ws);
        let analytic = ws.grads.clone();
        // Per layer, the directional derivative along a random direction of that layer's
        // parameters (robust to the odd ReLU or max-pool kink that a single coordinate hits).
        let mut r = Rng::new(5);
        let mut checked = 0;
        for l in net.layers.clone().iter().filter(|l| l.param_len > 0) {
            for _ in 0..3 {
                let range = l.param_at..l.param_at + l.param_len;
                let mut dir: Vec<f32> = range.clone().map(|_| r.normal()).collect();
                let norm = dir.iter().map(|d| d * d).sum::<f32>().sqrt();
                dir.iter_mut().for_each(|d| *d /= norm);
                let orig = net.params.clone();
                let predicted: f64 = range
                    .clone()
                    .zip(&dir)
                    .map(|(i, d)| analytic[i] as f64 * *d as f64)
                    .sum();
                let at = |sign: f32, net: &mut Network, ws: &mut Workspace| {
                    for (i, d) in range.clone().zip(&dir) {
                        net.params[i] = orig[i] + sign * eps * d;
                    }
                    loss(net, ws)
                };
                let numeric =
                    (at(1.0, &mut net, &mut ws) - at(-1.0, &mut net, &mut ws)) / (2.0 * eps as f64);
                net.params = orig;
                let err = (predicted - numeric).abs() / (1e-3 + predicted.abs().max(numeric.abs()));
                assert!(
                    err < tolerance,
                    "{:?}: analytic {predicted} numeric {numeric}",
                    l.op
                );
                checked += 1;
            }
        }
        assert_eq!(
            checked,
            3 * net.layers.iter().filter(|l| l.param_len > 0).count()
        );
    }

    #[test]
    fn eval_uses_running_statistics() {
        let mut net = Network::new("conv2k3,bn,gap,fc10", 1).unwrap();
        let probs = net.predict(&vec![0.5; PIXELS]);
        assert_eq!(probs.len(), 10);
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let c = 2;
        let l = net.layers[1].clone();
        net.state[l.state_at..l.state_at + c].fill(100.0);
        let shifted = net.predict(&vec![0.5; PIXELS]);
        assert_ne!(probs, shifted, "running mean must change the eval output");
    }

    #[test]
    fn running_stats_follow_batches() {
        let mut net = Network::new("conv2k3,bn,gap,fc10", 1).unwrap();
        let mut ws = Workspace::new(&net, 8);
        batch(&mut ws, 8, 2);
        ws.forward(&net, Mode::Train, &mut Rng::new(0));
        let before = net.state.clone();
        let stats = ws.bn_stats(&net);
        net.update_running_stats(&[&stats]);
        assert_ne!(before, net.state);
        for _ in 0..200 {
            net.update_running_stats(&[&stats]);
        }
        if let Cache::Bn { mean, .. } = &ws.caches[1] {
            for (running, batch) in net.state.iter().zip(mean.iter()) {
                assert!((running - batch).abs() < 1e-4);
            }
        } else {
            panic!("bn cache");
        }
    }
}
