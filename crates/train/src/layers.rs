//! Forward and backward kernels of every layer, on flat NCHW slices.
//!
//! Matrix products go through ndarray's `general_mat_mul`. Nothing here allocates: callers pass
//! every buffer (the network's `Workspace` owns them). `n` is the number of images in the batch.

#![allow(clippy::too_many_arguments)]

use digits_core::CLASSES;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::rng::Rng;
use crate::spec::Shape;

fn view(s: &[f32], r: usize, c: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((r, c), &s[..r * c]).expect("buffer matches its shape")
}

fn view_mut(s: &mut [f32], r: usize, c: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((r, c), &mut s[..r * c]).expect("buffer matches its shape")
}

/// Unfolds one image `x` (shape `s`) into `col`: `(s.c*k*k) x (oh*ow)`.
pub fn im2col(x: &[f32], s: Shape, k: usize, pad: usize, oh: usize, ow: usize, col: &mut [f32]) {
    let plane = oh * ow;
    for c in 0..s.c {
        let xc = &x[c * s.plane()..(c + 1) * s.plane()];
        for ki in 0..k {
            for kj in 0..k {
                let row = &mut col[((c * k + ki) * k + kj) * plane..][..plane];
                // Output columns ox whose input column ox + kj - pad lies inside the image.
                let lo = pad.saturating_sub(kj).min(ow);
                let hi = (s.w + pad).saturating_sub(kj).min(ow).max(lo);
                for oy in 0..oh {
                    let out = &mut row[oy * ow..(oy + 1) * ow];
                    let iy = oy + ki;
                    if iy < pad || iy - pad >= s.h {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &xc[(iy - pad) * s.w..];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let start = lo + kj - pad;
                    out[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                }
            }
        }
    }
}

/// Folds `col` back into one image gradient `dx` (shape `s`), adding to what is there.
pub fn col2im(col: &[f32], s: Shape, k: usize, pad: usize, oh: usize, ow: usize, dx: &mut [f32]) {
    let plane = oh * ow;
    for c in 0..s.c {
        let dc = &mut dx[c * s.plane()..(c + 1) * s.plane()];
        for ki in 0..k {
            for kj in 0..k {
                let row = &col[((c * k + ki) * k + kj) * plane..][..plane];
                let lo = pad.saturating_sub(kj).min(ow);
                let hi = (s.w + pad).saturating_sub(kj).min(ow).max(lo);
                for oy in 0..oh {
                    let iy = oy + ki;
                    if iy < pad || iy - pad >= s.h {
                        continue;
                    }
                    let start = (iy - pad) * s.w + lo + kj - pad;
                    let dst = &mut dc[start..start + (hi - lo)];
                    for (d, g) in dst.iter_mut().zip(&row[oy * ow + lo..oy * ow + hi]) {
                        *d += g;
                    }
                }
            }
        }
    }
}

/// Geometry of a convolution layer.
#[derive(Clone, Copy, Debug)]
pub struct ConvGeom {
    pub input: Shape,
    pub output: Shape,
    pub k: usize,
    pub pad: usize,
}

impl ConvGeom {
    /// Rows of the unfolded input (= columns of the weight matrix).
    pub fn ckk(&self) -> usize {
        self.input.c * self.k * self.k
    }
    /// Size of the `col` scratch buffer.
    pub fn col_len(&self) -> usize {
        self.ckk() * self.output.plane()
    }
    fn direct(&self) -> bool {
        self.k == 1 && self.pad == 0
    }
}

/// `y = conv(x, w) + b` for `n` images; `w` is `cout x (cin*k*k)`.
pub fn conv_forward(
    g: ConvGeom,
    n: usize,
    x: &[f32],
    y: &mut [f32],
    w: &[f32],
    b: &[f32],
    col: &mut [f32],
) {
    let (is, os) = (g.input.size(), g.output.size());
    let (cout, plane, ckk) = (g.output.c, g.output.plane(), g.ckk());
    let wv = view(w, cout, ckk);
    for i in 0..n {
        let xi = &x[i * is..(i + 1) * is];
        let yi = &mut y[i * os..(i + 1) * os];
        for (co, row) in yi.chunks_exact_mut(plane).enumerate() {
            row.fill(b[co]);
        }
        let colv = if g.direct() {
            view(xi, ckk, plane)
        } else {
            im2col(xi, g.input, g.k, g.pad, g.output.h, g.output.w, col);
            view(col, ckk, plane)
        };
        general_mat_mul(1.0, &wv, &colv, 1.0, &mut view_mut(yi, cout, plane));
    }
}

/// Accumulates `dw`, `db` and (if given) writes `dx` for a convolution.
pub fn conv_backward(
    g: ConvGeom,
    n: usize,
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    w: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    col: &mut [f32],
) {
    let (is, os) = (g.input.size(), g.output.size());
    let (cout, plane, ckk) = (g.output.c, g.output.plane(), g.ckk());
    let wv = view(w, cout, ckk);
    for i in 0..n {
        let xi = &x[i * is..(i + 1) * is];
        let dyi = &dy[i * os..(i + 1) * os];
        for (co, row) in dyi.chunks_exact(plane).enumerate() {
            db[co] += row.iter().sum::<f32>();
        }
        let dyv = view(dyi, cout, plane);
        {
            let colv = if g.direct() {
                view(xi, ckk, plane)
            } else {
                im2col(xi, g.input, g.k, g.pad, g.output.h, g.output.w, col);
                view(col, ckk, plane)
            };
            general_mat_mul(1.0, &dyv, &colv.t(), 1.0, &mut view_mut(dw, cout, ckk));
        }
        if let Some(dx) = dx.as_deref_mut() {
            let dxi = &mut dx[i * is..(i + 1) * is];
            if g.direct() {
                general_mat_mul(1.0, &wv.t(), &dyv, 0.0, &mut view_mut(dxi, ckk, plane));
            } else {
                general_mat_mul(1.0, &wv.t(), &dyv, 0.0, &mut view_mut(col, ckk, plane));
                dxi.fill(0.0);
                col2im(col, g.input, g.k, g.pad, g.output.h, g.output.w, dxi);
            }
        }
    }
}

/// `y = x w^T + b`; `x` is `n x din`, `w` is `dout x din`.
pub fn linear_forward(
    n: usize,
    din: usize,
    dout: usize,
    x: &[f32],
    y: &mut [f32],
    w: &[f32],
    b: &[f32],
) {
    for row in y[..n * dout].chunks_exact_mut(dout) {
        row.copy_from_slice(b);
    }
    general_mat_mul(
        1.0,
        &view(x, n, din),
        &view(w, dout, din).t(),
        1.0,
        &mut view_mut(y, n, dout),
    );
}

pub fn linear_backward(
    n: usize,
    din: usize,
    dout: usize,
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    w: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    let dyv = view(dy, n, dout);
    general_mat_mul(
        1.0,
        &dyv.t(),
        &view(x, n, din),
        1.0,
        &mut view_mut(dw, dout, din),
    );
    for row in dy[..n * dout].chunks_exact(dout) {
        for (d, g) in db.iter_mut().zip(row) {
            *d += g;
        }
    }
    if let Some(dx) = dx {
        general_mat_mul(
            1.0,
            &dyv,
            &view(w, dout, din),
            0.0,
            &mut view_mut(dx, n, din),
        );
    }
}

pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    for (o, &i) in y.iter_mut().zip(x) {
        *o = i.max(0.0);
    }
}

/// Uses the forward output: the gradient passes where the output is positive.
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((d, &g), &o) in dx.iter_mut().zip(dy).zip(y) {
        *d = if o > 0.0 { g } else { 0.0 };
    }
}

