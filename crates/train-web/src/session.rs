//! One training run in the page: the data loaded once, the workers started, then the trainer's
//! own loop stepped by hand ([`Run`]): each step's shards shared out over the workers (shard k
//! to worker k mod n) and their results applied in shard order, so the model does not depend on
//! the number of workers. After each epoch: accuracy on the held-out validation images and the
//! test set (with its confusion matrix), also in the workers. At the end: the ONNX file (the
//! command line's exporter) and its report.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use digits_core::idx::Labelled;
use digits_core::metrics::Confusion;
use digits_core::report::{Epoch, Evaluation, ModelReport, pick_samples};
use digits_core::text::grouped;
use digits_train::augment::Augment;
use digits_train::export::{Weights, to_onnx};
use digits_train::net::Network;
use digits_train::train::{Run, ShardResult};

use crate::data;
use crate::pool::Pool;
use crate::protocol::{Job, Reply, Request, Set};
use crate::settings::{Settings, TRAINING_SET, VALIDATION};
use crate::view::{Phase, View};

/// What the user asked the run to do, read between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    Stop,
}

/// The data sets, downloaded once per page.
pub struct Data {
    pub train: Labelled,
    pub test: Labelled,
}

thread_local! {
    static DATA: RefCell<Option<Rc<Data>>> = const { RefCell::new(None) };
}

/// A finished run.
pub struct Trained {
    pub onnx: Vec<u8>,
    pub report: ModelReport,
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The data sets, from memory or downloaded with progress shown by `progress(share, text)`.
pub async fn data(progress: &dyn Fn(f64, &str)) -> Result<Rc<Data>, String> {
    if let Some(d) = DATA.with(|d| d.borrow().clone()) {
        return Ok(d);
    }
    let shown = |what: &'static str| {
        move |share: f64, text: String| {
            progress(share, &format!("Downloading the {what}: {text}"));
        }
    };
    let train = data::load(
        &data::TRAIN_IMAGES,
        &data::TRAIN_LABELS,
        &shown("training set"),
    )
    .await?;
    let test = data::load(&data::TEST_IMAGES, &data::TEST_LABELS, &shown("test set")).await?;
    if train.len() != TRAINING_SET {
        return Err(format!(
            "the training set has {} images, expected {}",
            train.len(),
            grouped(TRAINING_SET as u64)
        ));
    }
    let d = Rc::new(Data { train, test });
    DATA.with(|c| *c.borrow_mut() = Some(d.clone()));
    Ok(d)
}

/// Splits `n` images into `parts` contiguous ranges.
fn ranges(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.max(1);
    (0..parts)
        .map(|k| (n * k / parts, n * (k + 1) / parts))
        .collect()
}

