//! The training loop: mini-batches split into fixed-size shards that run in parallel, each with
//! its own workspace and random stream, and gradients summed in shard order. The result depends
//! on the seed, never on the number of threads.

#[cfg(feature = "cli")]
use indicatif::{ProgressBar, ProgressStyle};
#[cfg(feature = "cli")]
use rayon::prelude::*;

use digits_core::PIXELS;
use digits_core::idx::Labelled;
use digits_core::input::to_input_into;
use digits_core::preprocess::Stroke;
use digits_core::report::Epoch;

use crate::augment::{self, Augment};
use crate::clock::Clock;
use crate::net::{CLASSES, Mode, Network, Workspace};
use crate::optim::{Optimizer, OptimizerKind, Schedule};
use crate::pen::Style;
use crate::rng::Rng;

/// The label of a training image that is not one digit: its target is the even distribution
/// over the classes ([`crate::layers::softmax_cross_entropy`]).
pub const NOT_A_DIGIT: u8 = CLASSES as u8;

/// Images per shard: the unit of parallel work (and of batch-norm statistics while training).
pub const SHARD: usize = 32;

/// The most memory a training run may use for its workspaces, parameters, gradients and
/// optimizer state; a larger run is refused before anything is allocated, with its estimate.
#[cfg(target_pointer_width = "64")]
pub const MAX_TRAINING_BYTES: usize = 8 << 30;
/// In 32-bit wasm a page has at most 4 GiB of memory, and browsers give a tab far less.
#[cfg(not(target_pointer_width = "64"))]
pub const MAX_TRAINING_BYTES: usize = 1 << 30;

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
    /// Whether the images redrawn with the pen are turned and sheared as strokes before they
    /// are drawn ([`crate::augment::warp_strokes`]), instead of distorted as images after.
    pub pen_warp: bool,
    /// Share of training images replaced by pieces of numbers that are not one digit (two
    /// digits or more read together, [`Pen::not_digits`]), trained towards the even
    /// distribution so the model is unsure of them, or, for a network ending with `fc11`,
    /// towards its eleventh output ([`crate::layers::doubt_cross_entropy`]); 0 = none.
    pub not_digits: f32,
    /// Average the weights over the steps of this many last epochs, then measure the
    /// batch-norm statistics again ([`WeightAverage`]); 0 = the last step's weights.
    pub average_last: usize,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl TrainConfig {
    /// Refuses settings that cannot train a new network of `arch`: each error names the option
    /// and what it takes.
    pub fn check(&self) -> anyhow::Result<()> {
        self.check_settings()?;
        let doubt = crate::spec::parse(&self.arch)
            .ok()
            .and_then(|layers| layers.last().map(|(_, _, out)| out.c == CLASSES + 1))
            .unwrap_or(false);
        anyhow::ensure!(
            !doubt || self.not_digits > 0.0,
            "--arch ends with fc11, a \"not one digit\" output: it needs --not-digits above 0 (the pieces it learns that from)"
        );
        Ok(())
    }

    /// [`TrainConfig::check`] for a run that goes on from a network's weights (fine-tuning a
    /// network with a doubt output trains it on digits alone, as it should).
    pub fn check_settings(&self) -> anyhow::Result<()> {
        let in_range = |v: f32, lo: f32, hi: f32| v.is_finite() && v >= lo && v < hi;
        anyhow::ensure!(self.batch >= 1, "--batch must be at least 1");
        anyhow::ensure!(self.epochs >= 1, "--epochs must be at least 1");
        anyhow::ensure!(
            self.average_last <= self.epochs,
            "--average-last must be at most --epochs ({}), got {}",
            self.epochs,
            self.average_last
        );
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
            in_range(self.augment.shift, 0.0, 14.0),
            "--shift must be at least 0 and below 14 pixels, got {}",
            self.augment.shift
        );
        anyhow::ensure!(
            in_range(self.augment.scale, 0.0, 0.5),
            "--scale must be a share of at least 0 and below 0.5, got {}",
            self.augment.scale
        );
        anyhow::ensure!(
            self.augment.rotate_deg.is_finite() && (0.0..=180.0).contains(&self.augment.rotate_deg),
            "--rotate must be from 0 to 180 degrees, got {}",
            self.augment.rotate_deg
        );
        anyhow::ensure!(
            in_range(self.augment.shear, 0.0, 1.0),
            "--shear must be at least 0 and below 1, got {}",
            self.augment.shear
        );
        anyhow::ensure!(
            self.augment.thickness.is_finite() && (0.0..=1.0).contains(&self.augment.thickness),
            "--thickness must be from 0 to 1, got {}",
            self.augment.thickness
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
        anyhow::ensure!(
            in_range(self.not_digits, 0.0, 1.0),
            "--not-digits must be a share from 0 to below 1, got {}",
            self.not_digits
        );
        Ok(())
    }
}

