//! A "not one digit" output fitted onto a trained network without touching it
//! (`digits train --doubt-head`).
//!
//! A network ending with `fc11` learns its doubt while it learns the digits
//! (`--not-digits`), and the features it shares move: single drawn digits read a little
//! differently, for better or worse, from run to run. Here the network is trained as usual
//! and frozen; only a logistic regression of its own feature maps before pooling
//! ([`maps_layer`]) is fitted beside it ([`SideDoubt`]), telling pieces of numbers (two
//! digits or more, or part of one: [`crate::not_digits`]) from single training digits (scans, drawn and as
//! pictures). The maps, not the pooled values: pooling throws away *where*, and two digits
//! side by side are a matter of where (`examples/doubt_features.rs`: 97.6% of held-out pieces
//! caught at 0.13% of digits doubted, against 62.0% from the pooled values). The ten digits'
//! scores are the trained ones to the bit, so single digits read exactly as before; only the
//! confidence the number reader weighs changes ([`crate::layers::doubt_probabilities`]).

use digits_core::{CLASSES, PIXELS};

use crate::layers::dot;
pub use crate::net::Head;
use crate::net::{Mode, Network, SideDoubt, Workspace};
use crate::rng::Rng;
use crate::spec::Op;

/// Added to the fitted bias. Chosen on numbers written with the [`held_out`] training digits,
/// which the fit never saw (`tune_numbers drawn|picture 4000 --model`, after `shift_doubt`),
/// offsets -1 to +3: 0 and +1 read them best (the objective 278.0 and 279.2 of the pad and
/// pictures together; -1 277.0, +2 278.6, +3 lower). +1 doubts clean lone digits twice as
/// often as 0, and the doubt flattens a digit's probabilities, so the page shows them as
/// unsure (a drawn test digit's top probability under 50%: 4.2% of them at +1, 2.2% at 0,
/// 0.2% with no parts), so 0. It splits 2 of the mirror writer's 60 odd single digits
/// (`examples/mirror_split.rs`; 5 at -1), whose pieces a personal model would learn from
/// (docs/performance.md, *Numbers*).
pub const OFFSET: f32 = 0.0;

/// Ridge penalty on the weights (not the bias), per mean example.
pub const L2: f64 = 5e-4;

/// Newton steps at most; the loss settles in far fewer.
const MAX_STEPS: usize = 30;

/// Conjugate-gradient steps at most per Newton step (each a pass over the examples).
const MAX_CG: usize = 100;

/// The fit stops when a Newton step lowers the loss by less than this share of it: on the
/// shipped network's 3,136 features that is after 8 steps; the next ones cost 25 s each, move
/// the loss by less than 2e-4 of it, and the numbers read the same to one number in a thousand
/// (`tune_numbers` at offsets -1 to +2 against the fit run to 1e-4).
const SETTLED: f64 = 1e-3;

/// Why a doubt output cannot be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DoubtError {
    #[error("--doubt-head: the network must end with fc10 (it ends with {0})")]
    NotTenScores(String),
    #[error("--doubt-head: no {0} to fit the doubt output on")]
    Empty(&'static str),
    #[error("--doubt-head: the fit did not converge (a non-finite or singular step)")]
    Diverged,
    #[error(
        "--doubt-head: layer {0}'s output is folded into the batch norm after it in the exported file; read another layer"
    )]
    Folded(usize),
}

/// The layer the doubt output reads: the last before the network's first pooling to one value
/// per channel (`gap`) or `flatten`, where the features still have a place; for a network that
/// flattens its input first, the input of its last layer.
pub fn maps_layer(net: &Network) -> Result<usize, DoubtError> {
    let first_flat = net
        .layers
        .iter()
        .position(|l| matches!(l.op, Op::Gap | Op::Flatten));
    match first_flat {
        Some(i) if i > 0 => Ok(i - 1),
        _ => net
            .layers
            .len()
            .checked_sub(2)
            .ok_or(DoubtError::Empty("layers before the last")),
    }
}

