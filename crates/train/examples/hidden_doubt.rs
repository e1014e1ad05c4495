//! A doubt output with hidden layers, measured against the shipped linear one (not shipped:
//! docs/performance.md, *Numbers*). The shipped model's doubt output is a logistic regression
//! of the network's maps before pooling (`digits_train::doubt_head`); this fits, on the same
//! examples (the training digits after the held-out 4,000 as scans, drawn and as pictures,
//! against the pieces of numbers `not_digits::make` cuts from them), a small network of those
//! maps instead: at each of the maps' positions a shared projection of its channels to
//! CHANNELS values (a 1x1 convolution) and a ReLU, optionally averaged over cells of POOL x
//! POOL positions, then HIDDEN units and a ReLU, then one
//! logit. It then reads numbers written with the held-out digits, as `tune_numbers` does
//! (pictures with drawing seeds 7 and 8, the pad with 7, 8 and 9), with the linear output and
//! with this one, the network's ten scores the same in both.
//!
//! ```sh
//! cargo run --release -p digits-train --example hidden_doubt -- [HIDDEN [EPOCHS [CHANNELS [POOL]]]]
//! ```
//!
//! Defaults 32, 8, 16 and 1 (26,193 weights; the linear output has 3,137). POOL 2 averages
//! the projected values over 2x2 cells of positions (7x7 -> 4x4) before the hidden units. About 6 GB of memory
//! for the features and 6 to 8 minutes on two cores.

use anyhow::{Context, Result};
use digits_core::idx::{self, Split};
use digits_core::model::to_input;
use digits_core::prediction::Prediction;
use digits_core::preprocess::Stroke;
use digits_core::segment::{Reader, number};
use digits_core::{CLASSES, PIXELS};
use digits_train::net::{Mode, Network, Workspace};
use digits_train::numbers::{self, as_picture, compose, on_pad};
use digits_train::pen::Style;
use digits_train::rng::Rng;
use digits_train::{doubt_head, import, layers, not_digits, traces};
use ndarray::{Array1, Array2, ArrayView1, Axis, Zip};
use rayon::prelude::*;

/// The doubt network's weights: the per-position projection (`a`, `ab`), the hidden layer
/// (`w1`, `b1`) and the logit (`w2`, `b2`), for maps of `c` channels at `p` positions.
struct Doubt {
    a: Array2<f32>,
    ab: Array1<f32>,
    w1: Array2<f32>,
    b1: Array1<f32>,
    w2: Array1<f32>,
    b2: f32,
    c: usize,
    p: usize,
    /// Per position: the pooling cell it is averaged into, and how many positions each cell has.
    cell: Vec<usize>,
    count: Vec<f32>,
}

/// What one forward pass keeps for the backward one.
struct Pass {
    xp: Array2<f32>,
    u: Array2<f32>,
    x1: Array2<f32>,
    v: Array2<f32>,
    h: Array2<f32>,
    z: Array1<f32>,
}

impl Doubt {
    /// For maps of `c` channels on a `side` x `side` grid, averaged over `pool` x `pool` cells
    /// after the projection to `k` values.
    fn new(
        c: usize,
        side: usize,
        pool: usize,
        (k, hidden): (usize, usize),
        rng: &mut Rng,
    ) -> Doubt {
        let p = side * side;
        let cells_side = side.div_ceil(pool.max(1));
        let cell: Vec<usize> = (0..p)
            .map(|i| (i / side / pool.max(1)) * cells_side + (i % side) / pool.max(1))
            .collect();
        let mut count = vec![0.0f32; cells_side * cells_side];
        for &q in &cell {
            count[q] += 1.0;
        }
        let cells = count.len();
        let mut uniform = |rows: usize, cols: usize, fan_in: usize| {
            let r = (6.0 / fan_in as f32).sqrt();
            Array2::from_shape_fn((rows, cols), |_| rng.range(-r, r))
        };
        let a = uniform(c, k, c);
        let w1 = uniform(cells * k, hidden, cells * k);
        let w2 = uniform(hidden, 1, 3 * hidden).column(0).to_owned();
        Doubt {
            a,
            ab: Array1::zeros(k),
            w1,
            b1: Array1::zeros(hidden),
            w2,
            b2: 0.0,
            c,
            p,
            cell,
            count,
        }
    }

    fn weights(&self) -> usize {
        self.a.len() + self.ab.len() + self.w1.len() + self.b1.len() + self.w2.len() + 1
    }

