//! The `digits` command line: `train` and `eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use digits_core::PIXELS;
use digits_core::idx::{self, Labelled, Split};
use digits_core::metrics::Confusion;
use digits_core::model::{Model, Prediction, to_input};
use digits_core::preprocess::Stroke;
use digits_core::report::{Evaluation, ModelReport, StyleFigures, pick_samples};

use crate::augment::Augment;
use crate::export::{self, Weights};
use crate::optim::{OptimizerKind, Schedule};
use crate::pen::Style;
use crate::traces;
use crate::train::{self, TrainConfig};

/// Where the page's model lives; `digits eval` and `digits predict` use it by default.
pub const SHIPPED_MODEL: &str = "web/assets/model.onnx";
pub const DEFAULT_DATA: &str = "data/mnist";
/// A larger model file is refused rather than read.
pub const MAX_MODEL_BYTES: u64 = 64 << 20;

/// A default path (relative to the repository's root) as given, if it exists from the current
/// directory, else in the workspace this binary was built from; an error says where it looked.
fn resolve_default(path: &Path, default: &str, what: &str, flag: &str) -> Result<PathBuf> {
    if path != Path::new(default) || path.exists() {
        return Ok(path.to_path_buf());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = root.join(default);
    if built.exists() {
        return Ok(built);
    }
    let here = std::env::current_dir().map_or_else(|_| ".".into(), |d| d.display().to_string());
    anyhow::bail!(
        "no {what} at {default}: looked in {here} and in {}; name one with {flag}",
        root.display()
    )
}

#[derive(Parser, Debug)]
#[command(
    name = "digits",
    version,
    about = "Train, export and evaluate a handwritten-digit CNN"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a CNN on an MNIST-format data set and export it to ONNX (+ MODEL.report.json).
    Train(TrainArgs),
    /// Evaluate an ONNX model on the test set: accuracy, per-class metrics, confusion matrix.
    Eval(EvalArgs),
    /// Read the digit or whole number in PNG or JPEG pictures (any size, either polarity).
    Predict(PredictArgs),
    /// Fine-tune a model on your own handwriting: personal samples (the file the page's
    /// "Export samples" writes) mixed with MNIST training digits; prints the accuracy on the
    /// held-out personal samples and on the MNIST test set, before and after.
    Finetune(FinetuneArgs),
}