/// The output of `layer` (the features the doubt output reads) for each of
/// `images.len() / PIXELS` images, in inference mode: `n x` that layer's output size.
pub fn features(net: &Network, images: &[f32], layer: usize) -> Vec<f32> {
    const CHUNK: usize = 64;
    let n = images.len() / PIXELS;
    let Some(l) = net.layers.get(layer) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(n * l.output.size());
    let mut ws = Workspace::new(net, CHUNK.min(n.max(1)));
    let mut rng = Rng::new(0);
    for chunk in images[..n * PIXELS].chunks(CHUNK * PIXELS) {
        let m = chunk.len() / PIXELS;
        ws.input_mut(m).copy_from_slice(chunk);
        ws.forward(net, Mode::Eval, &mut rng);
        out.extend_from_slice(ws.activation(layer));
    }
    out
}

/// `acc += s * x`.
fn axpy(acc: &mut [f32], s: f32, x: &[f32]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += s * v;
    }
}

/// Runs `f` on every block of examples (with its index; in parallel with the command line's
/// threads) and gives the results in block order, so that sums over them do not depend on the
/// threads.
fn per_block<T: Send>(blocks: &[Block], f: impl Fn(usize, &Block) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "cli")]
    {
        use rayon::prelude::*;
        blocks
            .par_iter()
            .enumerate()
            .map(|(k, b)| f(k, b))
            .collect()
    }
    #[cfg(not(feature = "cli"))]
    {
        blocks.iter().enumerate().map(|(k, b)| f(k, b)).collect()
    }
}

/// A block of examples of one class: their features, label and the weight of each.
struct Block<'a> {
    rows: &'a [f32],
    y: f32,
    weight: f64,
}

/// Sums per-block vectors in block order, in f64.
fn sum_in_order<'a>(parts: impl Iterator<Item = &'a [f32]>, d: usize) -> Vec<f64> {
    let mut out = vec![0f64; d];
    for p in parts {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v as f64;
        }
    }
    out
}

/// The loss and its derivatives at one point.
struct Point {
    loss: f64,
    /// `dim + 1`: the weights', then the bias's.
    gradient: Vec<f64>,
    /// Each example's curvature weight `weight * p * (1 - p)`, per block.
    curvature: Vec<Vec<f32>>,
    /// The Hessian's diagonal (the conjugate gradients' preconditioner).
    diagonal: Vec<f64>,
}

/// The loss at `w` (`dim + 1`), its gradient and curvature.
fn at(blocks: &[Block], dim: usize, w: &[f64]) -> Point {
    let wf: Vec<f32> = w[..dim].iter().map(|&v| v as f32).collect();
    let bias = w[dim] as f32;
    let parts = per_block(blocks, |_, b| {
        let (mut loss, mut grad, mut curv) = (0f64, vec![0f32; dim + 1], Vec::new());
        let mut diag = vec![0f32; dim + 1];
        for f in b.rows.chunks_exact(dim) {
            let z = (dot(&wf, f) + bias) as f64;
            let p = 1.0 / (1.0 + (-z).exp());
            // log(1 + e^z) for a digit, log(1 + e^-z) for a piece, without overflow.
            let margin = if b.y > 0.5 { -z } else { z };
            loss += b.weight * (margin.max(0.0) + (-margin.abs()).exp().ln_1p());
            let r = (b.weight * (p - b.y as f64)) as f32;
            axpy(&mut grad[..dim], r, f);
            grad[dim] += r;
            let c = (b.weight * p * (1.0 - p)) as f32;
            curv.push(c);
            for (d, v) in diag.iter_mut().zip(f) {
                *d += c * v * v;
            }
            diag[dim] += c;
        }
        (loss, grad, curv, diag)
    });
    let loss = parts.iter().map(|p| p.0).sum::<f64>()
        + 0.5 * L2 * w[..dim].iter().map(|v| v * v).sum::<f64>();
    let mut gradient = sum_in_order(parts.iter().map(|p| p.1.as_slice()), dim + 1);
    let mut diagonal = sum_in_order(parts.iter().map(|p| p.3.as_slice()), dim + 1);
    for ((g, h), v) in gradient.iter_mut().zip(&mut diagonal).zip(&w[..dim]) {
        *g += L2 * v;
        *h += L2;
    }
    Point {
        loss,
        gradient,
        curvature: parts.into_iter().map(|p| p.2).collect(),
        diagonal,
    }
}