/// The traced strokes of the training images, and the share of images redrawn from them; and
/// pieces of numbers that are not one digit, and the share of images they replace.
#[derive(Clone, Copy, Debug)]
pub struct Pen<'a> {
    pub traces: &'a [Vec<Stroke>],
    pub share: f32,
    /// Turn and shear the strokes before drawing them (by the run's augmentation), and leave
    /// the drawn image as it is, instead of distorting it as a scan is.
    pub warp: bool,
    /// 28x28 bytes each ([`crate::not_digits`]); may be empty.
    pub not_digits: &'a [u8],
    pub not_digit_share: f32,
}

impl<'a> Pen<'a> {
    /// With probability `not_digit_share`, one of the pieces that are not a digit, at random;
    /// draws nothing from `rng` when there are none (runs without them stay as they were).
    fn not_digit(&self, rng: &mut Rng) -> Option<&'a [u8]> {
        let count = self.not_digits.len() / PIXELS;
        if count == 0 || self.not_digit_share <= 0.0 || rng.uniform() >= self.not_digit_share {
            return None;
        }
        let k = rng.below(count);
        Some(&self.not_digits[k * PIXELS..(k + 1) * PIXELS])
    }

    /// Image `i` redrawn from its strokes, with probability `share` (a drawing on the pad or a
    /// picture, half each); `None` keeps the scan. With `warp`, its strokes are first turned
    /// and sheared by `augment` and the drawing is final; without, it is still to be distorted
    /// as a scan is.
    fn redraw(&self, i: usize, rng: &mut Rng, augment: &Augment) -> Option<Redrawn> {
        if rng.uniform() >= self.share {
            return None;
        }
        let style = if rng.uniform() < 0.5 {
            Style::Drawn
        } else {
            Style::Picture
        };
        Some(if self.warp {
            let warped = augment::warp_strokes(augment, &self.traces[i], rng);
            Redrawn::Final(style.render(&warped, rng)?)
        } else {
            Redrawn::ToDistort(style.render(&self.traces[i], rng)?)
        })
    }
}

/// A training image redrawn with the pen ([`Pen::redraw`]).
enum Redrawn {
    /// Drawn from warped strokes, as the page draws: not resampled again.
    Final(Vec<f32>),
    /// To be distorted as a scan is.
    ToDistort(Vec<f32>),
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

/// One workspace per shard of a batch, and (with the `cli` feature) a thread pool that runs
/// the shards in parallel; without it they run one after the other.
pub struct Engine {
    #[cfg(feature = "cli")]
    pool: rayon::ThreadPool,
    workspaces: Vec<Workspace>,
}

/// What one shard of a training step gives back, to be combined with the others in shard
/// order ([`combine`], [`Network::update_running_stats`]): whoever computed it (a thread of the
/// pool, a worker of the page), the step comes out the same.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardResult {
    /// The shard's gradient (already scaled by 1 / the whole batch size).
    pub grads: Vec<f32>,
    /// Its batch-norm statistics ([`Workspace::bn_stats`]).
    pub bn: Vec<f32>,
    /// Summed loss and correct predictions over its images.
    pub loss: f64,
    pub correct: usize,
}