    /// Rows of features (channel-major maps) -> one row per (example, position) of channels.
    fn per_position(&self, x: &Array2<f32>) -> Array2<f32> {
        let b = x.nrows();
        let maps = x
            .view()
            .into_shape_with_order((b, self.c, self.p))
            .expect("maps");
        let by_place = maps
            .permuted_axes([0, 2, 1])
            .as_standard_layout()
            .to_owned();
        by_place
            .into_shape_with_order((b * self.p, self.c))
            .expect("rows")
    }

    fn forward(&self, x: &Array2<f32>) -> Pass {
        let b = x.nrows();
        let xp = self.per_position(x);
        let u = xp.dot(&self.a) + &self.ab;
        let k = self.a.ncols();
        let mut x1 = Array2::<f32>::zeros((b, self.count.len() * k));
        for (r, u) in u.rows().into_iter().enumerate() {
            let (e, q) = (r / self.p, self.cell[r % self.p]);
            for (j, &v) in u.iter().enumerate() {
                x1[[e, q * k + j]] += v.max(0.0) / self.count[q];
            }
        }
        let v = x1.dot(&self.w1) + &self.b1;
        let h = v.mapv(|v| v.max(0.0));
        let z = h.dot(&self.w2) + self.b2;
        Pass { xp, u, x1, v, h, z }
    }

    fn logit(&self, features: &[f32]) -> f32 {
        let x = ArrayView1::from(features).to_owned().insert_axis(Axis(0));
        self.forward(&x).z[0]
    }
}

/// Adam's moments for one array.
struct Moments<D: ndarray::Dimension> {
    m: ndarray::Array<f32, D>,
    v: ndarray::Array<f32, D>,
}

impl<D: ndarray::Dimension> Moments<D> {
    fn like(a: &ndarray::Array<f32, D>) -> Self {
        Moments {
            m: ndarray::Array::zeros(a.raw_dim()),
            v: ndarray::Array::zeros(a.raw_dim()),
        }
    }

