//! The `digits` command line, run as a user would: train, eval, the shipped model, bad input.

mod common;

use common::{digits, digits_in, fails_with, root, stderr, tmp};

use std::path::Path;
use std::process::{Command, Output};

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn confusion_total(v: &serde_json::Value) -> u64 {
    let rows = v["confusion"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    rows.iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            assert_eq!(r.len(), 10);
            r.iter().map(|c| c.as_u64().unwrap()).sum::<u64>()
        })
        .sum()
}

#[test]
fn train_then_eval_agree() {
    let data = common::data_dir();
    let dir = tmp("train");
    let model = dir.join("m.onnx");
    let out = digits(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--limit",
        "1500",
        "--val",
        "300",
        "--epochs",
        "1",
        "--threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("epoch  1"), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.report.json")).unwrap()).unwrap();
    assert_eq!(report["train_images"], 1200);
    assert_eq!(report["val_images"], 300);
    assert_eq!(confusion_total(&report), 10_000);
    assert_eq!(report["samples"].as_array().unwrap().len(), 100);
    assert!(
        report["command"]
            .as_str()
            .unwrap()
            .starts_with("digits train --data")
    );
    let meta = digits_train::export::metadata(&std::fs::read(&model).unwrap()).unwrap();
    for key in ["dataset", "arch", "parameters", "command", "test_accuracy"] {
        assert!(
            meta.iter().any(|(k, _)| k == key),
            "metadata lacks {key}: {meta:?}"
        );
    }

    // `digits eval --json` of the trained model, with more options.
    let eval_json = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&digits(&args))
    };
    let eval = eval_json(&[]);
    assert_eq!(eval["accuracy"], report["accuracy"]);
    assert_eq!(eval["correct"], report["correct"]);
    assert_eq!(eval["confusion"], report["confusion"]);
    assert_eq!(eval["total"], 10_000);
    // The drawn-digit figures of the report are `digits eval --style` with the same seed.
    for style in ["drawn", "picture"] {
        let eval = eval_json(&["--style", style]);
        assert_eq!(eval["style"], style);
        assert_eq!(eval["seed"], report[style]["seed"]);
        assert_eq!(eval["confusion"], report[style]["confusion"], "{style}");
        assert_eq!(eval["correct"], report[style]["correct"], "{style}");
    }

    let table = digits(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("confusion matrix") && text.contains("precision"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--doubt-head` adds an eleventh output to the trained network and changes no answer: the
/// same run without it reads every test digit, scanned, drawn and as a picture, the same way.
#[test]
fn a_doubt_head_is_fitted_after_training_and_changes_no_answer() {
    let data = common::data_dir();
    let dir = tmp("doubt-head");
    let run = |name: &str, extra: &[&str]| {
        let model = dir.join(format!("{name}.onnx"));
        let mut settings = vec!["--limit", "1500", "--threads", "2"];
        settings.extend_from_slice(extra);
        let out = digits(&train_args(
            data.to_str().unwrap(),
            model.to_str().unwrap(),
            &settings,
        ));
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.report.json"))).unwrap(),
        )
        .unwrap();
        (report, stderr(&out))
    };
    let (plain, _) = run("plain", &[]);
    let (doubted, log) = run("doubted", &["--doubt-head"]);
    assert!(log.contains("fitted a doubt output on the "), "{log}");
    // The first fifteenth of the 1,500 training digits is held out of the fit (for tuning).
    assert!(
        log.contains(" of 4200 digits (the first 100 training digits held out) and "),
        "{log}"
    );
    // The network is the plain one; the doubt output sits beside it.
    assert_eq!(doubted["arch"], plain["arch"]);
    for key in ["correct", "confusion"] {
        assert_eq!(doubted[key], plain[key], "scans: {key}");
        for style in ["drawn", "picture"] {
            assert_eq!(doubted[style][key], plain[style][key], "{style}: {key}");
        }
    }
    // The file reads back into the trainer (fine-tuning) with its doubt output, which reads
    // the maps before pooling (7 x 7 of each channel) and counts in the parameters.
    let bytes = std::fs::read(dir.join("doubted.onnx")).unwrap();
    let net = digits_train::import::from_onnx(&bytes, "doubted.onnx").unwrap();
    let side = net.side_doubt.as_ref().expect("a doubt output");
    let maps = net.layers[side.layer].output;
    assert_eq!((maps.h, maps.w), (7, 7), "{}", net.spec);
    assert_eq!(
        doubted["parameters"].as_u64().unwrap(),
        plain["parameters"].as_u64().unwrap() + maps.size() as u64 + 1
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The model the page ships reaches the target, and its report tells the truth.
#[test]
fn shipped_model_reaches_995_and_matches_its_report() {
    let _ = common::data_dir();
    let eval = json(&digits(&["eval", "--json"]));
    let acc = eval["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.995, "shipped model accuracy {acc}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("web/assets/model.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(eval["accuracy"], report["accuracy"]);
    assert_eq!(eval["confusion"], report["confusion"]);
    assert!(report["parameters"].as_u64().unwrap() <= 100_000);
    let size = std::fs::metadata(root().join("web/assets/model.onnx"))
        .unwrap()
        .len();
    assert!(size < 500_000, "model is {size} bytes");
    assert_eq!(report["onnx_bytes"].as_u64().unwrap(), size);
    let samples = report["samples"].as_array().unwrap();
    assert!(samples.len() >= 90);
    assert!(
        report["command"]
            .as_str()
            .unwrap()
            .starts_with("digits train")
    );
}

#[test]
fn missing_data_names_the_file() {
    let dir = tmp("nodata");
    let out = digits(&["eval", "--data", dir.to_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("t10k-images-idx3-ubyte") && e.contains(dir.to_str().unwrap()),
        "{e}"
    );
}

#[test]
fn corrupt_idx_file_names_the_file() {
    let dir = tmp("corrupt");
    let data = common::data_dir();
    let labels = "t10k-labels-idx1-ubyte";
    std::fs::copy(data.join(labels), dir.join(labels)).unwrap();
    let imgs = std::fs::read(data.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &imgs[..imgs.len() / 2]).unwrap();
    let out = digits(&["eval", "--data", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("t10k-images-idx3-ubyte") && e.contains("truncated"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_model_and_bad_arch_are_clear_errors() {
    let dir = tmp("badmodel");
    let model = dir.join("junk.onnx");
    std::fs::write(&model, b"this is not a model").unwrap();
    let data = common::data_dir();
    let out = digits(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("junk.onnx"), "{}", stderr(&out));
    let missing = digits(&["eval", "--model", "nope/none.onnx"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("nope/none.onnx"));

    let out = digits(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        Path::new(&dir).join("x.onnx").to_str().unwrap(),
        "--arch",
        "conv8k3,relu,pool2,fc10",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("layer 3 `pool2`"), "{}", stderr(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `digits eval --svg DIR`: the confusion matrix equals the report's, the sample grid shows the
/// report's sample digits with their mistakes marked.
#[test]
fn eval_writes_svg_report() {
    let _ = common::data_dir();
    let dir = tmp("svg");
    let eval = json(&digits(&["eval", "--json", "--svg", dir.to_str().unwrap()]));
    let cm = std::fs::read_to_string(dir.join("confusion-matrix.svg")).unwrap();
    let doc = roxmltree::Document::parse(&cm).unwrap();
    let mut total = 0;
    for n in doc
        .descendants()
        .filter(|n| n.attribute("data-count").is_some())
    {
        let t: usize = n.attribute("data-true").unwrap().parse().unwrap();
        let p: usize = n.attribute("data-pred").unwrap().parse().unwrap();
        let k: u64 = n.attribute("data-count").unwrap().parse().unwrap();
        assert_eq!(eval["confusion"][t][p].as_u64().unwrap(), k);
        total += k;
    }
    assert_eq!(total, 10_000);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("web/assets/model.report.json")).unwrap(),
    )
    .unwrap();
    let samples = std::fs::read_to_string(dir.join("samples.svg")).unwrap();
    let doc = roxmltree::Document::parse(&samples).unwrap();
    let shown: Vec<u64> = doc
        .descendants()
        .filter_map(|n| n.attribute("data-index"))
        .map(|i| i.parse().unwrap())
        .collect();
    let wanted: Vec<u64> = report["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(shown, wanted);
    let wrong = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("sample wrong"))
        .count();
    let mistakes = 10_000 - eval["correct"].as_u64().unwrap() as usize;
    assert_eq!(
        wrong,
        mistakes.min(40),
        "the report's grid opens with up to 40 mistakes"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The shipped model reads drawn digits nearly as well as scans: the drawn-digit benchmark's
/// figures stay above the scan-only model's and equal the report's; another seed draws other
/// digits.
#[test]
fn shipped_model_reads_drawn_digits_and_matches_its_report() {
    let _ = common::data_dir();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("web/assets/model.report.json")).unwrap(),
    )
    .unwrap();
    let scans = report["accuracy"].as_f64().unwrap();
    for style in ["drawn", "picture"] {
        let eval = json(&digits(&["eval", "--style", style, "--json"]));
        let acc = eval["accuracy"].as_f64().unwrap();
        // A floor, not the 99.0% target (not reached yet): the scan-only model read
        // 98.34% drawn and 98.37% as pictures; the pen-trained model must stay clearly above.
        assert!(acc >= 0.985, "{style}: {acc}");
        assert!(scans - acc <= 0.01, "{style}: {acc}, scans {scans}");
        assert_eq!(eval["seed"], 1);
        assert_eq!(eval["confusion"], report[style]["confusion"], "{style}");
        assert_eq!(eval["accuracy"], report[style]["accuracy"], "{style}");
    }
    let other = json(&digits(&[
        "eval", "--style", "drawn", "--seed", "2", "--json",
    ]));
    assert_eq!(other["seed"], 2);
    assert_ne!(other["confusion"], report["drawn"]["confusion"]);
}

// Hardening: each test below reproduces a finding of the adversarial probe (issue 11).

fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train", "--data", data, "--out", out, "--epochs", "1", "--val", "0",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn training_that_diverges_writes_no_model() {
    let data = common::data_dir();
    let dir = tmp("diverge");
    let model = dir.join("m.onnx");
    let args = train_args(
        data.to_str().unwrap(),
        model.to_str().unwrap(),
        &["--lr", "1e30", "--limit", "256", "--no-augment"],
    );
    let out = digits(&args);
    fails_with(&out, "training diverged");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "nothing may be written: {left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_settings_are_refused_before_the_data_is_read() {
    let dir = tmp("settings");
    let model = dir.join("m.onnx");
    // The data directory does not exist: each error must be about the setting, found first.
    let no_data = dir.join("no-data");
    for (flag, value, expected) in [
        (
            "--smoothing",
            "nan",
            "--smoothing must be at least 0 and below 1, got NaN",
        ),
        (
            "--smoothing",
            "1",
            "--smoothing must be at least 0 and below 1",
        ),
        (
            "--weight-decay",
            "-1",
            "--weight-decay must be a number of at least 0",
        ),
        (
            "--elastic",
            "inf",
            "--elastic must be a number of at least 0 pixels",
        ),
        ("--lr", "0", "--lr must be a positive number"),
        ("--batch", "0", "--batch must be at least 1"),
        ("--pen", "1.5", "--pen must be a share from 0 to 1, got 1.5"),
        (
            "--shift",
            "-1",
            "--shift must be at least 0 and below 14 pixels, got -1",
        ),
        (
            "--scale",
            "0.5",
            "--scale must be a share of at least 0 and below 0.5, got 0.5",
        ),
        (
            "--rotate",
            "nan",
            "--rotate must be from 0 to 180 degrees, got NaN",
        ),
        ("--shear", "inf", "--shear must be at least 0 and below 1"),
        ("--thickness", "2", "--thickness must be from 0 to 1, got 2"),
        (
            "--arch",
            "flatten,fc11",
            "--arch ends with fc11, a \"not one digit\" output: it needs --not-digits above 0",
        ),
    ] {
        let setting = format!("{flag}={value}");
        let out = digits(&train_args(
            no_data.to_str().unwrap(),
            model.to_str().unwrap(),
            &[&setting],
        ));
        fails_with(&out, expected);
    }
    // A doubt output is fitted onto ten scores, not onto a network that has one already.
    let out = digits(&train_args(
        no_data.to_str().unwrap(),
        model.to_str().unwrap(),
        &["--arch=flatten,fc11", "--not-digits=0.05", "--doubt-head"],
    ));
    fails_with(
        &out,
        "--doubt-head: the network must end with fc10 (it ends with fc11)",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_out_is_refused_before_training() {
    let dir = tmp("out");
    let data = common::data_dir();
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = file.join("m.onnx");
    for (out, expected) in [
        (dir.to_str().unwrap(), "is a directory"),
        (under_file.to_str().unwrap(), "cannot create"),
    ] {
        let started = std::time::Instant::now();
        let run = digits(&train_args(data.to_str().unwrap(), out, &[]));
        fails_with(&run, expected);
        // Refused up front: a full run takes minutes.
        assert!(started.elapsed().as_secs() < 30, "{out}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn huge_networks_are_errors_not_panics() {
    let data = common::data_dir();
    let dir = tmp("huge");
    let model = dir.join("m.onnx");
    let long = vec!["relu"; 20_000].join(",");
    for (arch, expected) in [
        ("flatten,fc4611686018427387904,fc10", "at most 4096"),
        (
            "conv1k18446744073709551590p18446744073709551589,flatten,fc10",
            "is larger than",
        ),
        ("conv99999999k3,gap,fc10", "at most 4096"),
        ("flatten,fc4096,fc4096,fc4096,fc10", "at most 10000000"),
        (long.as_str(), "at most 100"),
    ] {
        let out = digits(&train_args(
            data.to_str().unwrap(),
            model.to_str().unwrap(),
            &["--arch", arch],
        ));
        fails_with(&out, expected);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn workspaces_follow_the_data_and_memory_is_estimated_first() {
    let data = common::data_dir();
    let dir = tmp("batch");
    let model = dir.join("m.onnx");
    // A batch far larger than the data: sized by the 56 images, it trains.
    let out = digits(&train_args(
        data.to_str().unwrap(),
        model.to_str().unwrap(),
        &["--batch", "60000", "--limit", "56", "--no-augment"],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(model.exists());
    // A wide network in large batches would need tens of GB: refused with the estimate.
    let out = digits(&train_args(
        data.to_str().unwrap(),
        dir.join("big.onnx").to_str().unwrap(),
        &["--arch", "conv1200k3p1,gap,fc10", "--batch", "4096"],
    ));
    fails_with(&out, "would need about");
    assert!(stderr(&out).contains("smaller --batch"), "{}", stderr(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn pipes_devices_and_directories_are_refused_at_once() {
    let dir = tmp("special");
    let fifo = dir.join("fifo.png");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let good = root().join("web/assets/icon-192.png");
    // The FIFO would block forever if it were opened; the file after it is still read.
    let out = digits(&[
        "predict",
        fifo.to_str().unwrap(),
        "/dev/zero",
        good.to_str().unwrap(),
    ]);
    fails_with(&out, "2 of 3 files could not be read");
    let e = stderr(&out);
    assert!(e.contains("fifo.png: not a regular file"), "{e}");
    assert!(e.contains("/dev/zero: not a regular file"), "{e}");
    for model in ["/dev/zero", fifo.to_str().unwrap(), dir.to_str().unwrap()] {
        let out = digits(&["eval", "--model", model]);
        fails_with(&out, "not a regular file");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_empty_test_set_and_a_missing_directory_are_named() {
    let dir = tmp("empty");
    // Valid IDX files holding no images.
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28];
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &images).unwrap();
    images.truncate(8);
    images[3] = 1;
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), &images).unwrap();
    let out = digits(&["eval", "--data", dir.to_str().unwrap()]);
    fails_with(&out, "the test set has no images");
    let missing = dir.join("nowhere");
    let out = digits(&["eval", "--data", missing.to_str().unwrap()]);
    fails_with(&out, "nowhere: no such directory");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_default_model_is_found_outside_the_repository() {
    let dir = tmp("elsewhere");
    let data = common::data_dir();
    let out = digits_in(&dir, &["eval", "--json", "--data", data.to_str().unwrap()]);
    assert!(json(&out)["accuracy"].as_f64().unwrap() > 0.99);
    // The default data set too.
    let out = digits_in(&dir, &["eval", "--json"]);
    assert_eq!(json(&out)["total"], 10_000);
    std::fs::remove_dir_all(dir).unwrap();
}
