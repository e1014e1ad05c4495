//! The training loop: mini-batches split into fixed-size shards that run in parallel, each with
//! its own workspace and random stream, and gradients summed in shard order. The result depends
//! on the seed, never on the number of threads.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use digits_core::PIXELS;
use digits_core::idx::Labelled;
use digits_core::model::to_input_into;
use digits_core::preprocess::Stroke;
use digits_core::report::Epoch;

use crate::augment::{self, Augment};
use crate::net::{CLASSES, Mode, Network, Workspace};
use crate::optim::{Optimizer, OptimizerKind, Schedule};
use crate::pen::Style;
use crate::rng::Rng;

/// Images per shard: the unit of parallel work (and of batch-norm statistics while training).
pub const SHARD: usize = 32;

/// The most memory a training run may use for its workspaces, parameters, gradients and
/// optimizer state; a larger run is refused before anything is allocated, with its estimate.
pub const MAX_TRAINING_BYTES: usize = 8 << 30;

/// Everything that decides a training run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub arch: String,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub seed: u64,
    pub threads: usize,
    pub optimizer: OptimizerKind,
    pub schedule: Schedule,
    pub weight_decay: f32,
    pub smoothing: f32,
    pub augment: Augment,
    /// Share of training images shown as their traced strokes redrawn with a pen (on the pad or
    /// as a picture, [`crate::pen`]) instead of the scan; 0 = scans only.
    pub pen: f32,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl TrainConfig {
    /// Refuses settings that cannot train: each error names the option and what it takes.
    pub fn check(&self) -> anyhow::Result<()> {
        let in_range = |v: f32, lo: f32, hi: f32| v.is_finite() && v >= lo && v < hi;
        anyhow::ensure!(self.batch >= 1, "--batch must be at least 1");
        anyhow::ensure!(self.epochs >= 1, "--epochs must be at least 1");
        anyhow::ensure!(self.threads >= 1, "--threads must be at least 1");
        anyhow::ensure!(
            self.lr.is_finite() && self.lr > 0.0,
            "--lr must be a positive number, got {}",
            self.lr
        );
        anyhow::ensure!(
            in_range(self.weight_decay, 0.0, f32::INFINITY),
            "--weight-decay must be a number of at least 0, got {}",
            self.weight_decay
        );
        anyhow::ensure!(
            in_range(self.smoothing, 0.0, 1.0),
            "--smoothing must be at least 0 and below 1, got {}",
            self.smoothing
        );
        anyhow::ensure!(
            in_range(self.augment.elastic, 0.0, f32::INFINITY),
            "--elastic must be a number of at least 0 pixels, got {}",
            self.augment.elastic
        );
        anyhow::ensure!(
            self.pen.is_finite() && (0.0..=1.0).contains(&self.pen),
            "--pen must be a share from 0 to 1, got {}",
            self.pen
        );
        Ok(())
    }
}

/// The traced strokes of the training images, and the share of images redrawn from them.
#[derive(Clone, Copy, Debug)]
pub struct Pen<'a> {
    pub traces: &'a [Vec<Stroke>],
    pub share: f32,
}

impl Pen<'_> {
    /// Image `i` redrawn from its strokes, with probability `share` (a drawing on the pad or a
    /// picture, half each); `None` keeps the scan.
    fn redraw(&self, i: usize, rng: &mut Rng) -> Option<Vec<f32>> {
        if rng.uniform() >= self.share {
            return None;
        }
        let style = if rng.uniform() < 0.5 {
            Style::Drawn
        } else {
            Style::Picture
        };
        style.render(&self.traces[i], rng)
    }
}

/// `bytes` for people: 1.5 GB, 320 MB, 12 KB.
fn human_bytes(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else {
        format!("{:.0} KB", b / 1e3)
    }
}

/// A thread pool with one workspace per shard of a batch.
pub struct Engine {
    pool: rayon::ThreadPool,
    workspaces: Vec<Workspace>,
}