#[derive(Args, Debug)]
pub struct FinetuneArgs {
    /// Personal samples (JSON, format "digits-personal").
    #[arg(long)]
    pub personal: PathBuf,
    /// The model to start from.
    #[arg(long, default_value = SHIPPED_MODEL)]
    pub model: PathBuf,
    /// MNIST (training digits to replay, test digits to check the result on).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// The fine-tuned ONNX file.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The result does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Weights::F16)]
    pub weights: Weights,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long, default_value = SHIPPED_MODEL)]
    pub model: PathBuf,
    /// One JSON object per file and line: file, digit and probabilities (the picture read as
    /// one digit; null if blank), number and digits (read as a number: per digit its digit,
    /// probabilities and box [x, y, w, h] in pixels).
    #[arg(long)]
    pub json: bool,
    /// PNG or JPEG files.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Directory with the four IDX files (raw or .gz).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Output ONNX file; the report is written beside it as MODEL.report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Architecture spec, comma-separated layers (see the README).
    #[arg(long, default_value = crate::DEFAULT_ARCH)]
    pub arch: String,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.005)]
    pub lr: f32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: all cores). The result does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Train on the first N training images only.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Hold out the last N (of the used) training images for validation.
    #[arg(long, default_value_t = 1000)]
    pub val: usize,
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adamw)]
    pub optimizer: OptimizerKind,
    #[arg(long, value_enum, default_value_t = Schedule::Onecycle)]
    pub schedule: Schedule,
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f32,
    /// Label smoothing (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub smoothing: f32,
    /// Turn off data augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Elastic distortion strength in pixels (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub elastic: f32,
    /// Largest random shift of a training image, in pixels either way per axis.
    #[arg(long, default_value_t = Augment::DEFAULT.shift)]
    pub shift: f32,
    /// Largest random change of scale, as a share either way (0.12 = 88% to 112%).
    #[arg(long, default_value_t = Augment::DEFAULT.scale)]
    pub scale: f32,
    /// Largest random rotation, in degrees either way.
    #[arg(long, default_value_t = Augment::DEFAULT.rotate_deg)]
    pub rotate: f32,
    /// Largest random shear factor either way.
    #[arg(long, default_value_t = Augment::DEFAULT.shear)]
    pub shear: f32,
    /// Largest random change of the line's thickness either way, as a share of a 3x3
    /// thickening or thinning (0 = off).
    #[arg(long, default_value_t = Augment::DEFAULT.thickness)]
    pub thickness: f32,
    /// Share of training images redrawn from their traced strokes with an even, round pen (on
    /// the pad or as a picture) instead of the scan; 0 = scans only. The traces are made once
    /// and cached beside the data.
    #[arg(long, default_value_t = 0.3)]
    pub pen: f32,
    /// Turn and shear the strokes of the images redrawn with the pen before drawing them (by
    /// --rotate and --shear), instead of distorting the drawn image afterwards as a scan is:
    /// the model then trains on pen images as crisp as the page's, never resampled.
    #[arg(long)]
    pub pen_warp: bool,
    /// Average the weights over the steps of the last N epochs (stochastic weight averaging),
    /// then measure the batch-norm statistics again on 100 training batches; 0 = keep the last
    /// step's weights.
    #[arg(long, default_value_t = 0)]
    pub average_last: usize,
    /// Share of training images replaced by pieces of numbers that are not one digit (two
    /// digits or more read together; cut by the number reader from numbers written with
    /// the training digits), trained towards the even distribution so the model is unsure of
    /// them and the number reader cuts better (or, for an --arch ending with fc11, towards its
    /// eleventh output, "not one digit"); 0 = none. Needs the traces, as --pen does.
    #[arg(long, default_value_t = 0.0)]
    pub not_digits: f32,
    /// After training, fit an eleventh output, "not one digit", onto the trained network
    /// without changing it: a logistic regression of its last layer's input that tells
    /// pieces of numbers (as --not-digits cuts them) from single training digits. The ten
    /// digits' scores stay exactly as trained; the number reader gains. Needs an --arch
    /// ending with fc10 and the traces, as --pen does.
    #[arg(long)]
    pub doubt_head: bool,
    /// How the ONNX file stores conv and fully connected weights: f16 halves the file (what
    /// the page downloads before its first prediction) and changes a few answers at most (the
    /// report is measured on the file as written); f32 keeps them exactly as trained.
    #[arg(long, value_enum, default_value_t = Weights::F16)]
    pub weights: Weights,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long, default_value = SHIPPED_MODEL)]
    pub model: PathBuf,
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write confusion-matrix.svg and samples.svg (the report's sample digits) into DIR.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// How the test digits are shown: as scanned, or traced into pen strokes and drawn on the
    /// pad through the page's code, or drawn as pictures and read as `digits predict` reads them.
    #[arg(long, value_enum, default_value_t = Style::Scan)]
    pub style: Style,
    /// Seed of the drawings' random sizes, places, pens and paper (drawn and picture styles).
    #[arg(long, default_value_t = BENCH_SEED)]
    pub seed: u64,
    /// Read whole numbers instead: 2- to 5-digit numbers written with the traced test digits
    /// (each used once), drawn on the pad (`--style drawn`), as pictures (`--style picture`), or
    /// both (the default), and each test digit alone through the same reader.
    #[arg(long)]
    pub numbers: bool,
}

/// The seed of the drawn-digit benchmark's figures in the model report.
pub const BENCH_SEED: u64 = 1;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train_cmd(a),
        Command::Eval(a) => eval_cmd(a),
        Command::Predict(a) => predict_cmd(a),
        Command::Finetune(a) => finetune_cmd(a),
    }
}

/// `MODEL.onnx` -> `MODEL.report.json`.
pub fn report_path(model: &Path) -> PathBuf {
    model.with_extension("report.json")
}