/// "1 min 5 s", "12 s".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Trains `settings` with `workers` workers, showing it in `view`; `control` is read between
/// steps. `Ok(None)` when the user stopped it.
pub async fn train(
    view: &View,
    settings: &Settings,
    workers: usize,
    control: Rc<Cell<Control>>,
) -> Result<Option<Trained>, String> {
    view.set_phase(Phase::Loading);
    view.say("Getting the MNIST training set ready…", false);
    let data = data(&|share, text| view.progress(share, text)).await?;
    if control.get() == Control::Stop {
        return Ok(None);
    }
    view.say(&format!("Starting {workers} training worker(s)…"), false);
    let pool = Pool::spawn(workers)?;
    share_data(&pool, &settings.arch, &data.train, &data.test).await?;
    let cfg = settings.config();
    let mut run = Run::new(&cfg, settings.images).map_err(|e| e.to_string())?;
    let total_steps = settings.steps();
    let augment = Augment::DEFAULT;
    let mut losses: Vec<f32> = Vec::with_capacity(total_steps);
    let (mut train_acc, mut val_acc) = (Vec::new(), Vec::new());
    let mut history = Vec::new();
    let mut seen = 0usize;
    let total_images = settings.images * settings.epochs;
    let started = now_ms();
    let mut training_ms = 0.0;
    let mut last_paint = 0.0;
    let mut test = None;
    view.set_phase(Phase::Training);
    view.say(
        &format!(
            "Training on {} images in {workers} worker(s)…",
            grouped(settings.images as u64)
        ),
        false,
    );
    for epoch in 1..=settings.epochs {
        let epoch_start = now_ms();
        let mut epoch_images = 0usize;
        loop {
            match control.get() {
                Control::Stop => return Ok(None),
                Control::Pause => {
                    view.set_phase(Phase::Paused);
                    view.say("Paused. Resume goes on from the same step.", false);
                    let t0 = now_ms();
                    while control.get() == Control::Pause {
                        sleep(100).await;
                    }
                    training_ms -= now_ms() - t0;
                    if control.get() == Control::Stop {
                        return Ok(None);
                    }
                    view.set_phase(Phase::Training);
                    view.say("Training…", false);
                }
                Control::Run => {}
            }
            let t0 = now_ms();
            let Some(done) = step(&pool, &mut run, &augment).await else {
                break;
            };
            let (loss, images) = done?;
            losses.push((loss / images as f64) as f32);
            seen += images;
            epoch_images += images;
            training_ms += now_ms() - t0;
            view.counters(seen, epoch);
            let now = now_ms();
            if now - last_paint > 250.0 {
                last_paint = now;
                let rate = seen as f64 / (training_ms / 1000.0).max(1e-3);
                let left = (total_images - seen) as f64 / rate;
                view.progress(
                    seen as f64 / total_images as f64,
                    &format!(
                        "Epoch {epoch} of {}: {} of {} images, {:.0} images/s, about {} left",
                        settings.epochs,
                        grouped(seen as u64),
                        grouped(total_images as u64),
                        rate,
                        duration(left)
                    ),
                );
                view.charts(&losses, total_steps, &train_acc, &val_acc, settings.epochs);
            }
        }
        let sums = run.end_epoch().map_err(|e| e.to_string())?;
        let epoch_seconds = (now_ms() - epoch_start) / 1000.0;
        view.say(
            &format!("Epoch {epoch}: checking it on held-out digits…"),
            false,
        );
        let val = classify(&pool, &run.net, Set::Validation, VALIDATION).await?;
        let val_labels = &data.train.labels[TRAINING_SET - VALIDATION..];
        let val_c = Confusion::from_predictions(val_labels, &val);
        let predicted = classify(&pool, &run.net, Set::Test, data.test.len()).await?;
        let test_c = Confusion::from_predictions(&data.test.labels, &predicted);
        train_acc.push(sums.accuracy);
        val_acc.push(val_c.accuracy());
        history.push(Epoch {
            epoch,
            loss: sums.loss,
            train_accuracy: sums.accuracy,
            val_accuracy: Some(val_c.accuracy()),
            test_accuracy: Some(test_c.accuracy()),
            elapsed_seconds: (now_ms() - started) / 1000.0,
            images_per_sec: epoch_images as f64 / epoch_seconds.max(1e-3),
        });
        view.counters(seen, epoch);
        let rate = seen as f64 / (training_ms / 1000.0).max(1e-3);
        view.progress(
            seen as f64 / total_images as f64,
            &format!(
                "Epoch {epoch} of {} done: {} of {} images, {rate:.0} images/s",
                settings.epochs,
                grouped(seen as u64),
                grouped(total_images as u64),
            ),
        );
        view.charts(&losses, total_steps, &train_acc, &val_acc, settings.epochs);
        view.confusion(&test_c, epoch);
        view.say(
            &format!(
                "Epoch {epoch} of {}: {:.2}% on the validation digits, {:.2}% on the test set",
                settings.epochs,
                100.0 * val_c.accuracy(),
                100.0 * test_c.accuracy()
            ),
            false,
        );
        test = Some((test_c, predicted));
    }
    let (test_c, predicted) = test.ok_or("no epoch ran")?;
    let seconds = (now_ms() - started) / 1000.0;
    let command = format!(
        "trained in the page: {} images, {} epoch(s), batch {}, learning rate {}, {workers} worker(s)",
        settings.images, settings.epochs, settings.batch, settings.lr
    );
    let mut meta = vec![
        ("dataset".to_string(), "mnist".to_string()),
        ("arch".to_string(), settings.arch.clone()),
        (
            "parameters".to_string(),
            run.net.model_param_count().to_string(),
        ),
        ("command".to_string(), command.clone()),
        (
            "test_accuracy".to_string(),
            format!("{:.4}", test_c.accuracy()),
        ),
    ];
    meta.push(("trained_in".to_string(), "browser".to_string()));
    let onnx = to_onnx(&run.net, &meta, Weights::F32);
    let report = ModelReport {
        dataset: "mnist".to_string(),
        command,
        arch: settings.arch.clone(),
        parameters: run.net.model_param_count(),
        onnx_bytes: onnx.len(),
        seed: crate::settings::SEED,
        threads: workers,
        epochs: settings.epochs,
        batch: settings.batch,
        lr: settings.lr,
        train_images: settings.images,
        val_images: VALIDATION,
        train_seconds: seconds,
        images_per_sec: seen as f64 / (training_ms / 1000.0).max(1e-3),
        history,
        test: Evaluation::from_confusion(&test_c),
        drawn: None,
        picture: None,
        samples: pick_samples(&data.test.labels, &predicted, 100),
    };
    Ok(Some(Trained { onnx, report }))
}