/// KxK max pooling with stride K; `idx` records the winning input offset within its plane.
pub fn maxpool_forward(n: usize, s: Shape, k: usize, x: &[f32], y: &mut [f32], idx: &mut [u32]) {
    let (oh, ow) = (s.h / k, s.w / k);
    for p in 0..n * s.c {
        let xp = &x[p * s.plane()..(p + 1) * s.plane()];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = f32::NEG_INFINITY;
                let mut at = (oy * k) * s.w + ox * k;
                for dy in 0..k {
                    for dxx in 0..k {
                        let j = (oy * k + dy) * s.w + ox * k + dxx;
                        if xp[j] > best {
                            best = xp[j];
                            at = j;
                        }
                    }
                }
                let o = p * oh * ow + oy * ow + ox;
                y[o] = best;
                idx[o] = at as u32;
            }
        }
    }
}

pub fn maxpool_backward(n: usize, s: Shape, k: usize, dy: &[f32], idx: &[u32], dx: &mut [f32]) {
    let out_plane = (s.h / k) * (s.w / k);
    dx[..n * s.size()].fill(0.0);
    for p in 0..n * s.c {
        let base = p * s.plane();
        for o in p * out_plane..(p + 1) * out_plane {
            dx[base + idx[o] as usize] += dy[o];
        }
    }
}