/// Which images a shard of a step trains on, and everything that decides its randomness.
#[derive(Clone, Copy, Debug)]
pub struct ShardJob<'a> {
    pub idx: &'a [u32],
    pub augment: &'a Augment,
    pub pen: Option<Pen<'a>>,
    pub smoothing: f32,
    pub seed: u64,
    pub step: u64,
    /// Its index within the step (the random stream is (seed, step, shard)).
    pub shard: usize,
    /// 1 / the number of images in the whole step.
    pub scale: f32,
}

impl<'a> ShardJob<'a> {
    /// The jobs of one step on the images `batch`, in shard order.
    pub fn split(
        batch: &'a [u32],
        augment: &'a Augment,
        pen: Option<Pen<'a>>,
        smoothing: f32,
        seed: u64,
        step: u64,
    ) -> Vec<ShardJob<'a>> {
        let scale = 1.0 / batch.len() as f32;
        batch
            .chunks(SHARD)
            .enumerate()
            .map(|(shard, idx)| ShardJob {
                idx,
                augment,
                pen,
                smoothing,
                seed,
                step,
                shard,
                scale,
            })
            .collect()
    }
}

/// One shard of a training step: images `job.idx` of `data` (some redrawn with the pen),
/// distorted, forward and backward through `net` in `ws`, with the random stream of (seed,
/// step, shard).
pub fn shard(
    ws: &mut Workspace,
    net: &Network,
    data: &Labelled,
    job: &ShardJob<'_>,
) -> ShardResult {
    let mut rng = Rng::derive(job.seed, &[2, job.step, job.shard as u64]);
    let input = ws.input_mut(job.idx.len());
    let mut src = [0.0; PIXELS];
    let mut labels = Vec::with_capacity(job.idx.len());
    for (dst, &i) in input.chunks_exact_mut(PIXELS).zip(job.idx) {
        let mut label = data.labels[i as usize];
        // Whether the image is still to be distorted as a scan is (else it is final as drawn).
        let to_distort = if let Some(piece) = job.pen.and_then(|p| p.not_digit(&mut rng)) {
            for (s, &b) in src.iter_mut().zip(piece) {
                *s = b as f32 / 255.0;
            }
            label = NOT_A_DIGIT;
            true
        } else {
            match job
                .pen
                .and_then(|p| p.redraw(i as usize, &mut rng, job.augment))
            {
                Some(Redrawn::Final(drawn)) => {
                    dst.copy_from_slice(&drawn);
                    false
                }
                Some(Redrawn::ToDistort(drawn)) => {
                    src.copy_from_slice(&drawn);
                    true
                }
                None => {
                    data.input_into(i as usize, &mut src);
                    true
                }
            }
        };
        if to_distort {
            augment::distort(job.augment, &src, dst, &mut rng);
        }
        labels.push(label);
    }
    ws.labels[..labels.len()].copy_from_slice(&labels);
    ws.forward(net, Mode::Train, &mut rng);
    let (loss, correct) = ws.backward(net, job.smoothing, job.scale);
    ShardResult {
        grads: ws.grads.clone(),
        bn: ws.bn_stats(net),
        loss,
        correct,
    }
}