/// The command line as typed, with the program named `digits`.
fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if !args.is_empty() {
        args[0] = "digits".into();
    }
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Loads a model file for `digits eval` and friends.
pub fn load_model(path: &Path) -> Result<Model> {
    let bytes = digits_core::files::read_regular(path, MAX_MODEL_BYTES)
        .with_context(|| format!("{}: cannot read the model", path.display()))?;
    let model = model_from_bytes(&bytes, &path.display().to_string())?;
    if model.applies_softmax() {
        eprintln!(
            "digits: note: {}: the model's outputs are scores, not probabilities; softmax is applied",
            path.display()
        );
    }
    Ok(model)
}

/// Refuses an `--out` that cannot be written (a directory, a path under a file, no permission)
/// before the run spends minutes training: creates its directory and a scratch file beside it.
fn check_writable(out: &Path) -> Result<()> {
    anyhow::ensure!(
        !out.is_dir(),
        "--out {}: is a directory; name the model file, like {}/model.onnx",
        out.display(),
        out.display()
    );
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out {}: cannot create {}", out.display(), dir.display()))?;
    }
    let probe = partial(out);
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out {}: cannot write there", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Where `path` is written before it is renamed into place.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` whole or not at all (a scratch file renamed into place), so a
/// failed or interrupted run never leaves a half-written model or report.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial(path);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("{}: cannot write", path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Images per run of the command line's model plans. tract's plan made for one image is its
/// fastest per image on our models, batches included (docs/performance.md, "Inference against
/// ONNX Runtime"), so batches run one image at a time, on every thread.
pub const PLAN_BATCH: usize = 1;

/// Images per slice of work handed to a thread: a large test set is never held as floats all at
/// once.
const SLICE: usize = 500;

/// Loads an ONNX model the way the command line runs it (a plan for [`PLAN_BATCH`] images).
pub fn model_from_bytes(bytes: &[u8], name: &str) -> Result<Model> {
    Ok(Model::from_bytes_for_batch(bytes, name, PLAN_BATCH)?)
}

