//! Fine-tuning a trained model on a user's own handwriting (`digits_core::personal`): a short
//! run of the ordinary trainer ([`Run`]) that starts from the model's weights, on the personal
//! samples (each shown several times, each time distorted differently) mixed with MNIST
//! training digits replayed so the model does not forget everyone else's. The page runs the
//! same [`Run`] in its training workers; `digits finetune` runs it here.

use digits_core::idx::{Images, Labelled};
use digits_core::{PIXELS, SIDE};

use crate::augment::Augment;
use crate::net::Network;
use crate::optim::{OptimizerKind, Schedule};
use crate::rng::Rng;
use crate::train::{Engine, Run, TrainConfig, shard};

/// How a fine-tuning run mixes and trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FineTune {
    /// Copies of each personal sample in the mix (each distorted on its own).
    pub repeats: usize,
    /// MNIST training digits replayed beside them.
    pub replay: usize,
    pub batch: usize,
    /// Peak learning rate (cosine decay over the run).
    pub lr: f32,
    pub seed: u64,
}

impl FineTune {
    /// Chosen on the mirror writer ([`crate::writer`], 50 samples, seeds 1-3): 100% of the
    /// held-out samples, MNIST 0.23-0.34 points lower; less replay or a lower rate forgot more
    /// (docs/performance.md, *Fine-tuning*).
    pub const DEFAULT: FineTune = FineTune {
        repeats: 12,
        replay: 6000,
        batch: 64,
        lr: 1e-3,
        seed: 1,
    };

    /// The images a run on `personal` samples trains on.
    pub fn images(&self, personal: usize) -> usize {
        personal * self.repeats + self.replay
    }

    /// The trainer's settings for a run on `net` with `threads` threads.
    pub fn config(&self, net: &Network, threads: usize) -> TrainConfig {
        TrainConfig {
            arch: net.spec.clone(),
            epochs: 1,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
            threads,
            optimizer: OptimizerKind::Adamw,
            schedule: Schedule::Cosine,
            weight_decay: 0.0,
            smoothing: 0.0,
            augment: Augment::DEFAULT,
            pen: 0.0,
            pen_warp: false,
            average_last: 0,
            not_digits: 0.0,
            progress: false,
        }
    }

    /// The data set of a run: the `personal` samples, each [`FineTune::repeats`] times, then
    /// [`FineTune::replay`] digits of `mnist` picked at random (by the seed). The run shuffles
    /// it.
    pub fn mix(&self, personal: &Labelled, mnist: &Labelled) -> Labelled {
        let mut picked: Vec<usize> = (0..mnist.len()).collect();
        Rng::derive(self.seed, &[0xF1, 0x7E]).shuffle(&mut picked);
        picked.truncate(self.replay.min(mnist.len()));
        let count = personal.len() * self.repeats + picked.len();
        let mut pixels = Vec::with_capacity(count * PIXELS);
        let mut labels = Vec::with_capacity(count);
        for _ in 0..self.repeats {
            pixels.extend_from_slice(&personal.images.pixels);
            labels.extend_from_slice(&personal.labels);
        }
        for &i in &picked {
            pixels.extend_from_slice(mnist.images.image(i));
            labels.push(mnist.labels[i]);
        }
        Labelled {
            images: Images {
                count,
                rows: SIDE,
                cols: SIDE,
                pixels,
            },
            labels,
        }
    }
}

/// Fine-tunes `net` on the `personal` samples mixed with `mnist` replay, on `threads` threads.
pub fn fine_tune(
    net: Network,
    personal: &Labelled,
    mnist: &Labelled,
    ft: &FineTune,
    threads: usize,
) -> anyhow::Result<Network> {
    anyhow::ensure!(!personal.is_empty(), "no personal samples to fine-tune on");
    let data = ft.mix(personal, mnist);
    let cfg = ft.config(&net, threads);
    let mut run = Run::from_network(&cfg, net, data.len())?;
    let mut engine = Engine::new(&run.net, cfg.batch.min(data.len()), threads)?;
    while let Some(jobs) = run.jobs(&cfg.augment, None) {
        let net = &run.net;
        let results = engine.each(jobs.len(), |k, ws| shard(ws, net, &data, &jobs[k]));
        run.apply(&results)?;
    }
    run.end_epoch()?;
    Ok(run.net)
}