/// The step's gradient: the shards' gradients summed in shard order into `grads`. Returns the
/// summed loss and correct predictions.
pub fn combine(results: &[ShardResult], grads: &mut [f32]) -> (f64, usize) {
    grads.fill(0.0);
    for r in results {
        for (g, w) in grads.iter_mut().zip(&r.grads) {
            *g += w;
        }
    }
    results
        .iter()
        .fold((0.0, 0), |(l, c), r| (l + r.loss, c + r.correct))
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
        #[cfg(not(feature = "cli"))]
        let _ = threads;
        Ok(Engine {
            #[cfg(feature = "cli")]
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads.max(1))
                .build()?,
            workspaces: (0..shards).map(|_| Workspace::new(net, SHARD)).collect(),
        })
    }

    /// `f(k, workspace k)` for the first `used` workspaces (at most one per shard of the largest
    /// batch), in parallel where there is a pool; the results in shard order.
    pub fn each<T: Send>(
        &mut self,
        used: usize,
        f: impl Fn(usize, &mut Workspace) -> T + Sync + Send,
    ) -> Vec<T> {
        let workspaces = &mut self.workspaces[..used];
        #[cfg(feature = "cli")]
        {
            self.pool.install(|| {
                workspaces
                    .par_iter_mut()
                    .enumerate()
                    .map(|(k, ws)| f(k, ws))
                    .collect()
            })
        }
        #[cfg(not(feature = "cli"))]
        {
            workspaces
                .iter_mut()
                .enumerate()
                .map(|(k, ws)| f(k, ws))
                .collect()
        }
    }

    /// Predicted class of every image of `images` (28x28 bytes each, 0 = paper; inference mode).
    pub fn classify(&mut self, net: &Network, images: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(images.len() / PIXELS);
        let group = self.workspaces.len() * SHARD;
        for imgs in images.chunks(group * PIXELS) {
            let shards: Vec<&[u8]> = imgs.chunks(SHARD * PIXELS).collect();
            let labels = self.each(shards.len(), |k, ws| {
                let x = shards[k];
                to_input_into(x, ws.input_mut(x.len() / PIXELS));
                ws.forward(net, Mode::Eval, &mut Rng::new(0));
                ws.digit_logits()
                    .map(|l| digits_core::metrics::argmax(l).unwrap_or(0) as u8)
                    .collect::<Vec<u8>>()
            });
            out.extend(labels.into_iter().flatten());
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

    /// The shards of one optimization step on the images `batch` (indices into `data`), in
    /// shard order; with `pen`, some images are redrawn from their strokes first.
    #[allow(clippy::too_many_arguments)]
    pub fn shards(
        &mut self,
        net: &Network,
        data: &Labelled,
        batch: &[u32],
        augment: &Augment,
        pen: Option<Pen<'_>>,
        smoothing: f32,
        seed: u64,
        step: u64,
    ) -> Vec<ShardResult> {
        let jobs = ShardJob::split(batch, augment, pen, smoothing, seed, step);
        self.each(jobs.len(), |k, ws| shard(ws, net, data, &jobs[k]))
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

/// A training run driven one step at a time: it says which images the next step trains on,
/// and takes the step's [`ShardResult`]s (computed by an [`Engine`], or by a page's workers) to
/// update the network. [`train`] is this loop with an engine; the page runs the same.
pub struct Run {
    pub net: Network,
    cfg: TrainConfig,
    opt: Optimizer,
    grads: Vec<f32>,
    /// The training images' order this epoch, and the next batch's place in it.
    order: Vec<u32>,
    at: usize,
    /// The epoch under way (from 1) and the optimizer steps taken so far.
    pub epoch: usize,
    step: usize,
    total_steps: usize,
    loss_sum: f64,
    correct: usize,
}

/// What an epoch measured on the training batches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochSums {
    /// Mean loss per image.
    pub loss: f64,
    pub accuracy: f64,
}

impl Run {
    /// A run of `cfg` on `images` training images (the settings checked first).
    pub fn new(cfg: &TrainConfig, images: usize) -> anyhow::Result<Run> {
        cfg.check()?;
        let net = Network::new(&cfg.arch, cfg.seed)?;
        Run::from_network(cfg, net, images)
    }

    /// A run of `cfg` that starts from `net`'s weights (fine-tuning) instead of new ones.
    pub fn from_network(cfg: &TrainConfig, net: Network, images: usize) -> anyhow::Result<Run> {
        anyhow::ensure!(images > 0, "no training images");
        cfg.check_settings()?;
        let opt = Optimizer::new(
            cfg.optimizer,
            net.param_count(),
            &net.decayed(),
            cfg.weight_decay,
        );
        let mut order: Vec<u32> = (0..images as u32).collect();
        Rng::derive(cfg.seed, &[1, 1]).shuffle(&mut order);
        Ok(Run {
            grads: vec![0.0; net.param_count()],
            net,
            cfg: cfg.clone(),
            opt,
            order,
            at: 0,
            epoch: 1,
            step: 0,
            total_steps: images.div_ceil(cfg.batch) * cfg.epochs,
            loss_sum: 0.0,
            correct: 0,
        })
    }

    /// The images (indices) of the epoch's next step; `None` when the epoch is done.
    pub fn next_batch(&self) -> Option<&[u32]> {
        let end = (self.at + self.cfg.batch).min(self.order.len());
        (self.at < end).then(|| &self.order[self.at..end])
    }

    /// The jobs of the next step's shards, in shard order (`None` when the epoch is done).
    pub fn jobs<'a>(
        &'a self,
        augment: &'a Augment,
        pen: Option<Pen<'a>>,
    ) -> Option<Vec<ShardJob<'a>>> {
        let batch = self.next_batch()?;
        Some(ShardJob::split(
            batch,
            augment,
            pen,
            self.cfg.smoothing,
            self.cfg.seed,
            self.step as u64,
        ))
    }

    /// Takes the next step on this thread, its shards shared out over `workspaces` in turn (as
    /// a page shares them out over its workers; the result does not depend on how many):
    /// `None` when the epoch is done, else the step's summed loss and correct predictions.
    pub fn step_on(
        &mut self,
        workspaces: &mut [Workspace],
        data: &Labelled,
        augment: &Augment,
        pen: Option<Pen<'_>>,
    ) -> Option<anyhow::Result<(f64, usize)>> {
        if workspaces.is_empty() {
            return Some(Err(anyhow::anyhow!("no workspace to train in")));
        }
        let jobs = self.jobs(augment, pen)?;
        let count = workspaces.len();
        let results: Vec<ShardResult> = jobs
            .iter()
            .map(|job| shard(&mut workspaces[job.shard % count], &self.net, data, job))
            .collect();
        Some(self.apply(&results))
    }

    /// The optimizer steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Applies the next step from its shards' results, in shard order: the summed gradient
    /// through the optimizer, the batch-norm statistics into the running ones. Returns the
    /// step's summed loss and correct predictions.
    pub fn apply(&mut self, results: &[ShardResult]) -> anyhow::Result<(f64, usize)> {
        let images = self.next_batch().map_or(0, <[u32]>::len);
        anyhow::ensure!(
            images > 0 && results.len() == images.div_ceil(SHARD),
            "a step of {images} images needs {} shard results, got {}",
            images.div_ceil(SHARD),
            results.len()
        );
        anyhow::ensure!(
            results.iter().all(|r| r.grads.len() == self.grads.len()),
            "a shard result is for another network"
        );
        let (loss, correct) = combine(results, &mut self.grads);
        anyhow::ensure!(
            loss.is_finite(),
            "training diverged at epoch {} (loss is {loss}); try a lower --lr",
            self.epoch
        );
        let lr = self
            .cfg
            .schedule
            .lr(self.cfg.lr, self.step, self.total_steps);
        self.opt.step(&mut self.net.params, &self.grads, lr);
        let stats: Vec<&[f32]> = results.iter().map(|r| r.bn.as_slice()).collect();
        self.net.update_running_stats(&stats);
        self.loss_sum += loss;
        self.correct += correct;
        self.step += 1;
        self.at += images;
        Ok((loss, correct))
    }

    /// Ends the epoch once its steps are done: checks the weights, and starts the next epoch
    /// (its own order of the images). Returns what the epoch measured on its batches.
    pub fn end_epoch(&mut self) -> anyhow::Result<EpochSums> {
        anyhow::ensure!(self.next_batch().is_none(), "the epoch has steps left");
        anyhow::ensure!(
            self.net
                .params
                .iter()
                .chain(&self.net.state)
                .all(|v| v.is_finite()),
            "training diverged at epoch {}: the weights are no longer finite numbers; try a lower --lr",
            self.epoch
        );
        let n = self.order.len() as f64;
        let sums = EpochSums {
            loss: self.loss_sum / n,
            accuracy: self.correct as f64 / n,
        };
        self.epoch += 1;
        Rng::derive(self.cfg.seed, &[1, self.epoch as u64]).shuffle(&mut self.order);
        self.at = 0;
        self.loss_sum = 0.0;
        self.correct = 0;
        Ok(sums)
    }
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
    on_epoch: impl FnMut(&Epoch),
) -> anyhow::Result<Trained> {
    train_with(cfg, train, traces, &[], val, test, on_epoch)
}

