//! Real training runs on MNIST: the trainer learns, and it is deterministic.

mod common;

use digits_core::idx::Labelled;
use digits_train::net::Workspace;
use digits_train::not_digits::Kinds;
use digits_train::pen::Style;
use digits_train::rng::Rng;
use digits_train::traces;
use digits_train::train::{self, Engine, Run, SHARD};

/// A short run on 4,000 images must clearly learn: above 90% on 1,000 held-out test images.
#[test]
fn short_run_learns() {
    let train_set = common::train_set().slice(0..4000);
    let held_out = common::test_set().slice(0..1000);
    let cfg = common::config(digits_train::DEFAULT_ARCH, 3, 2);
    let mut lines = Vec::new();
    let t = train::train(
        &cfg,
        &train_set,
        None,
        &Labelled::default(),
        &held_out,
        |s| lines.push(s.to_string()),
    )
    .unwrap();
    assert_eq!(lines.len(), 3);
    let acc = t.epochs.last().unwrap().test_accuracy.unwrap();
    eprintln!("{}", lines.join("\n"));
    assert!(acc > 0.90, "accuracy {acc} after a short run");
    // The engine's accuracy agrees with the network's own prediction.
    let probs = t.net.predict(&held_out.inputs());
    let correct = probs
        .chunks(10)
        .zip(&held_out.labels)
        .filter(|(p, l)| digits_core::metrics::argmax(p) == Some(**l as usize))
        .count();
    let mut engine = Engine::new(&t.net, 64, 2).unwrap();
    assert_eq!(correct as f64 / 1000.0, engine.accuracy(&t.net, &held_out));
}

/// The same short run with its weights averaged over the last two epochs still learns; the
/// averaged network is not the last step's, and its batch-norm statistics were measured again
/// for it (not the running ones of the last steps).
#[test]
fn short_run_with_averaged_weights_learns() {
    let train_set = common::train_set().slice(0..4000);
    let held_out = common::test_set().slice(0..1000);
    let run = |average_last: usize| {
        let mut cfg = common::config(digits_train::DEFAULT_ARCH, 3, 2);
        cfg.average_last = average_last;
        train::train(
            &cfg,
            &train_set,
            None,
            &Labelled::default(),
            &held_out,
            |_| {},
        )
    };
    let last = run(0).unwrap();
    let averaged = run(2).unwrap();
    let acc = averaged.epochs.last().unwrap().test_accuracy.unwrap();
    eprintln!(
        "averaged: {acc}, last step's: {}",
        last.epochs.last().unwrap().test_accuracy.unwrap()
    );
    assert!(acc > 0.90, "accuracy {acc} with averaged weights");
    assert_ne!(averaged.net.params, last.net.params);
    assert_ne!(averaged.net.state, last.net.state);
    // The history's last epoch is the averaged network's.
    let mut engine = Engine::new(&averaged.net, 64, 2).unwrap();
    assert_eq!(engine.accuracy(&averaged.net, &held_out), acc);
    // More epochs to average than the run has: refused, naming the option.
    let err = run(4).err().unwrap();
    assert!(err.to_string().contains("--average-last"), "{err}");
}

