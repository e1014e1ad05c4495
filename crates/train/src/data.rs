//! Training data in memory: images as 0..1 floats, labels as bytes.

use std::path::Path;

use digits_core::PIXELS;
use digits_core::idx::{self, IdxError, Labelled, Split};

/// A labelled set of 28x28 images, `images.len() == labels.len() * PIXELS`.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn from_labelled(l: &Labelled) -> Dataset {
        Dataset {
            images: digits_core::model::to_input(&l.images.pixels),
            labels: l.labels.clone(),
        }
    }

    /// Loads one split from a directory of MNIST-format IDX files (raw or `.gz`).
    pub fn load(dir: &Path, split: Split) -> Result<Dataset, IdxError> {
        Ok(Dataset::from_labelled(&idx::load_split(dir, split)?))
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// Images `range` as a new data set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        Dataset {
            images: self.images[range.start * PIXELS..range.end * PIXELS].to_vec(),
            labels: self.labels[range].to_vec(),
        }
    }
}