/// [`train`], with `not_digits` (28x28 bytes each, [`crate::not_digits`]) replacing a share
/// `cfg.not_digits` of the training images.
pub fn train_with(
    cfg: &TrainConfig,
    train: &Labelled,
    traces: Option<&[Vec<Stroke>]>,
    not_digits: &[u8],
    val: &Labelled,
    test: &Labelled,
    mut on_epoch: impl FnMut(&Epoch),
) -> anyhow::Result<Trained> {
    anyhow::ensure!(!train.is_empty(), "no training images");
    cfg.check()?;
    anyhow::ensure!(
        cfg.not_digits == 0.0 || not_digits.len() >= PIXELS,
        "--not-digits needs pieces of numbers to train on, and there are none"
    );
    let pen = match traces {
        _ if cfg.pen == 0.0 && cfg.not_digits == 0.0 => None,
        Some(t) if t.len() == train.len() => Some(Pen {
            traces: t,
            share: cfg.pen,
            warp: cfg.pen_warp,
            not_digits,
            not_digit_share: cfg.not_digits,
        }),
        _ => anyhow::bail!("--pen and --not-digits need the strokes of every training image"),
    };
    let mut run = Run::new(cfg, train.len())?;
    // Workspaces for the largest batch the data allows, not for `--batch` itself.
    let mut engine = Engine::new(&run.net, cfg.batch.min(train.len()), cfg.threads)?;
    let start = Clock::start();
    let mut train_seconds = 0.0;
    let mut history = Vec::new();
    let mut average = (cfg.average_last > 0).then(|| WeightAverage::new(run.net.params.len()));
    for epoch in 1..=cfg.epochs {
        let bar = Bar::new(cfg, epoch, train.len());
        let t0 = Clock::start();
        let mut b = 0;
        let averaged = epoch + cfg.average_last > cfg.epochs;
        while let Some(jobs) = run.jobs(&cfg.augment, pen) {
            let images = jobs.iter().map(|j| j.idx.len()).sum();
            let net = &run.net;
            let results = engine.each(jobs.len(), |k, ws| shard(ws, net, train, &jobs[k]));
            let (loss, _) = run.apply(&results)?;
            if let Some(a) = average.as_mut().filter(|_| averaged) {
                a.add(&run.net.params);
            }
            bar.advance(b, images, loss);
            b += 1;
        }
        if epoch == cfg.epochs
            && let Some(mean) = average.take().and_then(|a| a.mean())
        {
            run.net.params = mean;
            recalibrate(&mut engine, &mut run, train, &cfg.augment, pen);
        }
        bar.finish();
        let sums = run.end_epoch()?;
        let secs = t0.seconds();
        train_seconds += secs;
        let stats = Epoch {
            epoch,
            loss: sums.loss,
            train_accuracy: sums.accuracy,
            val_accuracy: (!val.is_empty()).then(|| engine.accuracy(&run.net, val)),
            test_accuracy: (!test.is_empty()).then(|| engine.accuracy(&run.net, test)),
            elapsed_seconds: start.seconds(),
            images_per_sec: train.len() as f64 / secs,
        };
        on_epoch(&stats);
        history.push(stats);
    }
    Ok(Trained {
        net: run.net,
        epochs: history,
        seconds: start.seconds(),
        images_per_sec: (train.len() * cfg.epochs) as f64 / train_seconds,
    })
}

