//! A "not one digit" output fitted onto a trained network without touching it
//! (`digits train --doubt-head`).
//!
//! A network ending with `fc11` learns its doubt while it learns the digits
//! (`--not-digits`), and the features it shares move: single drawn digits read a little
//! differently, for better or worse, from run to run. Here the network is trained as usual
//! and frozen; only an eleventh row of its last fully connected layer is fitted, a logistic
//! regression of its own features (the input of that layer) that tells pieces of numbers
//! holding two digits or more ([`crate::not_digits`]) from single training digits (scans,
//! drawn and as pictures). The ten digits' scores are the trained ones to the bit, so single
//! digits read exactly as before; only the confidence the number reader weighs changes
//! ([`crate::layers::doubt_probabilities`]).

use digits_core::{CLASSES, PIXELS};

use crate::net::{Mode, Network, Workspace};
use crate::rng::Rng;
use crate::spec::Op;

/// Added to the fitted bias: the regression weighs pieces and digits equally, but a number's
/// reader meets far more single digits than merges, and a doubted lone digit is split. Chosen
/// on numbers of *training* digits (`tune_numbers drawn|picture 3000 --model`, 1 to -4 tried:
/// docs/performance.md, *Numbers*).
pub const OFFSET: f32 = -3.0;

/// Ridge penalty on the weights (not the bias), per mean example.
pub const L2: f64 = 5e-4;

/// Newton steps at most; the loss settles in far fewer.
const MAX_STEPS: usize = 30;

/// Why a doubt output cannot be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DoubtError {
    #[error("--doubt-head: the network must end with fc10 (it ends with {0})")]
    NotTenScores(String),
    #[error("--doubt-head: no {0} to fit the doubt output on")]
    Empty(&'static str),
    #[error("--doubt-head: the fit did not converge (a non-finite or singular step)")]
    Diverged,
}

/// The input of the network's last layer (the features its scores are made of) for each of
/// `images.len() / PIXELS` images, in inference mode: `n x` the last layer's input size.
pub fn features(net: &Network, images: &[f32]) -> Vec<f32> {
    const CHUNK: usize = 64;
    let Some(last) = net.layers.len().checked_sub(1) else {
        return Vec::new();
    };
    let n = images.len() / PIXELS;
    let mut out = Vec::with_capacity(n * net.layers[last].input.size());
    let mut ws = Workspace::new(net, CHUNK.min(n.max(1)));
    let mut rng = Rng::new(0);
    for chunk in images[..n * PIXELS].chunks(CHUNK * PIXELS) {
        let m = chunk.len() / PIXELS;
        ws.input_mut(m).copy_from_slice(chunk);
        ws.forward(net, Mode::Eval, &mut rng);
        if last == 0 {
            out.extend_from_slice(chunk);
        } else {
            out.extend_from_slice(ws.activation(last - 1));
        }
    }
    out
}

/// The doubt output's weights (one per feature) and bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Head {
    /// The doubt (a logit) of one feature vector.
    pub fn doubt(&self, features: &[f32]) -> f32 {
        self.weights
            .iter()
            .zip(features)
            .map(|(w, x)| w * x)
            .sum::<f32>()
            + self.bias
    }
}

/// The logistic regression of "a piece, not one digit" on features `dim` wide (`digits` and
/// `pieces` hold `dim` values per example), each class weighing half, with ridge penalty
/// [`L2`], by Newton's method; [`OFFSET`] is then added to the bias.
pub fn fit(digits: &[f32], pieces: &[f32], dim: usize) -> Result<Head, DoubtError> {
    if dim == 0 || digits.len() < dim {
        return Err(DoubtError::Empty("digits"));
    }
    if pieces.len() < dim {
        return Err(DoubtError::Empty("pieces"));
    }
    let d = dim + 1;
    let classes = [
        (digits, 0.0, 0.5 / (digits.len() / dim) as f64),
        (pieces, 1.0, 0.5 / (pieces.len() / dim) as f64),
    ];
    let mut w = vec![0f64; d];
    let mut last_loss = f64::INFINITY;
    let mut x = vec![0f64; d];
    for _ in 0..MAX_STEPS {
        let mut grad = vec![0f64; d];
        let mut hess = vec![0f64; d * d];
        let mut loss = 0f64;
        for &(set, y, weight) in &classes {
            for f in set.chunks_exact(dim) {
                for (xi, &v) in x.iter_mut().zip(f) {
                    *xi = v as f64;
                }
                x[dim] = 1.0;
                let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                // log(1 + e^z) for a digit, log(1 + e^-z) for a piece, without overflow.
                let margin = if y > 0.5 { -z } else { z };
                loss += weight * (margin.max(0.0) + (-margin.abs()).exp().ln_1p());
                let r = weight * (p - y);
                let s = weight * p * (1.0 - p);
                for a in 0..d {
                    grad[a] += r * x[a];
                    let sa = s * x[a];
                    let row = &mut hess[a * d..a * d + a + 1];
                    for (h, xb) in row.iter_mut().zip(&x) {
                        *h += sa * xb;
                    }
                }
            }
        }
        for a in 0..dim {
            loss += 0.5 * L2 * w[a] * w[a];
            grad[a] += L2 * w[a];
            hess[a * d + a] += L2;
        }
        // The lower triangle was summed; mirror it.
        for a in 0..d {
            for b in 0..a {
                hess[b * d + a] = hess[a * d + b];
            }
        }
        let step = solve(hess, grad, d).ok_or(DoubtError::Diverged)?;
        w.iter_mut().zip(&step).for_each(|(v, s)| *v -= s);
        if !loss.is_finite() || w.iter().any(|v| !v.is_finite()) {
            return Err(DoubtError::Diverged);
        }
        if (last_loss - loss).abs() < 1e-10 {
            break;
        }
        last_loss = loss;
    }
    Ok(Head {
        weights: w[..dim].iter().map(|&v| v as f32).collect(),
        bias: w[dim] as f32 + OFFSET,
    })
}

