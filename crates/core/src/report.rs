//! The model report, `MODEL.report.json`: written beside a trained model by `digits train`, read
//! by `digits eval` (its sample digits) and by the page (the stored figures it shows until its
//! own check has run). One type with serde, the only way any side writes or reads the file.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CLASSES;
use crate::metrics::{ClassMetrics, Confusion};

/// What went wrong reading a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{name}: not a model report: {reason}")]
    Invalid { name: String, reason: String },
}

/// Accuracy, confusion matrix and per-class metrics of a model on a test set (also what
/// `digits eval --json` prints).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub accuracy: f64,
    pub correct: u32,
    pub total: u32,
    /// `confusion[true][predicted]`.
    pub confusion: [[u32; CLASSES]; CLASSES],
    pub per_class: Vec<ClassMetrics>,
}

impl Evaluation {
    pub fn from_confusion(c: &Confusion) -> Evaluation {
        Evaluation {
            accuracy: c.accuracy(),
            correct: c.correct(),
            total: c.total(),
            confusion: c.counts,
            per_class: c.per_class(),
        }
    }

    /// The confusion matrix as a [`Confusion`].
    pub fn matrix(&self) -> Confusion {
        Confusion {
            counts: self.confusion,
        }
    }
}

/// How a model reads the test digits traced into pen strokes and redrawn (the drawn-digit
/// benchmark, `digits eval --style drawn|picture --seed N`): the same digits, the same answers
/// for the same seed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StyleFigures {
    pub seed: u64,
    pub accuracy: f64,
    pub correct: u32,
    pub total: u32,
    /// `confusion[true][predicted]`.
    pub confusion: [[u32; CLASSES]; CLASSES],
}

impl StyleFigures {
    pub fn from_confusion(c: &Confusion, seed: u64) -> StyleFigures {
        StyleFigures {
            seed,
            accuracy: c.accuracy(),
            correct: c.correct(),
            total: c.total(),
            confusion: c.counts,
        }
    }
}

/// What one training epoch measured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Epoch {
    pub epoch: usize,
    pub loss: f64,
    pub train_accuracy: f64,
    pub val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Seconds since training started, at the end of this epoch.
    pub elapsed_seconds: f64,
    /// Training images per second during this epoch (evaluation excluded).
    pub images_per_sec: f64,
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {:>2}  loss {:.4}  train {:.2}%",
            self.epoch,
            self.loss,
            100.0 * self.train_accuracy
        )?;
        if let Some(v) = self.val_accuracy {
            write!(f, "  val {:.2}%", 100.0 * v)?;
        }
        if let Some(t) = self.test_accuracy {
            write!(f, "  test {:.2}%", 100.0 * t)?;
        }
        write!(
            f,
            "  {:.0} img/s  {:.1} s",
            self.images_per_sec, self.elapsed_seconds
        )
    }
}

/// Everything about a trained model: how it was made and how well it does on the test set
/// (measured with tract on the exported ONNX file, so it equals `digits eval`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModelReport {
    pub dataset: String,
    pub command: String,
    pub arch: String,
    pub parameters: usize,
    pub onnx_bytes: usize,
    pub seed: u64,
    pub threads: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub train_images: usize,
    pub val_images: usize,
    pub train_seconds: f64,
    pub images_per_sec: f64,
    pub history: Vec<Epoch>,
    #[serde(flatten)]
    pub test: Evaluation,
    /// The test digits drawn on the pad through the page's code (absent in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn: Option<StyleFigures>,
    /// The test digits drawn as pictures and read as `digits predict` reads them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<StyleFigures>,
    /// Test-set indices for a sample grid: the first mistakes, then correct digits of every
    /// class.
    pub samples: Vec<usize>,
}

impl ModelReport {
    /// Reads a report from its JSON text. `name` identifies it in errors (a path or URL). Besides
    /// the format, the figures must agree: the matrix adds up to `total`, its diagonal to
    /// `correct`, and every sample index is a test digit.
    pub fn from_json(bytes: &[u8], name: &str) -> Result<ModelReport, ReportError> {
        let invalid = |reason: String| ReportError::Invalid {
            name: name.to_string(),
            reason,
        };
        let report: ModelReport =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        report.checked(name)
    }

    /// The report, if its figures agree (see [`ModelReport::from_json`]); for a report decoded
    /// some other way (the page lets the browser parse the JSON).
    pub fn checked(self, name: &str) -> Result<ModelReport, ReportError> {
        let invalid = |reason: String| ReportError::Invalid {
            name: name.to_string(),
            reason,
        };
        let report = self;
        let m = report.test.matrix();
        if m.total() != report.test.total || m.correct() != report.test.correct {
            return Err(invalid(format!(
                "the confusion matrix holds {} digits, {} right, but the report says {} and {}",
                m.total(),
                m.correct(),
                report.test.total,
                report.test.correct
            )));
        }
        for (style, f) in [("drawn", &report.drawn), ("picture", &report.picture)] {
            let Some(f) = f else { continue };
            let m = Confusion {
                counts: f.confusion,
            };
            if m.total() != f.total || m.correct() != f.correct || f.total != report.test.total {
                return Err(invalid(format!(
                    "the {style} figures' matrix holds {} digits, {} right, but they say {} of {} (and the test set has {})",
                    m.total(),
                    m.correct(),
                    f.correct,
                    f.total,
                    report.test.total
                )));
            }
        }
        if let Some(&i) = report
            .samples
            .iter()
            .find(|&&i| i >= report.test.total as usize)
        {
            return Err(invalid(format!(
                "sample index {i} is past the {} test digits",
                report.test.total
            )));
        }
        Ok(report)
    }