/// The mean of a network's weights over the steps of its run's last epochs (stochastic weight
/// averaging): where one run stops decides a few test digits either way, and the mean of the
/// weights the last steps passed through reads better than any one of them.
pub struct WeightAverage {
    sum: Vec<f64>,
    steps: usize,
}

impl WeightAverage {
    pub fn new(params: usize) -> WeightAverage {
        WeightAverage {
            sum: vec![0.0; params],
            steps: 0,
        }
    }

    /// Adds the weights after one step.
    pub fn add(&mut self, params: &[f32]) {
        for (s, &p) in self.sum.iter_mut().zip(params) {
            *s += p as f64;
        }
        self.steps += 1;
    }

    /// The mean of the weights added; `None` before any.
    pub fn mean(&self) -> Option<Vec<f32>> {
        let n = self.steps as f64;
        (self.steps > 0).then(|| self.sum.iter().map(|s| (s / n) as f32).collect())
    }
}

/// Training steps whose batch-norm statistics become the running ones of averaged weights.
pub const RECALIBRATE_STEPS: usize = 100;

/// Sets the batch-norm running statistics of `run`'s network (weights averaged after training,
/// whose statistics no step measured) to the mean over [`RECALIBRATE_STEPS`] batches of the
/// training images, shown as training shows them (redrawn and distorted, with a random stream
/// of its own). The weights do not change.
fn recalibrate(
    engine: &mut Engine,
    run: &mut Run,
    train: &Labelled,
    augment: &Augment,
    pen: Option<Pen<'_>>,
) {
    let cfg = &run.cfg;
    let mut sum: Vec<f64> = Vec::new();
    let mut shards = 0usize;
    for k in 0..RECALIBRATE_STEPS {
        let at = (k * cfg.batch) % run.order.len();
        let batch = &run.order[at..(at + cfg.batch).min(run.order.len())];
        let step = 1_000_000 + k as u64;
        let jobs = ShardJob::split(batch, augment, pen, cfg.smoothing, cfg.seed ^ 0x5a5a, step);
        let net = &run.net;
        for r in engine.each(jobs.len(), |j, ws| shard(ws, net, train, &jobs[j])) {
            if sum.is_empty() {
                sum = vec![0.0; r.bn.len()];
            }
            for (s, &v) in sum.iter_mut().zip(&r.bn) {
                *s += v as f64;
            }
            shards += 1;
        }
    }
    if shards > 0 {
        let mean: Vec<f32> = sum.iter().map(|s| (s / shards as f64) as f32).collect();
        run.net.set_running_stats(&mean);
    }
}