/// The same short run with half the images redrawn from their traced strokes still learns, and
/// reads drawn digits better than the run on scans alone, whether the pen images are distorted
/// after drawing or their strokes before.
#[test]
fn short_run_with_pen_augmentation_learns_and_reads_drawings_better() {
    let train_set = common::train_set().slice(0..4000);
    let held_out = common::test_set().slice(0..1000);
    let traces = traces::trace_all(&train_set.images.pixels, 2).unwrap();
    let held_out_traces = traces::trace_all(&held_out.images.pixels, 2).unwrap();
    let drawn: Vec<f32> = held_out_traces
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            Style::Drawn
                .render(t, &mut Rng::derive(1, &[i as u64]))
                .unwrap_or(vec![0.0; digits_core::PIXELS])
        })
        .collect();
    let drawn_accuracy = |net: &digits_train::net::Network| {
        let probs = net.predict(&drawn);
        probs
            .chunks(10)
            .zip(&held_out.labels)
            .filter(|(p, l)| digits_core::metrics::argmax(p) == Some(**l as usize))
            .count() as f64
            / held_out.len() as f64
    };
    let run = |pen: f32, warp: bool| {
        let mut cfg = common::config(digits_train::DEFAULT_ARCH, 3, 2);
        cfg.pen = pen;
        cfg.pen_warp = warp;
        train::train(
            &cfg,
            &train_set,
            Some(&traces),
            &Labelled::default(),
            &held_out,
            |_| {},
        )
        .unwrap()
    };
    let scans = run(0.0, false);
    let before = drawn_accuracy(&scans.net);
    // Pen images distorted as images after drawing, and (`--pen-warp`) as strokes before.
    for warp in [false, true] {
        let pen = run(0.5, warp);
        let scan_accuracy = pen.epochs.last().unwrap().test_accuracy.unwrap();
        let after = drawn_accuracy(&pen.net);
        eprintln!(
            "pen run (warp {warp}): scans {scan_accuracy}, drawn {after} (scans-only run: drawn {before})"
        );
        assert!(scan_accuracy > 0.90, "scan accuracy {scan_accuracy}");
        assert!(after > 0.90, "drawn accuracy {after}");
        assert!(
            after > before,
            "drawn: {after} with the pen (warp {warp}), {before} without"
        );
    }
}

/// What the runs with pieces train and are judged on: 4,000 training digits with their traces,
/// the pieces cut from numbers of them, 1,000 test digits, and pieces cut from numbers of
/// those (as images).
struct WithPieces {
    train_set: Labelled,
    traces: Vec<Vec<digits_core::preprocess::Stroke>>,
    pieces: Vec<u8>,
    held_out: Labelled,
    unseen: Vec<f32>,
}

impl WithPieces {
    /// Three epochs of `arch` with the pen's share 0.3 and `share` of pieces.
    fn train(&self, arch: &str, share: f32, threads: usize) -> train::Trained {
        let mut cfg = common::config(arch, 3, threads);
        cfg.pen = 0.3;
        cfg.not_digits = share;
        train::train_with(
            &cfg,
            &self.train_set,
            Some(&self.traces),
            &self.pieces,
            &Labelled::default(),
            &self.held_out,
            |_| {},
        )
        .unwrap()
    }
}

fn with_pieces() -> WithPieces {
    let train_set = common::train_set().slice(0..4000);
    let held_out = common::test_set().slice(0..1000);
    let traces = traces::trace_all(&train_set.images.pixels, 2).unwrap();
    let pieces = digits_train::not_digits::make(&traces, 1, Kinds::Merges, 2).unwrap();
    let held_out_traces = traces::trace_all(&held_out.images.pixels, 2).unwrap();
    let unseen = digits_train::not_digits::make(&held_out_traces, 5, Kinds::Merges, 2).unwrap();
    assert!(unseen.len() / digits_core::PIXELS > 500, "{}", unseen.len());
    WithPieces {
        train_set,
        traces,
        pieces,
        held_out,
        unseen: unseen.iter().map(|&b| b as f32 / 255.0).collect(),
    }
}