/// Inverted dropout: keeps each value with probability `1 - p`, scaled by `1 / (1 - p)`.
pub fn dropout_forward(p: f32, x: &[f32], y: &mut [f32], mask: &mut [f32], rng: &mut Rng) {
    let scale = 1.0 / (1.0 - p);
    for ((o, &i), m) in y.iter_mut().zip(x).zip(mask.iter_mut()) {
        *m = if rng.uniform() >= p { scale } else { 0.0 };
        *o = i * *m;
    }
}

pub fn dropout_backward(dy: &[f32], mask: &[f32], dx: &mut [f32]) {
    for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
        *d = g * m;
    }
}

/// Global average pooling: one mean per channel.
pub fn gap_forward(n: usize, s: Shape, x: &[f32], y: &mut [f32]) {
    let inv = 1.0 / s.plane() as f32;
    for (o, plane) in y[..n * s.c].iter_mut().zip(x.chunks_exact(s.plane())) {
        *o = plane.iter().sum::<f32>() * inv;
    }
}

pub fn gap_backward(n: usize, s: Shape, dy: &[f32], dx: &mut [f32]) {
    let inv = 1.0 / s.plane() as f32;
    for (&g, plane) in dy[..n * s.c].iter().zip(dx.chunks_exact_mut(s.plane())) {
        plane.fill(g * inv);
    }
}

/// Per-channel buffers batch normalization keeps between its forward and backward passes.
pub struct BnBuffers<'a> {
    pub xhat: &'a mut [f32],
    pub invstd: &'a mut [f32],
    pub mean: &'a mut [f32],
    pub var: &'a mut [f32],
}

/// Batch normalization with the statistics of this batch (training).
pub fn bn_forward_train(
    n: usize,
    s: Shape,
    eps: f32,
    x: &[f32],
    y: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
    buf: BnBuffers<'_>,
) {
    let plane = s.plane();
    let m = (n * plane) as f64;
    for c in 0..s.c {
        let mut sum = 0f64;
        for i in 0..n {
            let o = (i * s.c + c) * plane;
            sum += x[o..o + plane].iter().map(|&v| v as f64).sum::<f64>();
        }
        let mean = sum / m;
        let mut sq = 0f64;
        for i in 0..n {
            let o = (i * s.c + c) * plane;
            sq += x[o..o + plane]
                .iter()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum::<f64>();
        }
        let var = sq / m;
        let invstd = (1.0 / (var + eps as f64).sqrt()) as f32;
        let meanf = mean as f32;
        buf.mean[c] = meanf;
        buf.var[c] = var as f32;
        buf.invstd[c] = invstd;
        for i in 0..n {
            let o = (i * s.c + c) * plane;
            for j in o..o + plane {
                let h = (x[j] - meanf) * invstd;
                buf.xhat[j] = h;
                y[j] = gamma[c] * h + beta[c];
            }
        }
    }
}

/// Batch normalization with stored running statistics (inference).
pub fn bn_forward_eval(
    n: usize,
    s: Shape,
    eps: f32,
    x: &[f32],
    y: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
) {
    let plane = s.plane();
    for i in 0..n {
        for c in 0..s.c {
            let a = gamma[c] / (var[c] + eps).sqrt();
            let b = beta[c] - a * mean[c];
            let o = (i * s.c + c) * plane;
            for j in o..o + plane {
                y[j] = a * x[j] + b;
            }
        }
    }
}

