//! Classification metrics: accuracy, confusion matrix, per-class precision and recall.

use std::fmt::Write;

use crate::CLASSES;

/// A 10x10 confusion matrix: `counts[true][predicted]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    pub counts: [[u32; CLASSES]; CLASSES],
}

/// Precision, recall and support of one class.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassMetrics {
    pub digit: usize,
    /// Of the images predicted as this digit, the share that are this digit (0 if none predicted).
    pub precision: f64,
    /// Of the images of this digit, the share predicted as it (0 if there are none).
    pub recall: f64,
    /// Images of this digit.
    pub support: u32,
}

impl Confusion {
    /// Builds the matrix from true labels and predictions (both below [`CLASSES`]).
    pub fn from_predictions(labels: &[u8], predicted: &[u8]) -> Self {
        assert_eq!(labels.len(), predicted.len(), "one prediction per label");
        let mut c = Confusion::default();
        for (&t, &p) in labels.iter().zip(predicted) {
            c.add(t as usize, p as usize);
        }
        c
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    pub fn total(&self) -> u32 {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> u32 {
        (0..CLASSES).map(|i| self.counts[i][i]).sum()
    }

    /// Share of correct predictions, 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            self.correct() as f64 / total as f64
        }
    }

    pub fn per_class(&self) -> Vec<ClassMetrics> {
        (0..CLASSES)
            .map(|d| {
                let tp = self.counts[d][d] as f64;
                let support: u32 = self.counts[d].iter().sum();
                let predicted: u32 = (0..CLASSES).map(|t| self.counts[t][d]).sum();
                ClassMetrics {
                    digit: d,
                    precision: if predicted == 0 {
                        0.0
                    } else {
                        tp / predicted as f64
                    },
                    recall: if support == 0 {
                        0.0
                    } else {
                        tp / support as f64
                    },
                    support,
                }
            })
            .collect()
    }

    /// A readable table: the matrix (rows = true digit) followed by per-class metrics.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "confusion matrix (rows = true digit, columns = predicted)"
        );
        let _ = write!(s, "true\\pred");
        for p in 0..CLASSES {
            let _ = write!(s, "{p:>6}");
        }
        let _ = writeln!(s);
        for t in 0..CLASSES {
            let _ = write!(s, "{t:>9}");
            for p in 0..CLASSES {
                let _ = write!(s, "{:>6}", self.counts[t][p]);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "digit  precision  recall  support");
        for m in self.per_class() {
            let _ = writeln!(
                s,
                "{:>5}  {:>8.2}%  {:>5.2}%  {:>7}",
                m.digit,
                100.0 * m.precision,
                100.0 * m.recall,
                m.support
            );
        }
        let _ = writeln!(
            s,
            "accuracy {:.2}% ({} of {})",
            100.0 * self.accuracy(),
            self.correct(),
            self.total()
        );
        s
    }
}

/// Index of the largest value (the first one on ties); `None` for an empty slice or NaN.
pub fn argmax(values: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accuracy_and_per_class() {
        let labels = [0, 0, 1, 1, 1, 2];
        let pred = [0, 1, 1, 1, 2, 2];
        let c = Confusion::from_predictions(&labels, &pred);
        assert_eq!(c.total(), 6);
        assert_eq!(c.correct(), 4);
        assert!((c.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let m = c.per_class();
        assert_eq!(m[0].support, 2);
        assert!((m[0].precision - 1.0).abs() < 1e-12);
        assert!((m[0].recall - 0.5).abs() < 1e-12);
        assert!((m[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m[1].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m[2].precision - 0.5).abs() < 1e-12);
        assert_eq!(m[3].support, 0);
        assert_eq!(m[3].precision, 0.0);
        let t = c.table();
        assert!(t.contains("accuracy 66.67% (4 of 6)"), "{t}");
    }

    #[test]
    fn empty_matrix_is_zero() {
        assert_eq!(Confusion::default().accuracy(), 0.0);
    }

    #[test]
    fn argmax_picks_first_max() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), Some(1));
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[0.1, f32::NAN]), None);
    }
}