/// The metadata properties of a fine-tuned model's ONNX file (those of `digits train`, with
/// the data set named `mnist+personal` and the number of personal samples).
pub fn metadata(
    net: &Network,
    command: &str,
    mnist_accuracy: f64,
    samples: usize,
) -> Vec<(String, String)> {
    [
        ("dataset", "mnist+personal".to_string()),
        ("arch", net.spec.clone()),
        ("parameters", net.model_param_count().to_string()),
        ("command", command.to_string()),
        ("test_accuracy", format!("{mnist_accuracy:.4}")),
        ("personal_samples", samples.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Accuracy of `net` on `data` (0 for no data).
pub fn accuracy(net: &Network, data: &Labelled, threads: usize) -> anyhow::Result<f64> {
    let mut engine = Engine::new(net, crate::train::SHARD * threads.max(1), threads)?;
    Ok(engine.accuracy(net, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(labels: &[u8], fill: u8) -> Labelled {
        Labelled {
            images: Images {
                count: labels.len(),
                rows: SIDE,
                cols: SIDE,
                pixels: vec![fill; labels.len() * PIXELS],
            },
            labels: labels.to_vec(),
        }
    }

    #[test]
    fn the_mix_repeats_the_personal_samples_and_replays_mnist() {
        let ft = FineTune {
            repeats: 3,
            replay: 5,
            ..FineTune::DEFAULT
        };
        let personal = set(&[7, 1], 200);
        let mnist = set(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 9);
        let mix = ft.mix(&personal, &mnist);
        assert_eq!(mix.len(), ft.images(2));
        assert_eq!(&mix.labels[..6], &[7, 1, 7, 1, 7, 1]);
        assert!(mix.images.pixels[..6 * PIXELS].iter().all(|&p| p == 200));
        assert!(mix.images.pixels[6 * PIXELS..].iter().all(|&p| p == 9));
        // Five different MNIST digits, the same five for the same seed.
        let mut replayed = mix.labels[6..].to_vec();
        assert_eq!(ft.mix(&personal, &mnist).labels[6..], replayed[..]);
        replayed.dedup();
        assert_eq!(replayed.len(), 5);
    }

    #[test]
    fn fine_tuning_learns_the_personal_samples() {
        // A network that reads nothing in particular learns that a full square is a 3, with
        // or without a "not one digit" output (fine-tuning has no pieces: only digits).
        for spec in ["flatten,fc10", "flatten,fc11"] {
            learns_the_personal_samples(spec, None);
        }
        // A doubt output beside the network (the shipped model's) is kept as it was: fitted on
        // the frozen network, it is no parameter of the run.
        let side = crate::net::SideDoubt {
            layer: 0,
            head: crate::net::Head {
                weights: vec![0.01; PIXELS],
                bias: -2.0,
            },
        };
        learns_the_personal_samples("flatten,fc10", Some(side));
    }

    fn learns_the_personal_samples(spec: &str, side: Option<crate::net::SideDoubt>) {
        let mut net = Network::new(spec, 3).unwrap();
        net.side_doubt = side.clone();
        let personal = set(&[3, 3], 255);
        let mnist = set(&[5; 20], 0);
        let ft = FineTune {
            repeats: 20,
            replay: 20,
            batch: 16,
            lr: 0.05,
            seed: 1,
        };
        let tuned = fine_tune(net, &personal, &mnist, &ft, 1).unwrap();
        assert_eq!(tuned.side_doubt, side);
        assert_eq!(accuracy(&tuned, &personal, 1).unwrap(), 1.0);
        assert_eq!(accuracy(&tuned, &mnist, 1).unwrap(), 1.0);
        let none = set(&[], 0);
        let net = Network::new(spec, 3).unwrap();
        assert!(fine_tune(net, &none, &mnist, &ft, 1).is_err());
    }
}