/// Runs `inputs(slice)` then the model on every slice of `0..count`, on `threads` threads, and
/// returns the predicted digits in order (the same on any number of threads).
fn classify_slices(
    model: &Model,
    count: usize,
    threads: usize,
    inputs: impl Fn(std::ops::Range<usize>) -> Vec<f32> + Sync,
) -> Result<Vec<u8>> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let slices: Vec<_> = (0..count)
        .step_by(SLICE)
        .map(|first| first..(first + SLICE).min(count))
        .collect();
    let predicted = pool.install(|| {
        slices
            .into_par_iter()
            .map(|slice| model.classify(&inputs(slice), SLICE))
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(predicted.concat())
}

/// Classifies `data` with a loaded model on `threads` threads; returns the predictions.
pub fn classify(model: &Model, data: &Labelled, threads: usize) -> Result<Vec<u8>> {
    let pixels = &data.images.pixels;
    classify_slices(model, data.len(), threads, |slice| {
        to_input(&pixels[slice.start * PIXELS..slice.end * PIXELS])
    })
}

/// The model's answers for digits traced into `traces`, each redrawn in `style` with its own
/// random stream derived from `seed`, so the same seed gives the same drawings on any number
/// of threads. (Scans are [`classify`]'s.)
pub fn classify_drawn(
    model: &Model,
    traces: &[Vec<Stroke>],
    style: Style,
    seed: u64,
    threads: usize,
) -> Result<Vec<u8>> {
    classify_slices(model, traces.len(), threads, |slice| {
        slice
            .flat_map(|i| style.benchmark_input(seed, i, &traces[i]))
            .collect()
    })
}

fn all_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    let threads = a.threads.unwrap_or_else(all_threads);
    anyhow::ensure!(threads >= 1, "--threads must be at least 1");
    // Fail on a bad spec, bad settings or an unwritable --out before loading the data takes
    // time, and long before training does.
    let probe = crate::net::Network::new(&a.arch, a.seed)?;
    let cfg = TrainConfig {
        arch: a.arch.clone(),
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        threads,
        optimizer: a.optimizer,
        schedule: a.schedule,
        weight_decay: a.weight_decay,
        smoothing: a.smoothing,
        augment: if a.no_augment {
            Augment::NONE
        } else {
            Augment {
                rotate_deg: a.rotate,
                scale: a.scale,
                shear: a.shear,
                shift: a.shift,
                elastic: a.elastic,
                thickness: a.thickness,
            }
        },
        pen: if a.no_augment { 0.0 } else { a.pen },
        pen_warp: a.pen_warp,
        average_last: a.average_last,
        not_digits: a.not_digits,
        progress: true,
    };
    if a.doubt_head && probe.has_doubt() {
        anyhow::bail!(crate::doubt_head::DoubtError::NotTenScores(
            a.arch.rsplit(',').next().unwrap_or("").trim().to_string()
        ));
    }
    cfg.check()?;
    check_writable(&a.out)?;
    let data = resolve_default(&a.data, DEFAULT_DATA, "data set", "--data")?;
    let mut all = idx::load_split(&data, Split::Train)?;
    if let Some(limit) = a.limit {
        anyhow::ensure!(limit >= 1, "--limit must be at least 1");
        all = all.slice(0..limit.min(all.len()));
    }
    anyhow::ensure!(
        a.val < all.len(),
        "--val {} leaves no training images out of {}",
        a.val,
        all.len()
    );
    let cut = all.len() - a.val;
    let (train_set, val_set) = (all.slice(0..cut), all.slice(cut..all.len()));
    let train_traces = if cfg.pen > 0.0 || cfg.not_digits > 0.0 || a.doubt_head {
        Some(traces::load_or_trace(
            &data,
            &train_set.images.pixels,
            threads,
        )?)
    } else {
        None
    };
    let not_digits = match &train_traces {
        Some(t) if cfg.not_digits > 0.0 => {
            let clock = crate::clock::Clock::start();
            let pieces =
                crate::not_digits::make(t, cfg.seed, crate::not_digits::Kinds::Merges, threads)?;
            eprintln!(
                "cut {} pieces that are not one digit from numbers of training digits in {:.1} s",
                pieces.len() / digits_core::PIXELS,
                clock.seconds()
            );
            pieces
        }
        _ => Vec::new(),
    };
    let test = idx::load_split(&data, Split::Test)?;
    eprintln!(
        "training {} ({} parameters) on {} images ({} held out), {} threads",
        cfg.arch,
        probe.param_count(),
        train_set.len(),
        val_set.len(),
        threads
    );
    let trained = train::train_with(
        &cfg,
        &train_set,
        train_traces.as_deref(),
        &not_digits,
        &val_set,
        &test,
        |s| eprintln!("{s}"),
    )?;

    let net = match &train_traces {
        Some(t) if a.doubt_head => {
            crate::doubt_head::fit_on_training(&trained.net, &train_set, t, cfg.seed, threads)?
        }
        _ => trained.net,
    };
    let dataset = a.data.file_name().map_or_else(
        || a.data.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let command = command_line();
    let mut meta = vec![
        ("dataset".to_string(), dataset.clone()),
        ("arch".to_string(), net.spec.clone()),
        (
            "parameters".to_string(),
            net.model_param_count().to_string(),
        ),
        ("command".to_string(), command.clone()),
    ];
    // Measure the exported graph itself with tract, so the report equals `digits eval`.
    let draft = export::to_onnx(&net, &meta, a.weights);
    let model = model_from_bytes(&draft, "exported model")?;
    let predicted = classify(&model, &test, threads)?;
    let confusion = Confusion::from_predictions(&test.labels, &predicted);
    meta.push((
        "test_accuracy".to_string(),
        format!("{:.4}", confusion.accuracy()),
    ));
    let bytes = export::to_onnx(&net, &meta, a.weights);
    // The drawn-digit benchmark, on the same exported graph.
    let test_traces = traces::load_or_trace(&data, &test.images.pixels, threads)?;
    let mut styles = Vec::new();
    for style in [Style::Drawn, Style::Picture] {
        let predicted = classify_drawn(&model, &test_traces, style, BENCH_SEED, threads)?;
        let c = Confusion::from_predictions(&test.labels, &predicted);
        eprintln!(
            "test digits {}: {:.2}% ({}/{})",
            style.name(),
            100.0 * c.accuracy(),
            c.correct(),
            c.total()
        );
        styles.push(StyleFigures::from_confusion(&c, BENCH_SEED));
    }
    let picture = styles.pop();
    let drawn = styles.pop();
    write_atomically(&a.out, &bytes)?;
    let report = ModelReport {
        dataset,
        command,
        arch: net.spec.clone(),
        parameters: net.model_param_count(),
        onnx_bytes: bytes.len(),
        seed: cfg.seed,
        threads,
        epochs: cfg.epochs,
        batch: cfg.batch,
        lr: cfg.lr,
        train_images: train_set.len(),
        val_images: val_set.len(),
        train_seconds: trained.seconds,
        images_per_sec: trained.images_per_sec,
        history: trained.epochs,
        test: Evaluation::from_confusion(&confusion),
        drawn,
        picture,
        samples: pick_samples(&test.labels, &predicted, 100),
    };
    let rp = report_path(&a.out);
    write_atomically(&rp, report.to_json().as_bytes())?;
    eprintln!(
        "wrote {} ({} bytes) and {}: test accuracy {:.2}% ({}/{}) in {:.1} s",
        a.out.display(),
        bytes.len(),
        rp.display(),
        100.0 * confusion.accuracy(),
        confusion.correct(),
        confusion.total(),
        trained.seconds
    );
    Ok(())
}

fn eval_cmd(a: EvalArgs) -> Result<()> {
    let model_path = resolve_default(&a.model, SHIPPED_MODEL, "model", "--model")?;
    let model = load_model(&model_path)?;
    let data = resolve_default(&a.data, DEFAULT_DATA, "data set", "--data")?;
    let test = idx::load_split(&data, Split::Test)?;
    anyhow::ensure!(
        !test.is_empty(),
        "{}: the test set has no images, so there is nothing to evaluate",
        data.display()
    );
    if a.numbers {
        return numbers_cmd(&a, &model, &data, &test);
    }
    // The drawn styles' traces, made (or read) once: for the answers and the sample grid.
    let traces = match a.style {
        Style::Scan => None,
        _ => Some(traces::load_or_trace(
            &data,
            &test.images.pixels,
            all_threads(),
        )?),
    };
    let predicted = match &traces {
        Some(t) => classify_drawn(&model, t, a.style, a.seed, all_threads())?,
        None => classify(&model, &test, all_threads())?,
    };
    let confusion = Confusion::from_predictions(&test.labels, &predicted);
    if let Some(dir) = &a.svg {
        // The sample grid shows what the model saw: the scans, or the digits as drawn.
        let pixels = |i: usize| match &traces {
            Some(t) => a.style.benchmark_input(a.seed, i, &t[i]),
            None => test.input(i),
        };
        let report = (a.style == Style::Scan).then_some(model_path.as_path());
        write_svgs(dir, report, &test, &predicted, &confusion, pixels)?;
    }
    if a.json {
        let mut v = serde_json::to_value(Evaluation::from_confusion(&confusion))?;
        v["model"] = a.model.display().to_string().into();
        v["data"] = a.data.display().to_string().into();
        v["style"] = a.style.name().into();
        if a.style != Style::Scan {
            v["seed"] = a.seed.into();
        }
        println!("{}", serde_json::to_string(&v)?);
    } else {
        let how = match a.style {
            Style::Scan => String::new(),
            s => format!(", digits {} (seed {})", s.name(), a.seed),
        };
        println!("{} on {}{how}", a.model.display(), a.data.display());
        print!("{}", confusion.table());
    }
    Ok(())
}

/// `digits eval --numbers`: the numbers benchmark in one style or both.
fn numbers_cmd(a: &EvalArgs, model: &Model, data: &Path, test: &Labelled) -> Result<()> {
    use crate::numbers::{self, Figures, LENGTHS};
    let styles = match a.style {
        Style::Scan => vec![Style::Drawn, Style::Picture],
        s => vec![s],
    };
    let traces = traces::load_or_trace(data, &test.images.pixels, all_threads())?;
    let mut results = Vec::new();
    for style in styles {
        let t0 = std::time::Instant::now();
        let (read, alone) = numbers::evaluate(
            model,
            &numbers::priors(style),
            style,
            a.seed,
            &traces,
            &test.labels,
            all_threads(),
        )?;
        let seconds = t0.elapsed().as_secs_f64();
        let mut rows: Vec<Figures> = LENGTHS
            .iter()
            .map(|&n| Figures::of(Some(n), read.iter().filter(|o| o.truth.len() == n)))
            .collect();
        // The last number can be longer than 5 (it takes what is left).
        let longer = Figures::of(None, read.iter().filter(|o| o.truth.len() > 5));
        if longer.numbers > 0 {
            rows.push(Figures {
                length: Some(6),
                ..longer
            });
        }
        let all = Figures::of(None, read.iter());
        let lone = Figures::of(Some(1), alone.iter().map(|a| &a.0));
        let whole = Figures::of(Some(1), alone.iter().map(|a| &a.1));
        let mistakes: Vec<_> = read
            .iter()
            .filter(|o| !o.exact())
            .take(30)
            .map(|o| serde_json::json!({"truth": o.truth, "read": o.read}))
            .collect();
        if a.json {
            results.push(serde_json::json!({
                "style": style.name(),
                "seed": a.seed,
                "numbers": all,
                "by_length": rows,
                "alone": lone,
                "alone_read_whole": whole,
                "seconds": seconds,
                "mistakes": mistakes,
            }));
            continue;
        }
        let pct = |p: usize, w: usize| format!("{:.2}%", 100.0 * Figures::share(p, w));
        println!(
            "{} on {}: numbers drawn {} (seed {}), {:.1} s",
            a.model.display(),
            data.display(),
            match style {
                Style::Picture => "as pictures, read as `digits predict` reads them",
                _ => "on the pad, read by the page's code",
            },
            a.seed,
            seconds
        );
        println!("digits  numbers  right count  read exactly");
        for f in rows.iter().chain([&all]) {
            let len = f.length.map_or("all".to_string(), |n| {
                if n > 5 { "6+".into() } else { n.to_string() }
            });
            println!(
                "{len:<6}  {:>7}  {:>11}  {:>12}",
                f.numbers,
                pct(f.count_right, f.numbers),
                pct(f.exact, f.numbers)
            );
        }
        println!(
            "each test digit alone: {} read as one digit ({} split), {} read right; read whole, as before numbers: {}",
            pct(lone.count_right, lone.numbers),
            lone.numbers - lone.count_right,
            pct(lone.exact, lone.numbers),
            pct(whole.exact, whole.numbers)
        );
        if !mistakes.is_empty() {
            let shown: Vec<String> = read
                .iter()
                .filter(|o| !o.exact())
                .take(12)
                .map(|o| format!("{}->{}", o.truth, o.read))
                .collect();
            println!("first mistakes (true->read): {}", shown.join(" "));
        }
    }
    if a.json {
        println!("{}", serde_json::to_string(&results)?);
    }
    Ok(())
}

/// How sure the model is that a digit read is `d`, as the page says it: the ten scores' own
/// probability, and "may not be one digit" where a doubt output doubts it.
fn sure(p: &Prediction, d: usize) -> String {
    let doubt = if p.doubted() {
        ", may not be one digit"
    } else {
        ""
    };
    format!("{:.1}%{doubt}", 100.0 * p.digit[d])
}

fn predict_cmd(a: PredictArgs) -> Result<()> {
    let model = load_model(&resolve_default(
        &a.model,
        SHIPPED_MODEL,
        "model",
        "--model",
    )?)?;
    let mut failed = 0;
    for path in &a.images {
        let name = path.display().to_string();
        let result = crate::predict::read_file(&model, path);
        if a.json {
            let v = match &result {
                Ok(r) => {
                    let whole = r.as_ref().map(|r| r.whole);
                    let p = whole.map(|w| w.probabilities);
                    let digits = r.as_ref().map_or(&[][..], |r| r.digits.as_slice());
                    serde_json::json!({
                        "file": name,
                        "digit": p.map(|p| digits_core::metrics::argmax(&p)),
                        "probabilities": p.map(|p| p.to_vec()),
                        "one_digit": whole.and_then(|w| w.one_digit),
                        "number": digits_core::segment::number(digits),
                        "digits": digits.iter().map(|d| serde_json::json!({
                            "digit": d.digit(),
                            "probabilities": d.probabilities().map(|p| p.to_vec()),
                            "one_digit": d.prediction.and_then(|p| p.one_digit),
                            "box": [d.rect.x0, d.rect.y0, d.rect.width(), d.rect.height()],
                        })).collect::<Vec<_>>(),
                    })
                }
                Err(e) => serde_json::json!({ "file": name, "error": format!("{e:#}") }),
            };
            println!("{v}");
        } else {
            match &result {
                Ok(Some(r)) if r.digits.len() > 1 => {
                    let sure: Vec<String> = r
                        .digits
                        .iter()
                        .map(|d| match (d.digit(), &d.prediction) {
                            (Some(k), Some(p)) => format!("{k} {}", sure(p, k)),
                            _ => "? (no answer)".into(),
                        })
                        .collect();
                    println!(
                        "{name}: {} ({} digits: {})",
                        digits_core::segment::number(&r.digits),
                        r.digits.len(),
                        sure.join(", ")
                    );
                }
                Ok(Some(r)) => {
                    let p = &r.whole.digit;
                    let d = digits_core::metrics::argmax(p).unwrap_or(0);
                    let all: Vec<String> = p.iter().map(|v| format!("{v:.3}")).collect();
                    println!("{name}: {d} ({})  [{}]", sure(&r.whole, d), all.join(" "));
                }
                Ok(None) => println!("{name}: blank (no digit found)"),
                Err(e) => eprintln!("digits: {name}: {e:#}"),
            }
        }
        failed += result.is_err() as usize;
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} files could not be read",
        a.images.len()
    );
    Ok(())
}