/// The run's next step, its shards shared out over the workers (shard k to worker k mod n)
/// and their results applied in shard order: the step's summed loss and its images; `None`
/// when the epoch is done.
pub async fn step(
    pool: &Pool,
    run: &mut Run,
    augment: &Augment,
) -> Option<Result<(f64, usize), String>> {
    let jobs = run.jobs(augment, None)?;
    let images: usize = jobs.iter().map(|j| j.idx.len()).sum();
    let mut per_worker: Vec<Vec<Job>> = vec![Vec::new(); pool.len()];
    for j in &jobs {
        per_worker[j.shard % pool.len()].push(Job {
            shard: j.shard,
            idx: j.idx.to_vec(),
            seed: j.seed,
            step: j.step,
            scale: j.scale,
        });
    }
    let shards = jobs.len();
    let replies: Vec<_> = per_worker
        .into_iter()
        .enumerate()
        .filter(|(_, jobs)| !jobs.is_empty())
        .map(|(k, jobs)| {
            pool.send(
                k,
                &Request::Step {
                    params: run.net.params.clone(),
                    jobs,
                },
            )
        })
        .collect();
    Some(
        async move {
            let mut results: Vec<Option<ShardResult>> = vec![None; shards];
            for r in replies {
                match r.await? {
                    Reply::Shards(list) => {
                        for (k, res) in list {
                            if let Some(slot) = results.get_mut(k) {
                                *slot = Some(res);
                            }
                        }
                    }
                    _ => return Err("a training worker gave an unexpected answer".to_string()),
                }
            }
            let results: Vec<ShardResult> = results
                .into_iter()
                .collect::<Option<_>>()
                .ok_or("a training worker left out a shard")?;
            let (loss, _) = run.apply(&results).map_err(|e| e.to_string())?;
            Ok((loss, images))
        }
        .await,
    )
}

/// Sends every worker the data of a run: `arch`, the training images, the test set.
pub async fn share_data(
    pool: &Pool,
    arch: &str,
    train: &Labelled,
    test: &Labelled,
) -> Result<(), String> {
    let ready: Vec<_> = (0..pool.len())
        .map(|k| {
            pool.send(
                k,
                &Request::Data {
                    arch: arch.to_string(),
                    images: train.images.pixels.clone(),
                    labels: train.labels.clone(),
                    test_images: test.images.pixels.clone(),
                    test_labels: test.labels.clone(),
                },
            )
        })
        .collect();
    for r in ready {
        r.await?;
    }
    Ok(())
}

/// The predicted digit of the first `n` images of `set`, shared out over the workers.
pub async fn classify(pool: &Pool, net: &Network, set: Set, n: usize) -> Result<Vec<u8>, String> {
    let replies: Vec<_> = ranges(n, pool.len())
        .into_iter()
        .enumerate()
        .map(|(k, (start, end))| {
            pool.send(
                k,
                &Request::Classify {
                    params: net.params.clone(),
                    state: net.state.clone(),
                    set,
                    start,
                    end,
                },
            )
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for r in replies {
        match r.await? {
            Reply::Labels(l) => out.extend(l),
            _ => return Err("a training worker gave an unexpected answer".into()),
        }
    }
    if out.len() != n {
        return Err(format!(
            "the workers classified {} of {n} images",
            out.len()
        ));
    }
    Ok(out)
}
