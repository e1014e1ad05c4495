//! Fine-tuning in the page: the model the pad uses, read back into the trainer's network
//! (`digits_train::import`), trained a short while on the user's samples mixed with replayed
//! MNIST digits (`digits_train::finetune`, the same mix and settings as `digits finetune`), its
//! steps shared out over the training workers as "Train your own" does. Measured before and
//! after on the held-out samples (here) and on the 10,000 MNIST test digits (in the workers).

use digits_core::personal::Samples;
use digits_train::export::{Weights, to_onnx};
use digits_train::finetune::{self, FineTune};
use digits_train::import;
use digits_train::net::Network;
use digits_train::train::Run;

use crate::personal_text::Outcome;
use crate::personal_view::PersonalView;
use crate::pool::{Pool, worker_count};
use crate::protocol::Set;
use crate::session::{self, classify, now_ms, share_data, step};

/// A fine-tuned model: its ONNX file and the figures.
pub struct Tuned {
    pub onnx: Vec<u8>,
    pub outcome: Outcome,
}

fn accuracy(predicted: &[u8], labels: &[u8]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(a, b)| a == b).count();
    right as f64 / labels.len().max(1) as f64
}

/// Fine-tunes the model in `base` (ONNX bytes) on `samples`, showing progress in `view`.
pub async fn fine_tune(
    base: &[u8],
    samples: &Samples,
    view: &PersonalView,
) -> Result<Tuned, String> {
    let net = import::from_onnx(base, "the pad's model").map_err(|e| e.to_string())?;
    let (train_idx, held_idx) = samples.split();
    if train_idx.is_empty() {
        return Err("no samples to fine-tune on".into());
    }
    let (personal, held) = (samples.labelled(&train_idx), samples.labelled(&held_idx));
    view.progress(0.0, "Getting the MNIST digits ready…");
    let data = session::data(&|share, text| view.progress(share, text)).await?;
    let ft = FineTune::DEFAULT;
    let mix = ft.mix(&personal, &data.train);
    let workers = worker_count();
    view.progress(0.0, &format!("Starting {workers} training worker(s)…"));
    let pool = Pool::spawn(workers)?;
    share_data(&pool, &net.spec, &mix, &data.test).await?;
    let score = |net: &Network| finetune::accuracy(net, &held, 1).map_err(|e| e.to_string());
    let before = score(&net)?;
    view.progress(0.0, "Checking the current model on the MNIST test digits…");
    let mnist_before = accuracy(
        &classify(&pool, &net, Set::Test, data.test.len()).await?,
        &data.test.labels,
    );
    let cfg = ft.config(&net, workers);
    let mut run = Run::from_network(&cfg, net, mix.len()).map_err(|e| e.to_string())?;
    let total = mix.len();
    let (started, mut seen) = (now_ms(), 0usize);
    while let Some(done) = step(&pool, &mut run, &cfg.augment).await {
        let (_, images) = done?;
        seen += images;
        let seconds = (now_ms() - started) / 1000.0;
        view.progress(
            seen as f64 / total as f64,
            &format!(
                "Fine-tuning: {seen} of {total} images ({} of yours, each {} times, and {} MNIST digits), {seconds:.1} s",
                personal.len(),
                ft.repeats,
                total - personal.len() * ft.repeats
            ),
        );
    }
    run.end_epoch().map_err(|e| e.to_string())?;
    let seconds = (now_ms() - started) / 1000.0;
    view.progress(1.0, "Checking the new model on the MNIST test digits…");
    let tuned = run.net;
    let after = score(&tuned)?;
    let mnist_after = accuracy(
        &classify(&pool, &tuned, Set::Test, data.test.len()).await?,
        &data.test.labels,
    );
    let command = format!(
        "fine-tuned in the page on {} personal samples ({} held out), {} MNIST digits replayed, {workers} worker(s)",
        train_idx.len(),
        held_idx.len(),
        ft.replay
    );
    let meta = finetune::metadata(&tuned, &command, mnist_after, samples.len());
    let measured = !held_idx.is_empty();
    Ok(Tuned {
        onnx: to_onnx(&tuned, &meta, Weights::F32),
        outcome: Outcome {
            held_out: held_idx.len(),
            before: measured.then_some(before),
            after: measured.then_some(after),
            mnist_before,
            mnist_after,
            trained_on: train_idx.len(),
            seconds,
        },
    })
}