/// The terminal's progress bar for an epoch (with the `cli` feature and `cfg.progress`).
struct Bar {
    #[cfg(feature = "cli")]
    bar: ProgressBar,
}

impl Bar {
    #[cfg_attr(not(feature = "cli"), allow(unused_variables))]
    fn new(cfg: &TrainConfig, epoch: usize, images: usize) -> Bar {
        #[cfg(feature = "cli")]
        {
            let bar = if cfg.progress {
                ProgressBar::new(images as u64)
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
            Bar { bar }
        }
        #[cfg(not(feature = "cli"))]
        Bar {}
    }

    /// Batch `b` of `images` images is done, with summed loss `loss`.
    #[cfg_attr(not(feature = "cli"), allow(unused_variables))]
    fn advance(&self, b: usize, images: usize, loss: f64) {
        #[cfg(feature = "cli")]
        {
            self.bar.inc(images as u64);
            if b.is_multiple_of(16) {
                self.bar.set_message(format!("{:.4}", loss / images as f64));
            }
        }
    }

    fn finish(&self) {
        #[cfg(feature = "cli")]
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_average_is_the_mean_of_the_steps_added() {
        let mut a = WeightAverage::new(2);
        assert_eq!(a.mean(), None);
        a.add(&[1.0, -2.0]);
        a.add(&[2.0, 4.0]);
        a.add(&[6.0, 1.0]);
        assert_eq!(a.mean(), Some(vec![3.0, 1.0]));
    }

    #[test]
    fn pieces_that_are_not_digits_draw_nothing_from_the_stream_when_unused() {
        let piece = [7u8; PIXELS];
        let pen = |not_digits: &'static [u8], share: f32| Pen {
            traces: &[],
            share: 0.0,
            warp: false,
            not_digits,
            not_digit_share: share,
        };
        // No pieces, or a share of 0: the stream is untouched (runs without them unchanged).
        for p in [pen(&[], 0.5), pen(Box::leak(Box::new(piece)), 0.0)] {
            let mut rng = Rng::new(3);
            assert!(p.not_digit(&mut rng).is_none());
            assert_eq!(rng.next_u64(), Rng::new(3).next_u64());
        }
        // A share of (nearly) 1: always a piece.
        let p = pen(Box::leak(Box::new(piece)), 0.999_999);
        let mut rng = Rng::new(3);
        assert_eq!(p.not_digit(&mut rng), Some(&piece[..]));
    }
}