impl Engine {
    /// An engine for batches of up to `batch` images. Refuses (before allocating) a network
    /// and batch whose memory would pass [`MAX_TRAINING_BYTES`].
    pub fn new(net: &Network, batch: usize, threads: usize) -> anyhow::Result<Engine> {
        let shards = batch.div_ceil(SHARD).max(1);
        let workspace = Workspace::bytes(net, SHARD);
        // Besides the workspaces: the parameters, the summed gradient and two optimizer moments.
        let needed = shards
            .saturating_mul(workspace)
            .saturating_add(net.param_count().saturating_mul(16));
        anyhow::ensure!(
            needed <= MAX_TRAINING_BYTES,
            "training this network in batches of {batch} would need about {} of memory ({shards} workspaces of {} each), more than the {} limit: use a smaller --batch or a smaller --arch",
            human_bytes(needed),
            human_bytes(workspace),
            human_bytes(MAX_TRAINING_BYTES)
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()?;
        Ok(Engine {
            pool,
            workspaces: (0..shards).map(|_| Workspace::new(net, SHARD)).collect(),
        })
    }

    /// Predicted class of every image of `images` (28x28 bytes each, 0 = paper; inference mode).
    pub fn classify(&mut self, net: &Network, images: &[u8]) -> Vec<u8> {
        let n = images.len() / PIXELS;
        let mut out = vec![0u8; n];
        let group = self.workspaces.len() * SHARD;
        for (imgs, preds) in images.chunks(group * PIXELS).zip(out.chunks_mut(group)) {
            self.pool.install(|| {
                self.workspaces
                    .par_iter_mut()
                    .zip(imgs.par_chunks(SHARD * PIXELS))
                    .zip(preds.par_chunks_mut(SHARD))
                    .for_each(|((ws, x), p)| {
                        to_input_into(x, ws.input_mut(x.len() / PIXELS));
                        ws.forward(net, Mode::Eval, &mut Rng::new(0));
                        for (pi, l) in p.iter_mut().zip(ws.logits().chunks_exact(CLASSES)) {
                            *pi = digits_core::metrics::argmax(l).unwrap_or(0) as u8;
                        }
                    })
            });
        }
        out
    }

    /// Accuracy of `net` on `data`.
    pub fn accuracy(&mut self, net: &Network, data: &Labelled) -> f64 {
        if data.is_empty() {
            return 0.0;
        }
        let pred = self.classify(net, &data.images.pixels);
        let correct = pred
            .iter()
            .zip(&data.labels)
            .filter(|(a, b)| a == b)
            .count();
        correct as f64 / data.len() as f64
    }

    /// One optimization step on the images `batch` (indices into `data`): forward, backward,
    /// gradient sum over shards; with `pen`, some images are redrawn from their strokes first.
    /// Returns (summed loss, correct) and leaves the summed gradient in `grads`.
    #[allow(clippy::too_many_arguments)]
    pub fn step_gradients(
        &mut self,
        net: &Network,
        data: &Labelled,
        batch: &[u32],
        augment: &Augment,
        pen: Option<Pen<'_>>,
        smoothing: f32,
        seed: u64,
        step: u64,
        grads: &mut [f32],
    ) -> (f64, usize) {
        let scale = 1.0 / batch.len() as f32;
        let used = batch.len().div_ceil(SHARD);
        let results: Vec<(f64, usize)> = self.pool.install(|| {
            self.workspaces[..used]
                .par_iter_mut()
                .zip(batch.par_chunks(SHARD))
                .enumerate()
                .map(|(k, (ws, idx))| {
                    let mut rng = Rng::derive(seed, &[2, step, k as u64]);
                    let input = ws.input_mut(idx.len());
                    let mut src = [0.0; PIXELS];
                    for (dst, &i) in input.chunks_exact_mut(PIXELS).zip(idx) {
                        match pen.and_then(|p| p.redraw(i as usize, &mut rng)) {
                            Some(drawn) => src.copy_from_slice(&drawn),
                            None => data.input_into(i as usize, &mut src),
                        }
                        augment::distort(augment, &src, dst, &mut rng);
                    }
                    for (l, &i) in ws.labels.iter_mut().zip(idx) {
                        *l = data.labels[i as usize];
                    }
                    ws.forward(net, Mode::Train, &mut rng);
                    ws.backward(net, smoothing, scale)
                })
                .collect()
        });
        grads.copy_from_slice(&self.workspaces[0].grads);
        for ws in &self.workspaces[1..used] {
            for (g, w) in grads.iter_mut().zip(&ws.grads) {
                *g += w;
            }
        }
        results
            .iter()
            .fold((0.0, 0), |(l, c), &(l2, c2)| (l + l2, c + c2))
    }

    pub fn workspaces(&self, used: usize) -> &[Workspace] {
        &self.workspaces[..used]
    }
}

/// A finished training run.
pub struct Trained {
    pub net: Network,
    pub epochs: Vec<Epoch>,
    /// Wall-clock seconds of the whole run, evaluation included.
    pub seconds: f64,
    /// Training images per second over all epochs (evaluation excluded).
    pub images_per_sec: f64,
}

/// Trains a network on `train` (with `traces`, its images' strokes, when `cfg.pen` is above
/// 0), reporting accuracy on `val` and `test` (either may be empty) after each epoch through
/// `on_epoch`.
pub fn train(
    cfg: &TrainConfig,
    train: &Labelled,
    traces: Option<&[Vec<Stroke>]>,
    val: &Labelled,
    test: &Labelled,
    mut on_epoch: impl FnMut(&Epoch),
) -> anyhow::Result<Trained> {
    anyhow::ensure!(!train.is_empty(), "no training images");
    cfg.check()?;
    let pen = match traces {
        _ if cfg.pen == 0.0 => None,
        Some(t) if t.len() == train.len() => Some(Pen {
            traces: t,
            share: cfg.pen,
        }),
        _ => anyhow::bail!("--pen needs the strokes of every training image"),
    };
    let mut net = Network::new(&cfg.arch, cfg.seed)?;
    // Workspaces for the largest batch the data allows, not for `--batch` itself.
    let mut engine = Engine::new(&net, cfg.batch.min(train.len()), cfg.threads)?;
    let mut opt = Optimizer::new(
        cfg.optimizer,
        net.param_count(),
        &net.decayed(),
        cfg.weight_decay,
    );
    let mut grads = vec![0.0; net.param_count()];
    let mut order: Vec<u32> = (0..train.len() as u32).collect();
    let steps_per_epoch = train.len().div_ceil(cfg.batch);
    let total_steps = steps_per_epoch * cfg.epochs;
    let start = Instant::now();
    let mut train_seconds = 0.0;
    let mut history = Vec::new();
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        Rng::derive(cfg.seed, &[1, epoch as u64]).shuffle(&mut order);
        let bar = if cfg.progress {
            ProgressBar::new(train.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} loss {msg} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
        let t0 = Instant::now();
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for (b, batch) in order.chunks(cfg.batch).enumerate() {
            let (loss, c) = engine.step_gradients(
                &net,
                train,
                batch,
                &cfg.augment,
                pen,
                cfg.smoothing,
                cfg.seed,
                step as u64,
                &mut grads,
            );
            let lr = cfg.schedule.lr(cfg.lr, step, total_steps);
            opt.step(&mut net.params, &grads, lr);
            net.update_running_stats(engine.workspaces(batch.len().div_ceil(SHARD)));
            loss_sum += loss;
            correct += c;
            step += 1;
            bar.inc(batch.len() as u64);
            if b % 16 == 0 {
                bar.set_message(format!("{:.4}", loss / batch.len() as f64));
            }
            anyhow::ensure!(
                loss.is_finite(),
                "training diverged at epoch {epoch} (loss is {loss}); try a lower --lr"
            );
        }
        bar.finish_and_clear();
        anyhow::ensure!(
            net.params.iter().chain(&net.state).all(|v| v.is_finite()),
            "training diverged at epoch {epoch}: the weights are no longer finite numbers; try a lower --lr"
        );
        let secs = t0.elapsed().as_secs_f64();
        train_seconds += secs;
        let stats = Epoch {
            epoch,
            loss: loss_sum / train.len() as f64,
            train_accuracy: correct as f64 / train.len() as f64,
            val_accuracy: (!val.is_empty()).then(|| engine.accuracy(&net, val)),
            test_accuracy: (!test.is_empty()).then(|| engine.accuracy(&net, test)),
            elapsed_seconds: start.elapsed().as_secs_f64(),
            images_per_sec: train.len() as f64 / secs,
        };
        on_epoch(&stats);
        history.push(stats);
    }
    Ok(Trained {
        net,
        epochs: history,
        seconds: start.elapsed().as_secs_f64(),
        images_per_sec: (train.len() * cfg.epochs) as f64 / train_seconds,
    })
}