    fn step(
        &mut self,
        p: &mut ndarray::Array<f32, D>,
        g: &ndarray::Array<f32, D>,
        lr: f32,
        t: i32,
    ) {
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        Zip::from(&mut self.m)
            .and(g)
            .for_each(|m, &g| *m = b1 * *m + (1.0 - b1) * g);
        Zip::from(&mut self.v)
            .and(g)
            .for_each(|v, &g| *v = b2 * *v + (1.0 - b2) * g * g);
        Zip::from(p)
            .and(&self.m)
            .and(&self.v)
            .for_each(|p, &m, &v| *p -= lr * (m / c1) / ((v / c2).sqrt() + 1e-8));
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn arg(args: &[String], i: usize, default: usize) -> Result<usize> {
    args.get(i)
        .map_or(Ok(default), |s| s.parse())
        .context("usage: hidden_doubt [HIDDEN [EPOCHS [CHANNELS [POOL]]]]")
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (hidden, epochs, k) = (arg(&args, 0, 32)?, arg(&args, 1, 8)?, arg(&args, 2, 16)?);
    let pool = arg(&args, 3, 1)?.max(1);
    let path = digits_train::cli::SHIPPED_MODEL;
    let net: Network = import::from_onnx(&std::fs::read(path)?, path)?;
    let side = net
        .side_doubt
        .clone()
        .context("the shipped model has a doubt output")?;
    let layer = side.layer;
    let data = std::path::Path::new(digits_train::cli::DEFAULT_DATA);
    let train = idx::load_split(data, Split::Train)?;
    let tr = traces::load_or_trace(data, &train.images.pixels, 2)?;
    let n = train.len().min(tr.len());
    let first = doubt_head::held_out(n);
    let fitted = n - first;
    // As `doubt_head::fit_on_training` with the shipped command's seed.
    let seed = 1;
    let clock = std::time::Instant::now();
    let pieces = not_digits::make(&tr[first..n], seed, not_digits::Kinds::MergesAndParts, 2)?;
    let digit = |k: usize| doubt_head::fitted_digit(&train, &tr, seed, k);
    let dim = net.layers[layer].output.size();
    let order: Vec<usize> = (0..3 * fitted).collect();
    let digits: Vec<f32> = order
        .par_chunks(256)
        .flat_map(|js| {
            let images: Vec<f32> = js.iter().flat_map(|&j| digit(j)).collect();
            doubt_head::features(&net, &images, layer)
        })
        .collect();
    let pieces: Vec<f32> = pieces
        .par_chunks(256 * PIXELS)
        .flat_map(|bytes| doubt_head::features(&net, &to_input(bytes), layer))
        .collect();
    let (nd, np) = (digits.len() / dim, pieces.len() / dim);
    eprintln!(
        "features of {nd} digits and {np} pieces: {:.0} s",
        clock.elapsed().as_secs_f32()
    );
    // (is a piece, row); every 20th held out to compare the two outputs.
    let examples = (0..nd)
        .map(|i| (false, i))
        .chain((0..np).map(|i| (true, i)));
    let (held, mut fit): (Vec<_>, Vec<_>) = examples.enumerate().partition(|(j, _)| j % 20 == 7);
    let row = |e: &(bool, usize)| -> &[f32] {
        let set = if e.0 { &pieces } else { &digits };
        &set[e.1 * dim..(e.1 + 1) * dim]
    };
    // Each class weighs half, as in the linear fit.
    let weight = |piece: bool| 0.5 * (nd + np) as f32 / if piece { np } else { nd } as f32;
    let shape = net.layers[layer].output;
    let mut rng = Rng::new(5);
    anyhow::ensure!(shape.h == shape.w, "square maps");
    let mut d = Doubt::new(shape.c, shape.h, pool, (k, hidden), &mut rng);
    eprintln!("{} weights", d.weights());
    let (mut ma, mut mab, mut m1, mut mb1, mut mw2) = (
        Moments::like(&d.a),
        Moments::like(&d.ab),
        Moments::like(&d.w1),
        Moments::like(&d.b1),
        Moments::like(&d.w2),
    );
    let mut mb2 = Moments::like(&Array1::from_elem(1, d.b2));
    let (batch, l2) = (256, 1e-5f32);
    let steps = epochs * fit.len().div_ceil(batch);
    let mut t = 0;
    for epoch in 0..epochs {
        rng.shuffle(&mut fit);
        let mut loss = 0.0f64;
        for chunk in fit.chunks(batch) {
            let b = chunk.len();
            let mut x = Array2::<f32>::zeros((b, dim));
            for (mut r, (_, e)) in x.rows_mut().into_iter().zip(chunk) {
                r.assign(&ArrayView1::from(row(e)));
            }
            let y: Array1<f32> = chunk
                .iter()
                .map(|(_, e)| f32::from(u8::from(e.0)))
                .collect();
            let w: Array1<f32> = chunk.iter().map(|(_, e)| weight(e.0)).collect();
            let pass = d.forward(&x);
            let p = pass.z.mapv(sigmoid);
            for ((&p, &y), &w) in p.iter().zip(&y).zip(&w) {
                let p = p.clamp(1e-7, 1.0 - 1e-7);
                loss -= f64::from(w * (y * p.ln() + (1.0 - y) * (1.0 - p).ln()));
            }
            let dz = (&p - &y) * &w / b as f32;
            let dw2 = pass.h.t().dot(&dz);
            let db2 = Array1::from_elem(1, dz.sum());
            let mut dv = dz
                .insert_axis(Axis(1))
                .dot(&d.w2.view().insert_axis(Axis(0)));
            dv.zip_mut_with(&pass.v, |g, &a| *g = if a > 0.0 { *g } else { 0.0 });
            let dw1 = pass.x1.t().dot(&dv) + &d.w1 * l2;
            let db1 = dv.sum_axis(Axis(0));
            let dx1 = dv.dot(&d.w1.t());
            let mut du = Array2::<f32>::zeros((b * d.p, k));
            for ((r, mut g), u) in du.rows_mut().into_iter().enumerate().zip(pass.u.rows()) {
                let (e, q) = (r / d.p, d.cell[r % d.p]);
                for (j, (g, &a)) in g.iter_mut().zip(u).enumerate() {
                    if a > 0.0 {
                        *g = dx1[[e, q * k + j]] / d.count[q];
                    }
                }
            }
            let da = pass.xp.t().dot(&du) + &d.a * l2;
            let dab = du.sum_axis(Axis(0));
            t += 1;
            // Cosine decay from 1e-3.
            let lr = 1e-3
                * (0.5 * (1.0 + (std::f32::consts::PI * t as f32 / steps as f32).cos())).max(0.02);
            ma.step(&mut d.a, &da, lr, t);
            mab.step(&mut d.ab, &dab, lr, t);
            m1.step(&mut d.w1, &dw1, lr, t);
            mb1.step(&mut d.b1, &db1, lr, t);
            mw2.step(&mut d.w2, &dw2, lr, t);
            let mut b2 = Array1::from_elem(1, d.b2);
            mb2.step(&mut b2, &db2, lr, t);
            d.b2 = b2[0];
        }
        // Doubted (logit above 0) among the held-out examples: [digits, pieces] x [hidden, linear].
        let mut tally = [[0usize; 3]; 2];
        for (_, e) in &held {
            let f = row(e);
            let t = &mut tally[usize::from(e.0)];
            t[0] += 1;
            t[1] += usize::from(d.logit(f) > 0.0);
            t[2] += usize::from(side.head.doubt(f) > 0.0);
        }
        let pct = |t: &[usize; 3], k: usize| 100.0 * t[k] as f64 / t[0].max(1) as f64;
        eprintln!(
            "epoch {epoch}: loss {:.4}; held out: doubts {:.2}% of digits and {:.2}% of pieces (linear {:.2}% and {:.2}%), {:.0} s",
            loss / fit.len() as f64,
            pct(&tally[0], 1),
            pct(&tally[1], 1),
            pct(&tally[0], 2),
            pct(&tally[1], 2),
            clock.elapsed().as_secs_f32()
        );
    }
    drop((digits, pieces));
    // Numbers written with the held-out digits, as `tune_numbers` reads them.
    let count = first;
    let (tr, labels) = (&tr[..count], &train.labels[..count]);
    for (style, seeds) in [(Style::Picture, 2u64), (Style::Drawn, 3u64)] {
        let priors = numbers::priors(style);
        for hidden_output in [false, true] {
            let classify = |ws: &mut Workspace, x: &[f32]| -> Option<Prediction> {
                ws.input_mut(1).copy_from_slice(x);
                ws.forward(&net, Mode::Eval, &mut Rng::new(0));
                // The ten scores and the doubt's logit, as the exported model gives them.
                let mut logits = ws.activation(net.layers.len() - 1)[..CLASSES].to_vec();
                let f = ws.activation(layer);
                logits.push(if hidden_output {
                    d.logit(f)
                } else {
                    side.head.doubt(f)
                });
                let (mut probabilities, mut digit) = ([0f32; CLASSES], [0f32; CLASSES]);
                layers::doubt_probabilities(1, &logits, &mut probabilities);
                layers::softmax(1, CLASSES, &logits[..CLASSES], &mut digit);
                Some(Prediction {
                    probabilities,
                    digit,
                    one_digit: Some(sigmoid(-logits[CLASSES])),
                })
            };
            let read = |strokes: &[Stroke], rng: &mut Rng| -> String {
                let mut ws = Workspace::new(&net, 1);
                let mut classify = |x: &[f32]| classify(&mut ws, x);
                let mut reader = Reader::new(priors);
                let digits = match style {
                    Style::Picture => as_picture(strokes, rng)
                        .map(|ink| reader.ink(&ink, &mut classify))
                        .unwrap_or_default(),
                    _ => reader.strokes(&on_pad(strokes, rng), &mut classify),
                };
                number(&digits)
            };
            let (mut all, mut right_count, mut exact, mut lone, mut split) = (0, 0, 0, 0, 0);
            for s in 7..7 + seeds {
                let read_number = |(j, members): (usize, &Vec<usize>)| {
                    let mut rng = Rng::derive(s, &[0x6e75_6d62, style as u64, j as u64]);
                    let parts: Vec<&[Stroke]> = members.iter().map(|&i| tr[i].as_slice()).collect();
                    let (strokes, _) = compose(&parts, &mut rng);
                    let truth: String = members
                        .iter()
                        .map(|&i| (b'0' + labels[i]) as char)
                        .collect();
                    (truth, read(&strokes, &mut rng))
                };
                let outcomes: Vec<(String, String)> = numbers::numbers(count, s)
                    .par_iter()
                    .enumerate()
                    .map(read_number)
                    .collect();
                for (truth, got) in outcomes {
                    all += 1;
                    right_count += usize::from(truth.len() == got.len());
                    exact += usize::from(truth == got);
                }
                let splits: Vec<bool> = (0..count / 2)
                    .into_par_iter()
                    .map(|i| {
                        let mut rng = Rng::derive(s, &[0x006f_6e65, style as u64, i as u64]);
                        let (strokes, _) = compose(&[&tr[i]], &mut rng);
                        read(&strokes, &mut rng).len() != 1
                    })
                    .collect();
                lone += splits.len();
                split += splits.iter().filter(|&&s| s).count();
            }
            let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
            println!(
                "{style:?}, {} doubt output: exact {:.2}%  right count {:.2}%  lone digits split {:.2}%",
                if hidden_output {
                    "hidden-layer"
                } else {
                    "linear (shipped)"
                },
                pct(exact, all),
                pct(right_count, all),
                pct(split, lone)
            );
        }
    }
    Ok(())
}