/// A short run with a fifth of its images replaced by pieces of numbers that are not one digit
/// (`--not-digits`) still learns, is far less sure of such pieces (cut from numbers of other
/// digits) than the same run without them, and gives the same bits on 1 and 2 threads.
#[test]
fn short_run_with_pieces_that_are_not_digits_learns_to_doubt_them() {
    let data = with_pieces();
    let unseen = &data.unseen;
    let run = |share: f32, threads: usize| data.train(digits_train::DEFAULT_ARCH, share, threads);
    // The mean of the largest probability over the unseen pieces.
    let sureness = |net: &digits_train::net::Network| {
        let probs = net.predict(unseen);
        let rows = probs.len() / 10;
        probs
            .chunks(10)
            .map(|p| p.iter().copied().fold(0.0f32, f32::max) as f64)
            .sum::<f64>()
            / rows as f64
    };
    let (without, with) = (run(0.0, 2), run(0.2, 2));
    let accuracy = with.epochs.last().unwrap().test_accuracy.unwrap();
    let (before, after) = (sureness(&without.net), sureness(&with.net));
    eprintln!("not-digits run: scans {accuracy}; sure of pieces {after:.3} (without: {before:.3})");
    assert!(accuracy > 0.90, "scan accuracy {accuracy}");
    assert!(
        after < before - 0.15,
        "sureness {after} with, {before} without"
    );
    let bits =
        |t: &train::Trained| -> Vec<u32> { t.net.params.iter().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(&with), bits(&run(0.2, 1)), "1 vs 2 threads");
}

/// A network ending with `fc11` learns "not one digit" as its eleventh output from the same
/// pieces: it still reads scans, doubts the unseen pieces far more than the digits, and the
/// exported graph (the doubt flattening the softmax) gives tract the trainer's probabilities.
#[test]
fn a_doubt_output_learns_from_the_pieces_and_exports_as_trained() {
    let data = with_pieces();
    let (unseen, held_out) = (&data.unseen, &data.held_out);
    let arch = digits_train::DEFAULT_ARCH.replace(",fc10", ",fc11");
    let trained = data.train(&arch, 0.2, 2);
    let net = &trained.net;
    assert!(net.has_doubt());
    // The mean doubt (the eleventh output's sigmoid) and the mean largest probability.
    let measure = |images: &[f32]| {
        let n = images.len() / digits_core::PIXELS;
        let mut ws = Workspace::new(net, n);
        ws.input_mut(n).copy_from_slice(images);
        ws.forward(net, digits_train::net::Mode::Eval, &mut Rng::new(0));
        let doubt: f64 = ws
            .logits()
            .chunks(11)
            .map(|z| 1.0 / (1.0 + (-z[10] as f64).exp()))
            .sum();
        let sure: f64 = net
            .predict(images)
            .chunks(10)
            .map(|p| p.iter().copied().fold(0.0f32, f32::max) as f64)
            .sum();
        (doubt / n as f64, sure / n as f64)
    };
    let pieces_seen = &unseen[..600 * digits_core::PIXELS];
    let digits_seen = held_out.inputs();
    let (doubt_pieces, sure_pieces) = measure(pieces_seen);
    let (doubt_digits, sure_digits) = measure(&digits_seen);
    let accuracy = trained.epochs.last().unwrap().test_accuracy.unwrap();
    eprintln!(
        "doubt output: scans {accuracy}; doubt {doubt_pieces:.3} on pieces, {doubt_digits:.3} on digits; sure {sure_pieces:.3} / {sure_digits:.3}"
    );
    assert!(accuracy > 0.90, "scan accuracy {accuracy}");
    assert!(
        doubt_pieces > 0.5 && doubt_digits < 0.2,
        "doubt {doubt_pieces} / {doubt_digits}"
    );
    assert!(
        sure_pieces < sure_digits - 0.3,
        "sure {sure_pieces} / {sure_digits}"
    );
    // The exported file: tract gives the trainer's probabilities, for digits and pieces.
    let bytes = digits_train::export::to_onnx(net, &[], digits_train::export::Weights::F32);
    let model = digits_core::model::Model::from_bytes(&bytes, "doubt").unwrap();
    for images in [
        &digits_seen[..200 * digits_core::PIXELS],
        &pieces_seen[..200 * digits_core::PIXELS],
    ] {
        let d = common::tract_difference(net, &model, images);
        assert!(d < 1e-5, "tract differs from the trainer by {d}");
    }
}