    /// The report as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes") + "\n"
    }
}

/// Picks up to `n` test indices for a sample grid: up to 40% mistakes (in index order), the
/// rest correct predictions taken round-robin over the digits.
pub fn pick_samples(labels: &[u8], predicted: &[u8], n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] != predicted[i])
        .take(n * 2 / 5)
        .collect();
    let mut per_digit: Vec<Vec<usize>> = vec![Vec::new(); CLASSES];
    for (i, (&t, &p)) in labels.iter().zip(predicted).enumerate() {
        if t == p && (t as usize) < CLASSES {
            per_digit[t as usize].push(i);
        }
    }
    let mut round = 0;
    while out.len() < n && per_digit.iter().any(|v| v.len() > round) {
        for v in &per_digit {
            if out.len() < n && round < v.len() {
                out.push(v[round]);
            }
        }
        round += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ModelReport {
        let c = Confusion::from_predictions(&[1, 2, 2], &[1, 2, 1]);
        ModelReport {
            dataset: "mnist".into(),
            command: "digits train".into(),
            arch: "flatten,fc10".into(),
            parameters: 7850,
            onnx_bytes: 31_000,
            seed: 1,
            threads: 2,
            epochs: 1,
            batch: 128,
            lr: 0.005,
            train_images: 3,
            val_images: 0,
            train_seconds: 1.5,
            images_per_sec: 2.0,
            history: vec![Epoch {
                epoch: 1,
                loss: 0.5,
                train_accuracy: 0.9,
                val_accuracy: None,
                test_accuracy: Some(2.0 / 3.0),
                elapsed_seconds: 1.5,
                images_per_sec: 2.0,
            }],
            test: Evaluation::from_confusion(&c),
            drawn: Some(StyleFigures::from_confusion(
                &Confusion::from_predictions(&[1, 2, 2], &[1, 1, 1]),
                7,
            )),
            picture: None,
            samples: vec![2, 0],
        }
    }

    #[test]
    fn samples_mix_mistakes_and_all_digits() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % CLASSES) as u8).collect();
        let mut pred = labels.clone();
        for i in [3, 50, 77, 400] {
            pred[i] = (pred[i] + 1) % CLASSES as u8;
        }
        let s = pick_samples(&labels, &pred, 100);
        assert_eq!(s.len(), 100);
        assert_eq!(&s[..4], &[3, 50, 77, 400]);
        let mut seen = [0; CLASSES];
        for &i in &s[4..] {
            assert_eq!(labels[i], pred[i]);
            seen[labels[i] as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c >= 9), "{seen:?}");
        let mut u = s.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 100);
    }

    #[test]
    fn json_has_the_contract_fields_at_the_top_level() {
        let v: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
        assert_eq!(v["correct"], 2);
        assert_eq!(v["total"], 3);
        assert_eq!(v["confusion"][2][1], 1);
        assert_eq!(v["per_class"][1]["support"], 1);
        assert_eq!(v["history"][0]["elapsed_seconds"], 1.5);
        assert!((v["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(v["drawn"]["correct"], 1);
        assert_eq!(v["drawn"]["seed"], 7);
        assert!(v.get("picture").is_none(), "absent figures are left out");
    }

    #[test]
    fn a_report_reads_back_equal() {
        let r = report();
        assert_eq!(
            ModelReport::from_json(r.to_json().as_bytes(), "r").unwrap(),
            r
        );
    }

    #[test]
    fn the_shipped_report_reads() {
        let bytes = include_bytes!("../../../web/assets/model.report.json");
        let r = ModelReport::from_json(bytes, "model.report.json").unwrap();
        assert_eq!(r.test.total, 10_000);
        assert_eq!(r.samples.len(), 100);
        assert_eq!(r.history.len(), r.epochs);
    }

    #[test]
    fn bad_reports_are_clear_errors_naming_the_file() {
        let good = report().to_json();
        let cases = [
            ("", "EOF"),
            ("[]", "expected struct"),
            (&good.replace("\"seed\"", "\"sed\""), "missing field `seed`"),
            (
                &good.replace("\"total\": 3", "\"total\": 4"),
                "holds 3 digits",
            ),
            (&good.replace("\"correct\": 2", "\"correct\": 3"), "2 right"),
            (&good.replace("\n    2,\n", "\n    7,\n"), "sample index 7"),
            (
                &good.replace("\"correct\": 1", "\"correct\": 2"),
                "drawn figures' matrix holds 3 digits, 1 right",
            ),
        ];
        for (text, expected) in cases {
            let e = ModelReport::from_json(text.as_bytes(), "m.report.json").unwrap_err();
            let e = e.to_string();
            assert!(e.starts_with("m.report.json: "), "{e}");
            assert!(e.contains(expected), "{expected:?} not in {e}");
        }
    }

    #[test]
    fn a_matrix_of_the_wrong_size_is_refused() {
        let good = report().to_json();
        let v: serde_json::Value = serde_json::from_str(&good).unwrap();
        let mut v = v;
        v["confusion"].as_array_mut().unwrap().pop();
        let e = ModelReport::from_json(v.to_string().as_bytes(), "x").unwrap_err();
        assert!(e.to_string().contains("invalid length 9"), "{e}");
    }
}
