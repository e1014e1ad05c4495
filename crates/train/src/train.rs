//! The training loop: mini-batches split into fixed-size shards that run in parallel, each with
//! its own workspace and random stream, and gradients summed in shard order. The result depends
//! on the seed, never on the number of threads.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use digits_core::PIXELS;
use digits_core::report::Epoch;

use crate::augment::{self, Augment};
use crate::data::Dataset;
use crate::net::{CLASSES, Mode, Network, Workspace};
use crate::optim::{Optimizer, OptimizerKind, Schedule};
use crate::rng::Rng;

/// Images per shard: the unit of parallel work (and of batch-norm statistics while training).
pub const SHARD: usize = 32;

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
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// A thread pool with one workspace per shard of a batch.
pub struct Engine {
    pool: rayon::ThreadPool,
    workspaces: Vec<Workspace>,
}

impl Engine {
    pub fn new(net: &Network, batch: usize, threads: usize) -> anyhow::Result<Engine> {
        let shards = batch.div_ceil(SHARD).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()?;
        Ok(Engine {
            pool,
            workspaces: (0..shards).map(|_| Workspace::new(net, SHARD)).collect(),
        })
    }

    /// Predicted class of every image of `images` (inference mode).
    pub fn classify(&mut self, net: &Network, images: &[f32]) -> Vec<u8> {
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
                        ws.input_mut(x.len() / PIXELS).copy_from_slice(x);
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
    pub fn accuracy(&mut self, net: &Network, data: &Dataset) -> f64 {
        if data.is_empty() {
            return 0.0;
        }
        let pred = self.classify(net, &data.images);
        let correct = pred
            .iter()
            .zip(&data.labels)
            .filter(|(a, b)| a == b)
            .count();
        correct as f64 / data.len() as f64
    }

    /// One optimization step on the images `batch` (indices into `data`): forward, backward,
    /// gradient sum over shards. Returns (summed loss, correct) and leaves the summed gradient in
    /// `grads`.
    #[allow(clippy::too_many_arguments)]
    pub fn step_gradients(
        &mut self,
        net: &Network,
        data: &Dataset,
        batch: &[u32],
        augment: &Augment,
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
                    for (dst, &i) in input.chunks_exact_mut(PIXELS).zip(idx) {
                        augment::distort(augment, data.image(i as usize), dst, &mut rng);
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

/// Trains a network on `train`, reporting accuracy on `val` and `test` (either may be empty)
/// after each epoch through `on_epoch`.
pub fn train(
    cfg: &TrainConfig,
    train: &Dataset,
    val: &Dataset,
    test: &Dataset,
    mut on_epoch: impl FnMut(&Epoch),
) -> anyhow::Result<Trained> {
    anyhow::ensure!(!train.is_empty(), "no training images");
    anyhow::ensure!(cfg.batch >= 1, "--batch must be at least 1");
    anyhow::ensure!(cfg.epochs >= 1, "--epochs must be at least 1");
    anyhow::ensure!(
        cfg.lr.is_finite() && cfg.lr > 0.0,
        "--lr must be a positive number"
    );
    let mut net = Network::new(&cfg.arch, cfg.seed)?;
    let mut engine = Engine::new(&net, cfg.batch, cfg.threads)?;
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