pub fn bn_backward(
    n: usize,
    s: Shape,
    dy: &[f32],
    dx: &mut [f32],
    gamma: &[f32],
    xhat: &[f32],
    invstd: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let plane = s.plane();
    let m = (n * plane) as f32;
    for c in 0..s.c {
        let (mut sdy, mut sdyx) = (0f64, 0f64);
        for i in 0..n {
            let o = (i * s.c + c) * plane;
            for j in o..o + plane {
                sdy += dy[j] as f64;
                sdyx += (dy[j] * xhat[j]) as f64;
            }
        }
        dgamma[c] += sdyx as f32;
        dbeta[c] += sdy as f32;
        let k = gamma[c] * invstd[c] / m;
        let (sdy, sdyx) = (sdy as f32, sdyx as f32);
        for i in 0..n {
            let o = (i * s.c + c) * plane;
            for j in o..o + plane {
                dx[j] = k * (m * dy[j] - sdy - xhat[j] * sdyx);
            }
        }
    }
}

/// Softmax of each row of `logits` (`n x classes`) into `probs`.
pub fn softmax(n: usize, classes: usize, logits: &[f32], probs: &mut [f32]) {
    for (l, p) in logits[..n * classes]
        .chunks_exact(classes)
        .zip(probs.chunks_exact_mut(classes))
    {
        let max = l.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0;
        for (pi, &li) in p.iter_mut().zip(l) {
            *pi = (li - max).exp();
            sum += *pi;
        }
        for pi in p.iter_mut() {
            *pi /= sum;
        }
    }
}