/// `m x = r` for a `d x d` row-major `m`, by Gaussian elimination with partial pivoting;
/// `None` if singular.
fn solve(mut m: Vec<f64>, mut r: Vec<f64>, d: usize) -> Option<Vec<f64>> {
    for c in 0..d {
        let pivot = (c..d).max_by(|&i, &j| m[i * d + c].abs().total_cmp(&m[j * d + c].abs()))?;
        if m[pivot * d + c].abs() < 1e-300 {
            return None;
        }
        for k in 0..d {
            m.swap(c * d + k, pivot * d + k);
        }
        r.swap(c, pivot);
        for i in c + 1..d {
            let f = m[i * d + c] / m[c * d + c];
            for k in c..d {
                m[i * d + k] -= f * m[c * d + k];
            }
            r[i] -= f * r[c];
        }
    }
    let mut x = vec![0f64; d];
    for c in (0..d).rev() {
        let s: f64 = (c + 1..d).map(|k| m[c * d + k] * x[k]).sum();
        x[c] = (r[c] - s) / m[c * d + c];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// `net` with `head` as an eleventh output of its last layer (`fc10` becomes `fc11`): every
/// other weight, running statistic and the ten scores' row stay as they are.
pub fn attach(net: &Network, head: &Head) -> Result<Network, DoubtError> {
    let last = net.layers.last().ok_or(DoubtError::Empty("layers"))?;
    let tokens: Vec<&str> = net.spec.split(',').collect();
    let last_token = tokens.last().map_or("", |t| t.trim());
    if last.op != (Op::Linear { dout: CLASSES }) {
        return Err(DoubtError::NotTenScores(last_token.to_string()));
    }
    let din = last.input.size();
    if head.weights.len() != din {
        return Err(DoubtError::Empty("features of the right width"));
    }
    let spec = tokens[..tokens.len() - 1]
        .iter()
        .copied()
        .chain([format!("fc{}", CLASSES + 1).as_str()])
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Network::new(&spec, 0).map_err(|_| DoubtError::NotTenScores(spec.clone()))?;
    let n = net.layers.len();
    for (to, from) in out.layers[..n - 1].iter().zip(&net.layers[..n - 1]) {
        out.params[to.param_at..to.param_at + to.param_len]
            .copy_from_slice(&net.params[from.param_at..from.param_at + from.param_len]);
    }
    out.state.copy_from_slice(&net.state);
    let (w10, b10) = net.layers[n - 1].split(&net.params);
    let to = out.layers[n - 1].clone();
    let (w11, b11) = to.split_mut(&mut out.params);
    w11[..CLASSES * din].copy_from_slice(w10);
    w11[CLASSES * din..].copy_from_slice(&head.weights);
    b11[..CLASSES].copy_from_slice(b10);
    b11[CLASSES] = head.bias;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clouds of 3-wide features: digits around (1, 0, 0), pieces around (0, 1, 0).
    fn clouds() -> (Vec<f32>, Vec<f32>) {
        let mut rng = Rng::new(5);
        let mut cloud = |centre: [f32; 3], n: usize| -> Vec<f32> {
            (0..n)
                .flat_map(|_| centre.map(|c| c + 0.3 * rng.normal()))
                .collect()
        };
        (cloud([1.0, 0.0, 0.0], 400), cloud([0.0, 1.0, 0.0], 200))
    }

    #[test]
    fn the_fit_tells_the_two_clouds_apart_and_shifts_its_bias_by_the_offset() {
        let (digits, pieces) = clouds();
        let head = fit(&digits, &pieces, 3).unwrap();
        let unshifted = |f: &[f32]| head.doubt(f) - OFFSET;
        let right = digits.chunks(3).filter(|f| unshifted(f) < 0.0).count()
            + pieces.chunks(3).filter(|f| unshifted(f) > 0.0).count();
        assert!(right as f32 / 600.0 > 0.97, "{right} of 600 right");
        // The third feature is noise alone: it weighs little against the two that matter.
        assert!(
            head.weights[2].abs() < 0.2 * head.weights[1].abs(),
            "{head:?}"
        );
        assert!(head.weights[1] > 0.0 && head.weights[0] < 0.0, "{head:?}");
        // Fitting again gives the same head.
        assert_eq!(head, fit(&digits, &pieces, 3).unwrap());
    }

    #[test]
    fn the_fit_at_its_optimum_has_no_gradient_left() {
        let (digits, pieces) = clouds();
        let head = fit(&digits, &pieces, 3).unwrap();
        let z = |f: &[f32]| (head.doubt(f) - OFFSET) as f64;
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut grad = [0f64; 4];
        for (set, y, weight) in [(&digits, 0.0, 0.5 / 400.0), (&pieces, 1.0, 0.5 / 200.0)] {
            for f in set.chunks(3) {
                let r = weight * (sig(z(f)) - y);
                for (g, &x) in grad.iter_mut().zip(f) {
                    *g += r * x as f64;
                }
                grad[3] += r;
            }
        }
        for (g, &w) in grad.iter_mut().zip(&head.weights) {
            *g += L2 * w as f64;
        }
        assert!(grad.iter().all(|g| g.abs() < 1e-5), "{grad:?}");
    }

    #[test]
    fn nothing_to_fit_on_is_an_error_not_a_panic() {
        assert_eq!(fit(&[], &[1.0; 3], 3), Err(DoubtError::Empty("digits")));
        assert_eq!(fit(&[1.0; 3], &[], 3), Err(DoubtError::Empty("pieces")));
        assert_eq!(
            fit(&[1.0; 3], &[1.0; 3], 0),
            Err(DoubtError::Empty("digits"))
        );
    }

    #[test]
    fn attaching_keeps_every_digit_score_and_adds_the_doubt() {
        let net = Network::new("conv4k3p1,bn,relu,maxpool2,gap,fc10", 3).unwrap();
        let mut rng = Rng::new(9);
        let images: Vec<f32> = (0..5 * PIXELS).map(|_| rng.uniform()).collect();
        let feats = features(&net, &images);
        assert_eq!(feats.len(), 5 * 4);
        let head = Head {
            weights: vec![0.5, -1.0, 2.0, 0.25],
            bias: -0.5,
        };
        let with = attach(&net, &head).unwrap();
        assert_eq!(with.spec, "conv4k3p1,bn,relu,maxpool2,gap,fc11");
        assert!(with.has_doubt());
        let mut ws = Workspace::new(&with, 5);
        let mut plain = Workspace::new(&net, 5);
        ws.input_mut(5).copy_from_slice(&images);
        plain.input_mut(5).copy_from_slice(&images);
        ws.forward(&with, Mode::Eval, &mut Rng::new(0));
        plain.forward(&net, Mode::Eval, &mut Rng::new(0));
        for (i, (a, b)) in ws.digit_logits().zip(plain.digit_logits()).enumerate() {
            assert_eq!(a, b, "image {i}'s ten scores changed");
            let doubt = ws.logits()[i * (CLASSES + 1) + CLASSES];
            let expected = head.doubt(&feats[i * 4..(i + 1) * 4]);
            assert!((doubt - expected).abs() < 1e-5, "{doubt} vs {expected}");
        }
        // The ranking of the ten probabilities is the plain network's.
        let (p, q) = (with.predict(&images), net.predict(&images));
        let argmax = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        for (a, b) in p.chunks(CLASSES).zip(q.chunks(CLASSES)) {
            assert_eq!(argmax(a), argmax(b));
        }
    }

    #[test]
    fn only_a_network_ending_with_ten_scores_takes_a_doubt_output() {
        let head = Head {
            weights: vec![0.0; 4],
            bias: 0.0,
        };
        let doubted = Network::new("conv4k3p1,relu,gap,fc11", 1).unwrap();
        assert_eq!(
            attach(&doubted, &head).unwrap_err(),
            DoubtError::NotTenScores("fc11".into())
        );
        let net = Network::new("conv4k3p1,relu,gap,fc10", 1).unwrap();
        let narrow = Head {
            weights: vec![0.0; 3],
            bias: 0.0,
        };
        assert!(attach(&net, &narrow).is_err());
    }
}