/// The sample indices of the model's report (beside it), or a fresh pick if it has none or it
/// cannot be read (said on stderr).
fn sample_indices(model: &Path, test: &Labelled, predicted: &[u8]) -> Vec<usize> {
    let path = report_path(model);
    let name = path.display().to_string();
    let from_report = match std::fs::read(&path) {
        Ok(bytes) => match ModelReport::from_json(&bytes, &name) {
            Ok(r) if r.test.total as usize == test.len() => Some(r.samples),
            Ok(r) => {
                eprintln!(
                    "digits: {name} is about {} test digits, not {}: picking the samples afresh",
                    r.test.total,
                    test.len()
                );
                None
            }
            Err(e) => {
                eprintln!("digits: {e}; picking the samples afresh");
                None
            }
        },
        Err(_) => None,
    };
    match from_report {
        Some(v) if !v.is_empty() => v,
        _ => pick_samples(&test.labels, predicted, 100),
    }
}

/// Writes the confusion matrix and a sample grid into `dir`: the samples of the report beside
/// `report_of` (or picked afresh), each drawn with `pixels_of(test index)`.
fn write_svgs(
    dir: &Path,
    report_of: Option<&Path>,
    test: &Labelled,
    predicted: &[u8],
    confusion: &Confusion,
    pixels_of: impl Fn(usize) -> Vec<f32>,
) -> Result<()> {
    use digits_core::svg;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let cm = dir.join("confusion-matrix.svg");
    std::fs::write(&cm, svg::confusion_matrix(&confusion.counts))
        .with_context(|| format!("{}: cannot write", cm.display()))?;
    let indices = match report_of {
        Some(model) => sample_indices(model, test, predicted),
        None => pick_samples(&test.labels, predicted, 100),
    };
    let pixels: Vec<Vec<f32>> = indices.iter().map(|&i| pixels_of(i)).collect();
    let samples: Vec<svg::Sample<'_>> = indices
        .iter()
        .zip(&pixels)
        .map(|(&i, px)| svg::Sample {
            index: i,
            pixels: px,
            truth: test.labels[i],
            predicted: predicted[i],
        })
        .collect();
    let sp = dir.join("samples.svg");
    std::fs::write(&sp, svg::sample_grid(&samples, svg::SAMPLE_COLUMNS))
        .with_context(|| format!("{}: cannot write", sp.display()))?;
    eprintln!("wrote {} and {}", cm.display(), sp.display());
    Ok(())
}