/// The Hessian at the point `curv` was taken at, times `v`.
fn hessian_times(blocks: &[Block], dim: usize, curv: &[Vec<f32>], v: &[f64]) -> Vec<f64> {
    let vf: Vec<f32> = v[..dim].iter().map(|&x| x as f32).collect();
    let vb = v[dim] as f32;
    let parts = per_block(blocks, |k, b| {
        let mut acc = vec![0f32; dim + 1];
        for (f, &c) in b.rows.chunks_exact(dim).zip(&curv[k]) {
            let t = c * (dot(&vf, f) + vb);
            axpy(&mut acc[..dim], t, f);
            acc[dim] += t;
        }
        acc
    });
    let mut out = sum_in_order(parts.iter().map(Vec::as_slice), dim + 1);
    for (o, x) in out.iter_mut().zip(&v[..dim]) {
        *o += L2 * x;
    }
    out
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The Newton step at `p`: `H s = g` by conjugate gradients, preconditioned by the Hessian's
/// diagonal, to a relative residual of `tolerance`.
fn newton_step(
    blocks: &[Block],
    dim: usize,
    p: &Point,
    tolerance: f64,
) -> Option<(Vec<f64>, usize)> {
    let g = &p.gradient;
    let precondition = |r: &[f64]| -> Vec<f64> {
        r.iter()
            .zip(&p.diagonal)
            .map(|(v, h)| v / h.max(1e-12))
            .collect()
    };
    let mut s = vec![0f64; g.len()];
    let mut r = g.clone();
    let mut z = precondition(&r);
    let mut dir = z.clone();
    let mut rz = dot64(&r, &z);
    let goal = tolerance * dot64(g, g).sqrt();
    let mut steps = 0;
    for _ in 0..MAX_CG {
        steps += 1;
        let hd = hessian_times(blocks, dim, &p.curvature, &dir);
        let curve = dot64(&dir, &hd);
        if curve.is_nan() || curve <= 0.0 {
            return None;
        }
        let alpha = rz / curve;
        s.iter_mut().zip(&dir).for_each(|(v, d)| *v += alpha * d);
        r.iter_mut().zip(&hd).for_each(|(v, h)| *v -= alpha * h);
        if dot64(&r, &r).sqrt() <= goal {
            break;
        }
        z = precondition(&r);
        let rz_next = dot64(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        dir.iter_mut().zip(&z).for_each(|(d, v)| *d = v + beta * *d);
    }
    s.iter().all(|v| v.is_finite()).then_some((s, steps))
}

/// One Newton step of [`fit`], done.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub newton: usize,
    /// The loss after it.
    pub loss: f64,
    /// The gradient's norm before it.
    pub gradient: f64,
    /// The conjugate-gradient steps it took.
    pub cg: usize,
}

/// The logistic regression of "a piece, not one digit" on features `dim` wide (`digits` and
/// `pieces` are blocks of examples, `dim` values each; the blocks are what runs in parallel),
/// each class weighing half, with ridge penalty [`L2`], by Newton's method (each step by
/// preconditioned conjugate gradients, so thousands of features cost passes over the data, not
/// a matrix of their squares); [`OFFSET`] is then added to the bias. The same for the same
/// blocks on any number of threads.
pub fn fit(
    digits: &[Vec<f32>],
    pieces: &[Vec<f32>],
    dim: usize,
    mut on_step: impl FnMut(&Step),
) -> Result<Head, DoubtError> {
    let count = |set: &[Vec<f32>]| set.iter().map(|b| b.len() / dim.max(1)).sum::<usize>();
    let (nd, np) = (count(digits), count(pieces));
    if dim == 0 || nd == 0 {
        return Err(DoubtError::Empty("digits"));
    }
    if np == 0 {
        return Err(DoubtError::Empty("pieces"));
    }
    fn block(rows: &[f32], dim: usize, y: f32, n: usize) -> Block<'_> {
        Block {
            rows: &rows[..rows.len() / dim * dim],
            y,
            weight: 0.5 / n as f64,
        }
    }
    let blocks: Vec<Block> = digits
        .iter()
        .map(|rows| block(rows, dim, 0.0, nd))
        .chain(pieces.iter().map(|rows| block(rows, dim, 1.0, np)))
        .collect();
    let mut w = vec![0f64; dim + 1];
    let mut here = at(&blocks, dim, &w);
    for newton in 1..=MAX_STEPS {
        let norm = dot64(&here.gradient, &here.gradient).sqrt();
        if norm < 1e-9 {
            break;
        }
        let (step, cg) =
            newton_step(&blocks, dim, &here, norm.sqrt().min(0.1)).ok_or(DoubtError::Diverged)?;
        // Backtrack until the loss falls; none that falls means the optimum is reached.
        let mut t = 1.0;
        let moved = loop {
            let trial: Vec<f64> = w.iter().zip(&step).map(|(v, s)| v - t * s).collect();
            let there = at(&blocks, dim, &trial);
            if !there.loss.is_finite() {
                return Err(DoubtError::Diverged);
            }
            if there.loss < here.loss {
                let gain = here.loss - there.loss;
                w = trial;
                here = there;
                break Some(gain);
            }
            t *= 0.5;
            if t < 1e-4 {
                break None;
            }
        };
        on_step(&Step {
            newton,
            loss: here.loss,
            gradient: norm,
            cg,
        });
        match moved {
            Some(gain) if gain > SETTLED * here.loss.abs() => {}
            _ => break,
        }
    }
    Ok(Head {
        weights: w[..dim].iter().map(|&v| v as f32).collect(),
        bias: w[dim] as f32 + OFFSET,
    })
}

