//! The JSON written beside a trained model (`MODEL.report.json`) and printed by `digits eval`.

use digits_core::metrics::Confusion;
use serde::{Deserialize, Serialize};

use crate::train::EpochStats;

/// Accuracy, confusion matrix and per-class metrics of a model on a test set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub accuracy: f64,
    pub correct: u32,
    pub total: u32,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub per_class: Vec<ClassReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassReport {
    pub digit: usize,
    pub precision: f64,
    pub recall: f64,
    pub support: u32,
}

impl Evaluation {
    pub fn from_confusion(c: &Confusion) -> Evaluation {
        Evaluation {
            accuracy: c.accuracy(),
            correct: c.correct(),
            total: c.total(),
            confusion: c.counts.iter().map(|r| r.to_vec()).collect(),
            per_class: c
                .per_class()
                .into_iter()
                .map(|m| ClassReport {
                    digit: m.digit,
                    precision: m.precision,
                    recall: m.recall,
                    support: m.support,
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub loss: f64,
    pub train_accuracy: f64,
    pub val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub elapsed_seconds: f64,
    pub images_per_sec: f64,
}

impl From<&EpochStats> for EpochReport {
    fn from(s: &EpochStats) -> Self {
        EpochReport {
            epoch: s.epoch,
            loss: s.loss,
            train_accuracy: s.train_accuracy,
            val_accuracy: s.val_accuracy,
            test_accuracy: s.test_accuracy,
            elapsed_seconds: s.elapsed,
            images_per_sec: s.images_per_sec,
        }
    }
}

/// Everything about a trained model: how it was made and how well it does on the test set
/// (measured with tract on the exported ONNX file, so it matches `digits eval`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainReport {
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
    pub history: Vec<EpochReport>,
    #[serde(flatten)]
    pub test: Evaluation,
    /// Test-set indices for a sample grid: the first mistakes, then correct digits of every
    /// class.
    pub samples: Vec<usize>,
}

/// Picks up to `n` test indices for a sample grid: up to 40% mistakes (in index order), the
/// rest correct predictions taken round-robin over the digits.
pub fn pick_samples(labels: &[u8], predicted: &[u8], n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] != predicted[i])
        .take(n * 2 / 5)
        .collect();
    let mut per_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    for i in 0..labels.len() {
        if labels[i] == predicted[i] {
            per_digit[labels[i] as usize].push(i);
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

    #[test]
    fn samples_mix_mistakes_and_all_digits() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let mut pred = labels.clone();
        for i in [3, 50, 77, 400] {
            pred[i] = (pred[i] + 1) % 10;
        }
        let s = pick_samples(&labels, &pred, 100);
        assert_eq!(s.len(), 100);
        assert_eq!(&s[..4], &[3, 50, 77, 400]);
        let mut seen = [0; 10];
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
    fn evaluation_json_has_contract_fields() {
        let c = Confusion::from_predictions(&[1, 2, 2], &[1, 2, 1]);
        let v = serde_json::to_value(Evaluation::from_confusion(&c)).unwrap();
        assert_eq!(v["correct"], 2);
        assert_eq!(v["total"], 3);
        assert_eq!(v["confusion"][2][1], 1);
        assert!((v["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }
}
