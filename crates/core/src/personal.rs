//! Personal samples: digits a user wrote on the pad and labelled (a correction of a wrong guess,
//! or a confirmed right one), kept on their device and used to fine-tune a model to their
//! handwriting. One format for the page (IndexedDB records, the exported file) and the command
//! line (`digits finetune --personal FILE`), so both fine-tune on the same data the same way.
//!
//! The file is JSON:
//!
//! ```text
//! {"format": "digits-personal", "version": 1,
//!  "samples": [{"label": 7, "input": [784 bytes, 0 = paper .. 255 = ink, row by row],
//!               "strokes": [[[x, y], ...], ...], "time": 1795737600000, "read": 1}, ...]}
//! ```
//!
//! `input` is the 28x28 image the model read (the page's preprocessing of the strokes);
//! `strokes` are the points as drawn (in pad heights; may be empty); `time` is when it was kept
//! (milliseconds since 1970); `read` is what the model had read (null if nothing).
//!
//! Which samples are held out to measure a fine-tuned model ([`Samples::split`]) depends only
//! on the samples' order, so the page and the command line hold out the same ones.

use serde::{Deserialize, Serialize};

use crate::idx::{Images, Labelled};
use crate::{CLASSES, PIXELS, SIDE};

pub const FORMAT: &str = "digits-personal";
pub const VERSION: u32 = 1;
/// The most samples a file may hold (about 25 MB of JSON).
pub const MAX_SAMPLES: usize = 10_000;
/// The most points of one sample's strokes.
pub const MAX_POINTS: usize = 20_000;
/// Every `HOLD_OUT`-th sample of each digit (the 4th, 8th, ...) is held out of fine-tuning.
pub const HOLD_OUT: usize = 4;

/// One labelled drawing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub label: u8,
    /// The 28x28 model input, 0 = paper .. 255 = ink.
    pub input: Vec<u8>,
    /// The strokes as drawn, each a list of `[x, y]` points.
    #[serde(default)]
    pub strokes: Vec<Vec<[f32; 2]>>,
    /// When it was kept, milliseconds since 1970.
    #[serde(default)]
    pub time: f64,
    /// What the model read when it was kept.
    #[serde(default)]
    pub read: Option<u8>,
}

impl Sample {
    /// A sample from the model's input (0.0..=1.0 floats, as the page's preprocessing gives).
    pub fn from_input(label: u8, input: &[f32], strokes: Vec<Vec<[f32; 2]>>, time: f64) -> Sample {
        Sample {
            label,
            input: input
                .iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect(),
            strokes,
            time,
            read: None,
        }
    }

    /// Why this sample cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.label as usize >= CLASSES {
            return Some(format!("label {} is not a digit 0-9", self.label));
        }
        if self.input.len() != PIXELS {
            return Some(format!(
                "input has {} values, expected {PIXELS} (28x28)",
                self.input.len()
            ));
        }
        if self.read.is_some_and(|r| r as usize >= CLASSES) {
            return Some("read is not a digit 0-9".into());
        }
        let points: usize = self.strokes.iter().map(Vec::len).sum();
        if points > MAX_POINTS {
            return Some(format!(
                "strokes have {points} points, more than {MAX_POINTS}"
            ));
        }
        if !self.time.is_finite()
            || self
                .strokes
                .iter()
                .flatten()
                .flatten()
                .any(|v| !v.is_finite())
        {
            return Some("time or a stroke point is not a finite number".into());
        }
        None
    }
}

/// A user's samples, in the order they were kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub samples: Vec<Sample>,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    samples: Vec<Sample>,
}

/// A personal samples file that cannot be read, naming the file and what was expected.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{name}: {reason}")]
pub struct PersonalError {
    pub name: String,
    pub reason: String,
}