/// `net` with `head` beside it as its doubt output ([`SideDoubt`]), reading the output of
/// `layer`: every weight, running statistic and the ten scores stay as they are.
pub fn attach(net: &Network, head: &Head, layer: usize) -> Result<Network, DoubtError> {
    let last = net.layers.last().ok_or(DoubtError::Empty("layers"))?;
    if last.op != (Op::Linear { dout: CLASSES }) {
        let token = net.spec.rsplit(',').next().unwrap_or("").trim();
        return Err(DoubtError::NotTenScores(token.to_string()));
    }
    let read = net.layers.get(layer).ok_or(DoubtError::Empty("layers"))?;
    if head.weights.len() != read.output.size() {
        return Err(DoubtError::Empty("features of the right width"));
    }
    let folded = matches!(read.op, Op::Conv { .. } | Op::Linear { .. })
        && net
            .layers
            .get(layer + 1)
            .is_some_and(|l| l.op == Op::BatchNorm);
    if folded {
        return Err(DoubtError::Folded(layer + 1));
    }
    let mut out = net.clone();
    out.side_doubt = Some(SideDoubt {
        layer,
        head: head.clone(),
    });
    Ok(out)
}

/// How many of the first training digits the doubt output is not fitted on (a fifteenth:
/// 4,000 of MNIST's 60,000): numbers written with them choose [`OFFSET`] and the reader's
/// priors (`examples/tune_numbers.rs`), which a fit on the same digits would flatter.
pub fn held_out(digits: usize) -> usize {
    digits / 15
}