/// A personal samples file is refused past this size.
pub const MAX_PERSONAL_BYTES: u64 = 64 << 20;

fn finetune_cmd(a: FinetuneArgs) -> Result<()> {
    use crate::finetune::{self, FineTune};
    use digits_core::personal::Samples;
    let threads = a.threads.unwrap_or_else(all_threads);
    anyhow::ensure!(threads >= 1, "--threads must be at least 1");
    let name = a.personal.display().to_string();
    let bytes = digits_core::files::read_regular(&a.personal, MAX_PERSONAL_BYTES)
        .with_context(|| format!("{name}: cannot read the personal samples"))?;
    let samples = Samples::from_json(&bytes, &name)?;
    let (train_idx, held_idx) = samples.split();
    anyhow::ensure!(
        !train_idx.is_empty(),
        "{name}: no samples to fine-tune on (the file has {})",
        samples.len()
    );
    let model_path = resolve_default(&a.model, SHIPPED_MODEL, "model", "--model")?;
    let model_name = model_path.display().to_string();
    let model_bytes = digits_core::files::read_regular(&model_path, MAX_MODEL_BYTES)
        .with_context(|| format!("{model_name}: cannot read the model"))?;
    let net = crate::import::from_onnx(&model_bytes, &model_name)?;
    check_writable(&a.out)?;
    let data = resolve_default(&a.data, DEFAULT_DATA, "data set", "--data")?;
    let mnist = idx::load_split(&data, Split::Train)?;
    let test = idx::load_split(&data, Split::Test)?;
    let (personal, held) = (samples.labelled(&train_idx), samples.labelled(&held_idx));
    let ft = FineTune::DEFAULT;
    let before = finetune::accuracy(&net, &held, threads)?;
    let mnist_before = finetune::accuracy(&net, &test, threads)?;
    let clock = crate::clock::Clock::start();
    let tuned = finetune::fine_tune(net, &personal, &mnist, &ft, threads)?;
    let seconds = clock.seconds();
    let after = finetune::accuracy(&tuned, &held, threads)?;
    let mnist_after = finetune::accuracy(&tuned, &test, threads)?;
    let meta = finetune::metadata(&tuned, &command_line(), mnist_after, samples.len());
    write_atomically(&a.out, &export::to_onnx(&tuned, &meta, a.weights))?;
    if a.json {
        let v = serde_json::json!({
            "samples": samples.len(),
            "trained_on": train_idx.len(),
            "held_out": held_idx.len(),
            "before": before,
            "after": after,
            "mnist_before": mnist_before,
            "mnist_after": mnist_after,
            "images": ft.images(train_idx.len()),
            "seconds": seconds,
            "out": a.out.display().to_string(),
        });
        println!("{v}");
    } else {
        println!(
            "fine-tuned {model_name} on {} of {} personal samples (with {} MNIST digits replayed) in {seconds:.1} s",
            train_idx.len(),
            samples.len(),
            ft.replay
        );
        println!(
            "held-out personal samples ({}): {:.1}% -> {:.1}%",
            held_idx.len(),
            100.0 * before,
            100.0 * after
        );
        println!(
            "MNIST test digits ({}): {:.2}% -> {:.2}%",
            test.len(),
            100.0 * mnist_before,
            100.0 * mnist_after
        );
        println!("wrote {}", a.out.display());
    }
    Ok(())
}