/// Same seed gives the same model bit for bit, whatever the thread count; another seed does not.
#[test]
fn deterministic_for_a_seed_and_independent_of_threads() {
    let data = common::train_set().slice(0..1200);
    // With the pen augmentation, whose drawings come from the same per-shard random streams.
    let traces = traces::trace_all(&data.images.pixels, 2).unwrap();
    let arch = "conv6k3p1,bn,relu,maxpool2,conv8k3,drop0.2,relu,flatten,fc16,bn,relu,drop0.3,fc10";
    let run = |threads: usize, seed: u64| {
        let mut cfg = common::config(arch, 2, threads);
        cfg.seed = seed;
        cfg.pen = 0.5;
        train::train(
            &cfg,
            &data,
            Some(&traces),
            &Labelled::default(),
            &Labelled::default(),
            |_| {},
        )
        .unwrap()
    };
    let a = run(1, 7);
    let b = run(2, 7);
    let c = run(3, 7);
    let bits = |t: &train::Trained| -> Vec<u32> {
        t.net
            .params
            .iter()
            .chain(&t.net.state)
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&a), bits(&b), "1 vs 2 threads");
    assert_eq!(bits(&a), bits(&c), "1 vs 3 threads");
    assert_ne!(bits(&a), bits(&run(2, 8)), "another seed");
}

/// A run stepped by hand, its shards computed in 1, 2 or 3 workspaces in turn (as the page's
/// workers would), gives the engine's model bit for bit, and its loss per epoch.
#[test]
fn shards_computed_anywhere_give_the_engines_model() {
    let data = common::train_set().slice(0..700);
    let traces = traces::trace_all(&data.images.pixels, 2).unwrap();
    let arch = "conv6k3p1,bn,relu,maxpool2,flatten,fc16,bn,relu,drop0.3,fc10";
    let mut cfg = common::config(arch, 2, 2);
    cfg.pen = 0.4;
    cfg.pen_warp = true;
    let mut losses = Vec::new();
    let engine = train::train(
        &cfg,
        &data,
        Some(&traces),
        &Labelled::default(),
        &Labelled::default(),
        |e| losses.push(e.loss),
    )
    .unwrap();
    let bits = |net: &digits_train::net::Network| -> Vec<u32> {
        net.params
            .iter()
            .chain(&net.state)
            .map(|v| v.to_bits())
            .collect()
    };
    let pen = train::Pen {
        traces: &traces,
        share: cfg.pen,
        warp: cfg.pen_warp,
        not_digits: &[],
        not_digit_share: 0.0,
    };
    for workers in [1, 2, 3] {
        let mut run = Run::new(&cfg, data.len()).unwrap();
        let mut spaces: Vec<Workspace> = (0..workers)
            .map(|_| Workspace::new(&run.net, SHARD))
            .collect();
        let mut epoch_losses = Vec::new();
        for _ in 0..cfg.epochs {
            while let Some(step) = run.step_on(&mut spaces, &data, &cfg.augment, Some(pen)) {
                step.unwrap();
            }
            epoch_losses.push(run.end_epoch().unwrap().loss);
        }
        assert_eq!(bits(&run.net), bits(&engine.net), "{workers} workspaces");
        assert_eq!(epoch_losses, losses, "{workers} workspaces");
        assert_eq!(run.steps(), cfg.epochs * data.len().div_ceil(cfg.batch));
    }
    // A result for another network, or too few results, is an error, not a wrong step.
    let mut run = Run::new(&cfg, data.len()).unwrap();
    assert!(run.apply(&[]).is_err());
    let wrong = train::ShardResult {
        grads: vec![0.0; 3],
        bn: vec![],
        loss: 0.0,
        correct: 0,
    };
    let shards = cfg.batch.div_ceil(SHARD);
    assert!(run.apply(&vec![wrong; shards]).is_err());
    assert_eq!(run.steps(), 0);
}