/// Example `k` of the `3 * (n - held_out(n))` digits the doubt output is fitted on (`n`: the
/// training digits that have traces): the digits after the [`held_out`] ones as scans, then
/// drawn on the pad, then as pictures (drawn with `seed`).
#[cfg(feature = "cli")]
pub fn fitted_digit(
    train: &digits_core::idx::Labelled,
    traces: &[Vec<digits_core::preprocess::Stroke>],
    seed: u64,
    k: usize,
) -> Vec<f32> {
    use crate::pen::Style;
    let n = train.len().min(traces.len());
    let first = held_out(n);
    let fitted = (n - first).max(1);
    let i = first + k % fitted;
    match k / fitted {
        0 => digits_core::model::to_input(&train.images.pixels[i * PIXELS..(i + 1) * PIXELS]),
        1 => Style::Drawn.benchmark_input(seed, i, &traces[i]),
        _ => Style::Picture.benchmark_input(seed, i, &traces[i]),
    }
}

/// `net` with a doubt output fitted on its own features ([`crate::doubt_head`]): the training
/// digits after the [`held_out`] ones, as scans, drawn on the pad and as pictures (drawn with
/// `seed`), against the pieces of numbers written with those same digits
/// ([`crate::not_digits::make`]).
#[cfg(feature = "cli")]
pub fn fit_on_training(
    net: &Network,
    train: &digits_core::idx::Labelled,
    traces: &[Vec<digits_core::preprocess::Stroke>],
    seed: u64,
    threads: usize,
) -> anyhow::Result<Network> {
    use digits_core::model::to_input;
    use rayon::prelude::*;
    let clock = crate::clock::Clock::start();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let n = train.len().min(traces.len());
    let first = held_out(n);
    let pieces = crate::not_digits::make(
        &traces[first..n],
        seed,
        crate::not_digits::Kinds::MergesAndParts,
        threads,
    )?;
    let fitted = n - first;
    let digit = |k: usize| fitted_digit(train, traces, seed, k);
    let indices: Vec<usize> = (0..3 * fitted).collect();
    let layer = maps_layer(net)?;
    let dim = net.layers[layer].output.size();
    // In blocks of 256 examples (the fit's unit of work), whatever the threads.
    let (digits, pieces, head) = pool.install(|| {
        let digits: Vec<Vec<f32>> = indices
            .par_chunks(256)
            .map(|ks| {
                let images: Vec<f32> = ks.iter().flat_map(|&k| digit(k)).collect();
                features(net, &images, layer)
            })
            .collect();
        let pieces: Vec<Vec<f32>> = pieces
            .par_chunks(256 * PIXELS)
            .map(|bytes| features(net, &to_input(bytes), layer))
            .collect();
        let head = fit(&digits, &pieces, dim, |s| {
            eprintln!(
                "  doubt output: Newton step {}, loss {:.6}, gradient {:.2e}, {} conjugate-gradient steps, {:.1} s",
                s.newton,
                s.loss,
                s.gradient,
                s.cg,
                clock.seconds()
            )
        });
        (digits, pieces, head)
    });
    let head = head?;
    let share = |set: &[Vec<f32>]| {
        let (mut doubted, mut all) = (0usize, 0usize);
        for f in set.iter().flat_map(|b| b.chunks_exact(dim.max(1))) {
            doubted += usize::from(head.doubt(f) > 0.0);
            all += 1;
        }
        (all, 100.0 * doubted as f64 / all.max(1) as f64)
    };
    let ((nd, sd), (np, sp)) = (share(&digits), share(&pieces));
    eprintln!(
        "fitted a doubt output on the {dim} values of layer {} ({:?}) of {nd} digits (the first {first} training digits held out) and {np} pieces in {:.1} s: it doubts {sd:.2}% of the digits and {sp:.2}% of the pieces",
        layer + 1,
        net.layers[layer].op,
        clock.seconds(),
    );
    Ok(attach(net, &head, layer)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::doubt_probabilities;

    /// Two clouds of 3-wide features: digits around (1, 0, 0), pieces around (0, 1, 0), in
    /// blocks of 50 examples.
    fn clouds() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let mut rng = Rng::new(5);
        let mut cloud = |centre: [f32; 3], n: usize| -> Vec<Vec<f32>> {
            let all: Vec<f32> = (0..n)
                .flat_map(|_| centre.map(|c| c + 0.3 * rng.normal()))
                .collect();
            all.chunks(150).map(<[f32]>::to_vec).collect()
        };
        (cloud([1.0, 0.0, 0.0], 400), cloud([0.0, 1.0, 0.0], 200))
    }

    #[test]
    fn the_fit_tells_the_two_clouds_apart_and_shifts_its_bias_by_the_offset() {
        let (digits, pieces) = clouds();
        let head = fit(&digits, &pieces, 3, |_| {}).unwrap();
        let unshifted = |f: &[f32]| head.doubt(f) - OFFSET;
        let right = digits
            .concat()
            .chunks(3)
            .filter(|f| unshifted(f) < 0.0)
            .count()
            + pieces
                .concat()
                .chunks(3)
                .filter(|f| unshifted(f) > 0.0)
                .count();
        assert!(right as f32 / 600.0 > 0.97, "{right} of 600 right");
        // The third feature is noise alone: it weighs little against the two that matter.
        assert!(
            head.weights[2].abs() < 0.2 * head.weights[1].abs(),
            "{head:?}"
        );
        assert!(head.weights[1] > 0.0 && head.weights[0] < 0.0, "{head:?}");
        // Fitting again gives the same head.
        assert_eq!(head, fit(&digits, &pieces, 3, |_| {}).unwrap());
    }

    #[test]
    fn the_fit_at_its_optimum_has_no_gradient_left() {
        let (digits, pieces) = clouds();
        let head = fit(&digits, &pieces, 3, |_| {}).unwrap();
        let z = |f: &[f32]| (head.doubt(f) - OFFSET) as f64;
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut grad = [0f64; 4];
        for (set, y, weight) in [(&digits, 0.0, 0.5 / 400.0), (&pieces, 1.0, 0.5 / 200.0)] {
            for f in set.concat().chunks(3) {
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
    fn a_wide_fit_matches_the_narrow_one_it_contains() {
        // The clouds' three features, then 61 that are zero for every example: the ridge keeps
        // their weights at zero and the fit is the three-wide one (the conjugate gradients
        // reach the same optimum as a small problem's would).
        let (digits, pieces) = clouds();
        let widen = |set: &[Vec<f32>]| -> Vec<Vec<f32>> {
            set.iter()
                .map(|b| {
                    b.chunks(3)
                        .flat_map(|f| f.iter().copied().chain([0.0; 61]))
                        .collect()
                })
                .collect()
        };
        let narrow = fit(&digits, &pieces, 3, |_| {}).unwrap();
        let wide = fit(&widen(&digits), &widen(&pieces), 64, |_| {}).unwrap();
        assert!(wide.weights[3..].iter().all(|&w| w == 0.0), "{wide:?}");
        for (a, b) in narrow.weights.iter().zip(&wide.weights) {
            assert!((a - b).abs() < 1e-4, "{narrow:?} vs {wide:?}");
        }
        assert!((narrow.bias - wide.bias).abs() < 1e-4);
    }

    #[test]
    fn nothing_to_fit_on_is_an_error_not_a_panic() {
        let one = vec![vec![1.0; 3]];
        assert_eq!(fit(&[], &one, 3, |_| {}), Err(DoubtError::Empty("digits")));
        assert_eq!(fit(&one, &[], 3, |_| {}), Err(DoubtError::Empty("pieces")));
        assert_eq!(
            fit(&one, &[vec![]], 3, |_| {}),
            Err(DoubtError::Empty("pieces"))
        );
        assert_eq!(fit(&one, &one, 0, |_| {}), Err(DoubtError::Empty("digits")));
    }

    #[test]
    fn the_doubt_reads_the_maps_before_pooling() {
        let at = |spec: &str| maps_layer(&Network::new(spec, 1).unwrap());
        // conv, bn, relu, maxpool, gap, fc10: the pooled maps of 4 x 14 x 14.
        assert_eq!(at("conv4k3p1,bn,relu,maxpool2,gap,fc10"), Ok(3));
        assert_eq!(at("conv4k3p1,relu,flatten,fc10"), Ok(1));
        // A network that flattens its input first: the input of its last layer.
        assert_eq!(at("flatten,fc16,relu,fc10"), Ok(2));
        assert_eq!(
            at("flatten,fc10"),
            Ok(0),
            "the flattened image, the last layer's input"
        );
    }

    #[test]
    fn attaching_keeps_every_digit_score_and_adds_the_doubt() {
        let net = Network::new("conv4k3p1,bn,relu,maxpool2,gap,fc10", 3).unwrap();
        let mut rng = Rng::new(9);
        let images: Vec<f32> = (0..5 * PIXELS).map(|_| rng.uniform()).collect();
        let layer = maps_layer(&net).unwrap();
        let feats = features(&net, &images, layer);
        let dim = 4 * 14 * 14;
        assert_eq!(feats.len(), 5 * dim);
        let head = Head {
            weights: (0..dim).map(|_| 0.05 * rng.normal()).collect(),
            bias: -0.5,
        };
        let with = attach(&net, &head, layer).unwrap();
        assert_eq!(with.spec, net.spec);
        assert_eq!(with.params, net.params);
        let mut ws = Workspace::new(&net, 5);
        ws.input_mut(5).copy_from_slice(&images);
        ws.forward(&net, Mode::Eval, &mut Rng::new(0));
        let logits: Vec<f32> = ws
            .digit_logits()
            .zip(feats.chunks(dim))
            .flat_map(|(z, f)| z.iter().copied().chain([head.doubt(f)]))
            .collect();
        let mut want = vec![0f32; 5 * CLASSES];
        doubt_probabilities(5, &logits, &mut want);
        let (p, q) = (with.predict(&images), net.predict(&images));
        assert_eq!(p, want);
        // The ranking of the ten probabilities is the plain network's.
        let argmax = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        for (a, b) in p.chunks(CLASSES).zip(q.chunks(CLASSES)) {
            assert_eq!(argmax(a), argmax(b));
        }
    }

    #[test]
    fn only_a_network_ending_with_ten_scores_takes_a_doubt_output() {
        let head = Head {
            weights: vec![0.0; 4 * 28 * 28],
            bias: 0.0,
        };
        let doubted = Network::new("conv4k3p1,relu,gap,fc11", 1).unwrap();
        assert_eq!(
            attach(&doubted, &head, 1).unwrap_err(),
            DoubtError::NotTenScores("fc11".into())
        );
        let net = Network::new("conv4k3p1,relu,gap,fc10", 1).unwrap();
        assert!(attach(&net, &head, 1).is_ok());
        let narrow = Head {
            weights: vec![0.0; 3],
            bias: 0.0,
        };
        assert!(attach(&net, &narrow, 1).is_err());
        assert!(attach(&net, &head, 9).is_err());
        // A conv's own output is not in the file when its batch norm is folded into it.
        let bn = Network::new("conv4k3p1,bn,relu,gap,fc10", 1).unwrap();
        assert_eq!(attach(&bn, &head, 0).unwrap_err(), DoubtError::Folded(1));
        assert!(attach(&bn, &head, 1).is_ok());
    }
}