impl Samples {
    /// Reads a personal samples file (`name` names it in errors). Every sample is checked.
    pub fn from_json(bytes: &[u8], name: &str) -> Result<Samples, PersonalError> {
        let err = |reason: String| PersonalError {
            name: name.to_string(),
            reason,
        };
        // The header first, so a file of another kind gets a message about that.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| err(format!("not a personal samples file (JSON: {e})")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(err(format!(
                "not a personal samples file: \"format\" must be \"{FORMAT}\""
            )));
        }
        if header.version != Some(VERSION) {
            return Err(err(format!(
                "version {} of the format; this page reads version {VERSION}",
                header.version.map_or("(none)".into(), |v| v.to_string())
            )));
        }
        let file: File = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        if file.samples.len() > MAX_SAMPLES {
            return Err(err(format!(
                "{} samples, more than {MAX_SAMPLES}",
                file.samples.len()
            )));
        }
        for (i, s) in file.samples.iter().enumerate() {
            if let Some(p) = s.problem() {
                return Err(err(format!("sample {}: {p}", i + 1)));
            }
        }
        Ok(Samples {
            samples: file.samples,
        })
    }

    pub fn to_json(&self) -> String {
        let file = File {
            format: FORMAT.into(),
            version: VERSION,
            samples: self.samples.clone(),
        };
        serde_json::to_string(&file).expect("samples serialize")
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// How many samples of each digit.
    pub fn counts(&self) -> [usize; CLASSES] {
        let mut c = [0; CLASSES];
        for s in &self.samples {
            c[s.label as usize % CLASSES] += 1;
        }
        c
    }

    /// Indices of the samples to fine-tune on and of those held out to measure the result:
    /// of each digit's samples in order, every [`HOLD_OUT`]-th is held out.
    pub fn split(&self) -> (Vec<usize>, Vec<usize>) {
        let mut seen = [0usize; CLASSES];
        let (mut train, mut held) = (Vec::new(), Vec::new());
        for (i, s) in self.samples.iter().enumerate() {
            let k = &mut seen[s.label as usize % CLASSES];
            *k += 1;
            if *k % HOLD_OUT == 0 {
                held.push(i);
            } else {
                train.push(i);
            }
        }
        (train, held)
    }

    /// The samples at `indices` as a labelled data set (like MNIST's).
    pub fn labelled(&self, indices: &[usize]) -> Labelled {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(&self.samples[i].input);
            labels.push(self.samples[i].label);
        }
        Labelled {
            images: Images {
                count: labels.len(),
                rows: SIDE,
                cols: SIDE,
                pixels,
            },
            labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: u8) -> Sample {
        let mut input = vec![0.0; PIXELS];
        input[label as usize * 20 + 100] = 1.0;
        Sample::from_input(label, &input, vec![vec![[0.1, 0.2], [0.3, 0.4]]], 1.0e12)
    }

    #[test]
    fn a_file_round_trips() {
        let s = Samples {
            samples: (0..12).map(|i| sample(i % 10)).collect(),
        };
        let back = Samples::from_json(s.to_json().as_bytes(), "p.json").unwrap();
        assert_eq!(back, s);
        assert_eq!(back.samples[3].input[160], 255);
    }

    #[test]
    fn every_fourth_sample_of_a_digit_is_held_out() {
        // Six 3s and six 5s, interleaved: the 4th of each is held out.
        let s = Samples {
            samples: (0..12)
                .map(|i| sample(if i % 2 == 0 { 3 } else { 5 }))
                .collect(),
        };
        let (train, held) = s.split();
        assert_eq!(held, vec![6, 7]);
        assert_eq!(train.len(), 10);
        let l = s.labelled(&held);
        assert_eq!(l.labels, vec![3, 5]);
        assert_eq!(l.images.pixels.len(), 2 * PIXELS);
        assert_eq!(s.counts()[3], 6);
    }

    #[test]
    fn bad_files_name_the_file_and_the_field() {
        let bad = |text: &str| Samples::from_json(text.as_bytes(), "mine.json").unwrap_err();
        let e = bad("{\"samples\": []}");
        assert!(
            e.to_string()
                .starts_with("mine.json: not a personal samples file")
        );
        assert!(
            bad("not json")
                .to_string()
                .contains("not a personal samples file")
        );
        let e = bad("{\"format\": \"digits-personal\", \"version\": 9, \"samples\": []}");
        assert!(e.to_string().contains("version 9"), "{e}");
        let mut s = Samples {
            samples: vec![sample(1), sample(2)],
        };
        s.samples[1].label = 12;
        let e = Samples::from_json(s.to_json().as_bytes(), "mine.json").unwrap_err();
        assert_eq!(e.reason, "sample 2: label 12 is not a digit 0-9");
        s.samples[1].label = 2;
        s.samples[0].input.pop();
        let e = Samples::from_json(s.to_json().as_bytes(), "mine.json").unwrap_err();
        assert!(
            e.reason.starts_with("sample 1: input has 783 values"),
            "{e}"
        );
        let text = s.to_json().replace("[0.1,0.2]", "[0.1,1e999]");
        assert!(Samples::from_json(text.as_bytes(), "x").is_err());
    }

    #[test]
    fn an_empty_file_is_fine() {
        let s = Samples::default();
        assert!(
            Samples::from_json(s.to_json().as_bytes(), "x")
                .unwrap()
                .is_empty()
        );
    }
}