/// Softmax cross-entropy: writes `dlogits = scale * (softmax - target)` and returns the summed
/// loss and the number of rows whose arg-max is the label. `smoothing` spreads that much of
/// the target's mass evenly over all classes. A label of `classes` or more (an image that is
/// not one digit: the trainer's `NOT_A_DIGIT`) has the even distribution as its target.
pub fn softmax_cross_entropy(
    n: usize,
    classes: usize,
    logits: &[f32],
    labels: &[u8],
    smoothing: f32,
    scale: f32,
    dlogits: &mut [f32],
) -> (f64, usize) {
    softmax(n, classes, logits, dlogits);
    let mut loss = 0f64;
    let mut correct = 0;
    let off = smoothing / classes as f32;
    for (i, p) in dlogits[..n * classes].chunks_exact_mut(classes).enumerate() {
        let label = labels[i] as usize;
        if digits_core::metrics::argmax(&logits[i * classes..(i + 1) * classes]) == Some(label) {
            correct += 1;
        }
        let even = label >= classes;
        for (j, pj) in p.iter_mut().enumerate() {
            let t = if even {
                1.0 / classes as f32
            } else {
                off + if j == label { 1.0 - smoothing } else { 0.0 }
            };
            if t > 0.0 {
                // NaN stays NaN (f32::max would turn it into 1e-30 and hide a diverged run).
                let p = if pj.is_nan() { f32::NAN } else { pj.max(1e-30) };
                loss -= (t as f64) * (p as f64).ln();
            }
            *pj = scale * (*pj - t);
        }
    }
    (loss, correct)
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The loss of a network with a doubt output: each row of `logits` is the ten digits' scores
/// then "not one digit" (`n x 11`). A digit's row pays the softmax cross-entropy of its ten
/// scores (with `smoothing`, as [`softmax_cross_entropy`]) plus the logistic loss of a doubt
/// of 0; a row that is not one digit (a label of 10 or more) pays only the logistic loss of a
/// doubt of 1, and leaves the ten scores alone, so the digits' probabilities are trained on
/// digits only. Writes `dlogits = scale * dloss/dlogits`; returns the summed loss and the
/// digits' rows whose ten scores' arg-max is the label.
pub fn doubt_cross_entropy(
    n: usize,
    logits: &[f32],
    labels: &[u8],
    smoothing: f32,
    scale: f32,
    dlogits: &mut [f32],
) -> (f64, usize) {
    const W: usize = CLASSES + 1;
    let mut loss = 0f64;
    let mut correct = 0;
    for (i, (z, d)) in logits[..n * W]
        .chunks_exact(W)
        .zip(dlogits[..n * W].chunks_exact_mut(W))
        .enumerate()
    {
        let label = labels[i] as usize;
        let doubt = z[CLASSES];
        if label < CLASSES {
            let (l, c) = softmax_cross_entropy(
                1,
                CLASSES,
                &z[..CLASSES],
                &labels[i..=i],
                smoothing,
                scale,
                &mut d[..CLASSES],
            );
            loss += l + softplus(doubt) as f64;
            correct += c;
            d[CLASSES] = scale * sigmoid(doubt);
        } else {
            d[..CLASSES].fill(0.0);
            loss += softplus(-doubt) as f64;
            d[CLASSES] = scale * (sigmoid(doubt) - 1.0);
        }
    }
    (loss, correct)
}

/// A dot product in eight lanes (so that it vectorizes), in a fixed order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The probabilities of a network with a doubt output (`logits`: `n x 11`, into `probs`:
/// `n x 10`): the softmax of the ten digits' scores times `1 - sigmoid(doubt)`. A digit keeps
/// its ranking whatever the doubt; a shape the network doubts reads as no digit in particular,
/// which the number reader needs. The exported graph computes the same.
pub fn doubt_probabilities(n: usize, logits: &[f32], probs: &mut [f32]) {
    let mut scaled = [0f32; CLASSES];
    for (z, p) in logits[..n * (CLASSES + 1)]
        .chunks_exact(CLASSES + 1)
        .zip(probs.chunks_exact_mut(CLASSES))
    {
        let keep = sigmoid(-z[CLASSES]);
        for (s, &v) in scaled.iter_mut().zip(&z[..CLASSES]) {
            *s = v * keep;
        }
        softmax(1, CLASSES, &scaled, p);
    }
}

/// Finite-difference gradient checks of every backward pass.
#[cfg(test)]
mod gradient_checks {
    use super::*;

    /// Deterministic pseudo-random values in [-1, 1), kept away from 0 by `gap`.
    fn values(n: usize, seed: u64, gap: f32) -> Vec<f32> {
        let mut r = Rng::new(seed);
        (0..n)
            .map(|_| {
                let v = r.range(-1.0, 1.0);
                if v.abs() < gap {
                    v.signum() * gap + v
                } else {
                    v
                }
            })
            .collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// Compares `analytic[i]` with the central difference of `loss` in `x[i]`.
    fn check(
        what: &str,
        x: &mut [f32],
        analytic: &[f32],
        eps: f32,
        loss: &mut dyn FnMut(&[f32]) -> f64,
    ) {
        assert_eq!(x.len(), analytic.len(), "{what}");
        let mut worst = 0f64;
        for i in 0..x.len() {
            let orig = x[i];
            x[i] = orig + eps;
            let up = loss(x);
            x[i] = orig - eps;
            let down = loss(x);
            x[i] = orig;
            let numeric = (up - down) / (2.0 * eps as f64);
            let a = analytic[i] as f64;
            let err = (a - numeric).abs() / (1e-2 + a.abs().max(numeric.abs()));
            worst = worst.max(err);
            assert!(err < 1e-2, "{what}[{i}]: analytic {a} vs numeric {numeric}");
        }
        assert!(worst.is_finite());
    }

    #[test]
    fn conv() {
        for (k, pad, cin, cout, h) in [
            (3, 1, 2, 3, 6),
            (3, 0, 2, 2, 5),
            (1, 0, 3, 2, 4),
            (5, 2, 1, 2, 5),
        ] {
            let n = 2;
            let input = Shape::new(cin, h, h);
            let oh = h + 2 * pad - k + 1;
            let g = ConvGeom {
                input,
                output: Shape::new(cout, oh, oh),
                k,
                pad,
            };
            let mut x = values(n * input.size(), 1, 0.0);
            let mut w = values(cout * g.ckk(), 2, 0.0);
            let mut b = values(cout, 3, 0.0);
            let r = values(n * g.output.size(), 4, 0.0);
            let mut col = vec![0.0; g.col_len()];
            let (mut dx, mut dw, mut db) =
                (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; cout]);
            conv_backward(g, n, &x, &r, Some(&mut dx), &w, &mut dw, &mut db, &mut col);
            let mut y = vec![0.0; r.len()];
            let mut run = |x: &[f32], w: &[f32], b: &[f32]| {
                conv_forward(g, n, x, &mut y, w, b, &mut col);
                dot(&y, &r)
            };
            let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
            check("conv dx", &mut x, &dx, 1e-2, &mut |x| run(x, &w0, &b0));
            check("conv dw", &mut w, &dw, 1e-2, &mut |w| run(&x0, w, &b0));
            check("conv db", &mut b, &db, 1e-2, &mut |b| run(&x0, &w0, b));
        }
    }

    #[test]
    fn linear() {
        let (n, din, dout) = (3, 5, 4);
        let mut x = values(n * din, 1, 0.0);
        let mut w = values(dout * din, 2, 0.0);
        let mut b = values(dout, 3, 0.0);
        let r = values(n * dout, 4, 0.0);
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; dout]);
        linear_backward(n, din, dout, &x, &r, Some(&mut dx), &w, &mut dw, &mut db);
        let mut y = vec![0.0; n * dout];
        let mut run = |x: &[f32], w: &[f32], b: &[f32]| {
            linear_forward(n, din, dout, x, &mut y, w, b);
            dot(&y, &r)
        };
        let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
        check("linear dx", &mut x, &dx, 1e-2, &mut |x| run(x, &w0, &b0));
        check("linear dw", &mut w, &dw, 1e-2, &mut |w| run(&x0, w, &b0));
        check("linear db", &mut b, &db, 1e-2, &mut |b| run(&x0, &w0, b));
    }

    #[test]
    fn relu() {
        let mut x = values(40, 1, 0.05);
        let r = values(40, 2, 0.0);
        let mut y = vec![0.0; 40];
        relu_forward(&x, &mut y);
        let mut dx = vec![0.0; 40];
        relu_backward(&y, &r, &mut dx);
        check("relu dx", &mut x, &dx, 1e-2, &mut |x| {
            relu_forward(x, &mut y);
            dot(&y, &r)
        });
    }

    #[test]
    fn maxpool() {
        let (n, s, k) = (2, Shape::new(2, 5, 4), 2);
        // Distinct values, spaced wider than the finite-difference step.
        let mut x: Vec<f32> = (0..n * s.size())
            .map(|i| ((i * 37) % 83) as f32 * 0.05)
            .collect();
        let out = n * s.c * (s.h / k) * (s.w / k);
        let r = values(out, 2, 0.0);
        let (mut y, mut idx) = (vec![0.0; out], vec![0u32; out]);
        maxpool_forward(n, s, k, &x, &mut y, &mut idx);
        let mut dx = vec![0.0; x.len()];
        maxpool_backward(n, s, k, &r, &idx, &mut dx);
        check("maxpool dx", &mut x, &dx, 1e-2, &mut |x| {
            maxpool_forward(n, s, k, x, &mut y, &mut idx);
            dot(&y, &r)
        });
    }

    #[test]
    fn dropout() {
        let mut x = values(64, 1, 0.0);
        let r = values(64, 2, 0.0);
        let (mut y, mut mask) = (vec![0.0; 64], vec![0.0; 64]);
        dropout_forward(0.3, &x, &mut y, &mut mask, &mut Rng::new(5));
        assert!(mask.contains(&0.0) && mask.iter().any(|&m| m > 1.0));
        let mut dx = vec![0.0; 64];
        dropout_backward(&r, &mask, &mut dx);
        check("dropout dx", &mut x, &dx, 1e-2, &mut |x| {
            dropout_forward(0.3, x, &mut y, &mut mask, &mut Rng::new(5));
            dot(&y, &r)
        });
    }

    #[test]
    fn gap() {
        let (n, s) = (2, Shape::new(3, 4, 5));
        let mut x = values(n * s.size(), 1, 0.0);
        let r = values(n * s.c, 2, 0.0);
        let mut y = vec![0.0; n * s.c];
        let mut dx = vec![0.0; x.len()];
        gap_backward(n, s, &r, &mut dx);
        check("gap dx", &mut x, &dx, 1e-2, &mut |x| {
            gap_forward(n, s, x, &mut y);
            dot(&y, &r)
        });
    }

    #[test]
    fn batch_norm() {
        for s in [Shape::new(3, 3, 2), Shape::new(4, 1, 1)] {
            let n = 4;
            let len = n * s.size();
            let mut x = values(len, 1, 0.0);
            let mut gamma = values(s.c, 2, 0.3);
            let mut beta = values(s.c, 3, 0.0);
            let r = values(len, 4, 0.0);
            let (mut xhat, mut invstd, mut mean, mut var) = (
                vec![0.0; len],
                vec![0.0; s.c],
                vec![0.0; s.c],
                vec![0.0; s.c],
            );
            let mut y = vec![0.0; len];
            let mut fwd = |x: &[f32],
                           g: &[f32],
                           b: &[f32],
                           y: &mut [f32],
                           xhat: &mut [f32],
                           invstd: &mut [f32]| {
                let buf = BnBuffers {
                    xhat,
                    invstd,
                    mean: &mut mean,
                    var: &mut var,
                };
                bn_forward_train(n, s, 1e-5, x, y, g, b, buf);
            };
            fwd(&x, &gamma, &beta, &mut y, &mut xhat, &mut invstd);
            let (mut dx, mut dg, mut db) = (vec![0.0; len], vec![0.0; s.c], vec![0.0; s.c]);
            bn_backward(n, s, &r, &mut dx, &gamma, &xhat, &invstd, &mut dg, &mut db);
            let (g0, b0, x0) = (gamma.clone(), beta.clone(), x.clone());
            let mut loss = |x: &[f32], g: &[f32], b: &[f32]| {
                let mut y = vec![0.0; len];
                let (mut xh, mut is) = (vec![0.0; len], vec![0.0; s.c]);
                fwd(x, g, b, &mut y, &mut xh, &mut is);
                dot(&y, &r)
            };
            check("bn dx", &mut x, &dx, 1e-3, &mut |x| loss(x, &g0, &b0));
            check("bn dgamma", &mut gamma, &dg, 1e-3, &mut |g| {
                loss(&x0, g, &b0)
            });
            check("bn dbeta", &mut beta, &db, 1e-3, &mut |b| loss(&x0, &g0, b));
        }
    }

    #[test]
    fn softmax_cross_entropy_gradient() {
        // The middle row of the second set is not a digit (its target is the even
        // distribution).
        for (smoothing, labels) in [(0.0, [2u8, 7, 0]), (0.1, [2, 7, 0]), (0.0, [2, 10, 0])] {
            let (n, c) = (3, 10);
            let mut logits: Vec<f32> = values(n * c, 1, 0.0).iter().map(|v| 3.0 * v).collect();
            let mut d = vec![0.0; n * c];
            softmax_cross_entropy(n, c, &logits, &labels, smoothing, 1.0, &mut d);
            let mut scratch = vec![0.0; n * c];
            check(
                "softmax-ce dlogits",
                &mut logits,
                &d.clone(),
                1e-3,
                &mut |l| softmax_cross_entropy(n, c, l, &labels, smoothing, 1.0, &mut scratch).0,
            );
        }
    }

    #[test]
    fn a_row_that_is_not_a_digit_is_pushed_towards_the_even_distribution() {
        let c = 10;
        let logits: Vec<f32> = (0..c).map(|j| j as f32 * 0.3).collect();
        let mut d = vec![0.0; c];
        let (loss, correct) = softmax_cross_entropy(1, c, &logits, &[10], 0.0, 1.0, &mut d);
        assert_eq!(correct, 0, "never counted as read right");
        // The gradient lowers the largest logit and raises the smallest, and sums to 0.
        assert!(d[c - 1] > 0.0 && d[0] < 0.0, "{d:?}");
        assert!(d.iter().sum::<f32>().abs() < 1e-6);
        // At the even distribution the loss is ln(10) and the gradient vanishes.
        let flat = vec![0.5f32; c];
        let (loss_flat, _) = softmax_cross_entropy(1, c, &flat, &[10], 0.0, 1.0, &mut d);
        assert!((loss_flat - 10f64.ln()).abs() < 1e-5, "{loss_flat}");
        assert!(d.iter().all(|g| g.abs() < 1e-6), "{d:?}");
        assert!(loss > loss_flat);
    }

    #[test]
    fn doubt_cross_entropy_gradient() {
        // Rows of digits, with and without smoothing, and rows that are not one digit.
        for (smoothing, labels) in [(0.0, [2u8, 7, 0]), (0.1, [2, 10, 0]), (0.0, [10, 10, 4])] {
            let (n, w) = (3, CLASSES + 1);
            let mut logits: Vec<f32> = values(n * w, 5, 0.0).iter().map(|v| 3.0 * v).collect();
            let mut d = vec![0.0; n * w];
            doubt_cross_entropy(n, &logits, &labels, smoothing, 1.0, &mut d);
            let mut scratch = vec![0.0; n * w];
            check(
                "doubt-ce dlogits",
                &mut logits,
                &d.clone(),
                1e-3,
                &mut |l| doubt_cross_entropy(n, l, &labels, smoothing, 1.0, &mut scratch).0,
            );
        }
    }

    #[test]
    fn a_piece_trains_only_the_doubt_and_a_digit_both() {
        let w = CLASSES + 1;
        let logits: Vec<f32> = (0..w).map(|j| j as f32 * 0.3 - 1.0).collect();
        let mut d = vec![0.0; w];
        let (_, correct) = doubt_cross_entropy(1, &logits, &[10], 0.0, 1.0, &mut d);
        assert_eq!(correct, 0);
        // The ten digits' scores are left alone; the doubt is pushed up.
        assert!(d[..CLASSES].iter().all(|&g| g == 0.0), "{d:?}");
        assert!(d[CLASSES] < 0.0);
        let (_, correct) = doubt_cross_entropy(1, &logits, &[9], 0.0, 1.0, &mut d);
        assert_eq!(correct, 1, "9 has the largest of the ten scores");
        assert!(d[CLASSES] > 0.0, "a digit pushes the doubt down");
        assert!(d[..CLASSES].iter().sum::<f32>().abs() < 1e-6);
    }

    #[test]
    fn doubt_flattens_the_probabilities_and_keeps_their_order() {
        let mut logits: Vec<f32> = (0..CLASSES).map(|j| j as f32).collect();
        logits.push(-12.0);
        let mut sure = vec![0.0; CLASSES];
        doubt_probabilities(1, &logits, &mut sure);
        let mut plain = vec![0.0; CLASSES];
        softmax(1, CLASSES, &logits[..CLASSES], &mut plain);
        // No doubt: the plain softmax, within float error.
        assert!(sure.iter().zip(&plain).all(|(a, b)| (a - b).abs() < 1e-4));
        logits[CLASSES] = 12.0;
        let mut unsure = vec![0.0; CLASSES];
        doubt_probabilities(1, &logits, &mut unsure);
        assert!((unsure.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(unsure.iter().all(|&p| (p - 0.1).abs() < 1e-3), "{unsure:?}");
        assert_eq!(
            digits_core::metrics::argmax(&unsure),
            digits_core::metrics::argmax(&plain)
        );
    }

    #[test]
    fn im2col_col2im_are_adjoint() {
        // <im2col(x), c> == <x, col2im(c)> for any x, c: col2im is the transpose.
        let s = Shape::new(2, 5, 6);
        let (k, pad) = (3, 1);
        let (oh, ow) = (s.h + 2 * pad - k + 1, s.w + 2 * pad - k + 1);
        let x = values(s.size(), 1, 0.0);
        let c = values(s.c * k * k * oh * ow, 2, 0.0);
        let mut col = vec![0.0; c.len()];
        im2col(&x, s, k, pad, oh, ow, &mut col);
        let mut back = vec![0.0; s.size()];
        col2im(&c, s, k, pad, oh, ow, &mut back);
        assert!((dot(&col, &c) - dot(&x, &back)).abs() < 1e-4);
    }
}
