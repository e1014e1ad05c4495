//! The IDX file format used by MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian header (`0x00 0x00 type ndims`, then one u32 per dimension)
//! followed by the data. MNIST uses type `0x08` (unsigned byte): images are 3-dimensional
//! (`count x rows x cols`), labels 1-dimensional. Files may be gzip-compressed; that is detected
//! from the content, not the name.

use std::io::Read;

use crate::input::{to_input, to_input_into};
use crate::{CLASSES, PIXELS, SIDE};

/// Magic number of an unsigned-byte IDX file with three dimensions (images).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an unsigned-byte IDX file with one dimension (labels).
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Refuse to inflate a gzip member to more than this (the MNIST training images are 47 MB).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// What went wrong reading an IDX file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[cfg(not(target_arch = "wasm32"))]
    #[error("{file}: {source}")]
    File {
        file: String,
        #[source]
        source: crate::files::FileError,
    },
    #[error(
        "{dir}: no such directory (the data set should be there; scripts/fetch-mnist.sh puts MNIST in data/mnist)"
    )]
    NoDir { dir: String },
    #[error("{file}: not valid gzip data: {reason}")]
    Gzip { file: String, reason: String },
    #[error("{file}: file is {len} bytes, too short for an IDX header (expected at least {need})")]
    TooShort {
        file: String,
        len: usize,
        need: usize,
    },
    #[error("{file}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    Magic {
        file: String,
        found: u32,
        expected: u32,
        what: &'static str,
    },
    #[error("{file}: truncated: header promises {expected} data bytes but {found} follow")]
    Truncated {
        file: String,
        expected: usize,
        found: usize,
    },
    #[error("{file}: {extra} unexpected bytes after the {expected} data bytes the header promises")]
    TrailingBytes {
        file: String,
        expected: usize,
        extra: usize,
    },
    #[error("{file}: images are {rows}x{cols}, expected {want}x{want}")]
    ImageSize {
        file: String,
        rows: usize,
        cols: usize,
        want: usize,
    },
    #[error("{file}: label {label} at index {index} is out of range, expected 0 to {max}")]
    LabelRange {
        file: String,
        index: usize,
        label: u8,
        max: usize,
    },
    #[error(
        "{images} has {n_images} images but {labels} has {n_labels} labels; expected equal counts"
    )]
    CountMismatch {
        images: String,
        n_images: usize,
        labels: String,
        n_labels: usize,
    },
    #[error("{dir}: no file {name} (nor {name}.gz) in this directory")]
    Missing { dir: String, name: String },
}

/// A set of greyscale images, row-major, one byte per pixel (0 = background, 255 = ink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Images with their labels, checked to agree in count and range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    pub images: Images,
    pub labels: Vec<u8>,
}

impl Default for Labelled {
    /// No images (of MNIST's size).
    fn default() -> Labelled {
        Labelled {
            images: Images {
                count: 0,
                rows: SIDE,
                cols: SIDE,
                pixels: Vec::new(),
            },
            labels: Vec::new(),
        }
    }
}

impl Labelled {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Images `range` (and their labels) as a set of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Labelled {
        let n = self.images.rows * self.images.cols;
        Labelled {
            images: Images {
                count: range.len(),
                rows: self.images.rows,
                cols: self.images.cols,
                pixels: self.images.pixels[range.start * n..range.end * n].to_vec(),
            },
            labels: self.labels[range].to_vec(),
        }
    }

    /// Image `i` on the model's input scale (0.0 = paper, 1.0 = ink).
    pub fn input(&self, i: usize) -> Vec<f32> {
        to_input(self.images.image(i))
    }

    /// Writes image `i` on the model's input scale into `out` (one image long).
    pub fn input_into(&self, i: usize, out: &mut [f32]) {
        to_input_into(self.images.image(i), out);
    }

    /// Every image on the model's input scale, one after the other ([`PIXELS`] values each for
    /// MNIST).
    pub fn inputs(&self) -> Vec<f32> {
        debug_assert_eq!(self.images.rows * self.images.cols, PIXELS);
        to_input(&self.images.pixels)
    }
}

/// Inflates `bytes` if they start with the gzip magic, else returns them as they are. The IDX
/// header is inflated first: it says how long the file is, so a file that inflates to more than
/// that (a gzip bomb behind a small header) is refused after inflating only what was declared,
/// and never more than [`MAX_DECOMPRESSED`] bytes. `file` names it in errors.
pub fn inflate(bytes: &[u8], file: &str) -> Result<Vec<u8>, IdxError> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Ok(bytes.to_vec());
    }
    let gzip = |reason: String| IdxError::Gzip {
        file: file.to_string(),
        reason,
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let inflate = |decoder: &mut flate2::read::MultiGzDecoder<&[u8]>, n: u64, out: &mut Vec<u8>| {
        decoder
            .take(n)
            .read_to_end(out)
            .map_err(|e| gzip(e.to_string()))
    };
    inflate(&mut decoder, 4, &mut out)?;
    let dims = if out.len() == 4 { out[3] as u64 } else { 0 };
    inflate(&mut decoder, 4 * dims, &mut out)?;
    let header = out.len() as u64;
    let declared = (0..dims as usize)
        .filter(|d| out.len() >= 8 + 4 * d)
        .map(|d| be_u32(&out, 4 + 4 * d) as u64)
        .try_fold(1u64, |acc, d| acc.checked_mul(d))
        .and_then(|size| size.checked_add(header))
        .filter(|&total| dims > 0 && total <= MAX_DECOMPRESSED);
    let limit = declared.unwrap_or(MAX_DECOMPRESSED);
    inflate(&mut decoder, (limit + 1).saturating_sub(header), &mut out)?;
    if out.len() as u64 > limit {
        return Err(gzip(match declared {
            Some(total) => format!("inflates to more than the {total} bytes its header declares"),
            None => format!("inflates to more than {MAX_DECOMPRESSED} bytes"),
        }));
    }
    Ok(out)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the header of an IDX file with `dims` dimensions and returns the dimensions and the
/// data bytes that follow it.
fn parse_header<'a>(
    bytes: &'a [u8],
    file: &str,
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), IdxError> {
    let dims = (magic & 0xff) as usize;
    let header = 4 + 4 * dims;
    if bytes.len() < header {
        return Err(IdxError::TooShort {
            file: file.to_string(),
            len: bytes.len(),
            need: header,
        });
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(IdxError::Magic {
            file: file.to_string(),
            found,
            expected: magic,
            what,
        });
    }
    let shape: Vec<usize> = (0..dims)
        .map(|d| be_u32(bytes, 4 + 4 * d) as usize)
        .collect();
    let expected = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(usize::MAX);
    let data = &bytes[header..];
    if data.len() < expected {
        return Err(IdxError::Truncated {
            file: file.to_string(),
            expected,
            found: data.len(),
        });
    }
    if data.len() > expected {
        return Err(IdxError::TrailingBytes {
            file: file.to_string(),
            expected,
            extra: data.len() - expected,
        });
    }
    Ok((shape, data))
}

/// Parses an IDX image file (raw or gzip). `file` names it in errors.
/// Images must be `side x side` (28 for MNIST).
fn parse_images(bytes: &[u8], file: &str, side: usize) -> Result<Images, IdxError> {
    let bytes = inflate(bytes, file)?;
    let (shape, data) = parse_header(&bytes, file, IMAGES_MAGIC, "unsigned-byte images, 3 dims")?;
    let (count, rows, cols) = (shape[0], shape[1], shape[2]);
    if rows != side || cols != side {
        return Err(IdxError::ImageSize {
            file: file.to_string(),
            rows,
            cols,
            want: side,
        });
    }
    Ok(Images {
        count,
        rows,
        cols,
        pixels: data.to_vec(),
    })
}

/// Parses an IDX label file (raw or gzip); every label must be below `classes`.
fn parse_labels(bytes: &[u8], file: &str, classes: usize) -> Result<Vec<u8>, IdxError> {
    let bytes = inflate(bytes, file)?;
    let (_, data) = parse_header(&bytes, file, LABELS_MAGIC, "unsigned-byte labels, 1 dim")?;
    if let Some(index) = data.iter().position(|&l| l as usize >= classes) {
        return Err(IdxError::LabelRange {
            file: file.to_string(),
            index,
            label: data[index],
            max: classes - 1,
        });
    }
    Ok(data.to_vec())
}

/// Parses an image file and a label file and checks that they belong together.
pub fn parse_labelled(images: (&[u8], &str), labels: (&[u8], &str)) -> Result<Labelled, IdxError> {
    let imgs = parse_images(images.0, images.1, crate::SIDE)?;
    let labs = parse_labels(labels.0, labels.1, CLASSES)?;
    if imgs.count != labs.len() {
        return Err(IdxError::CountMismatch {
            images: images.1.to_string(),
            n_images: imgs.count,
            labels: labels.1.to_string(),
            n_labels: labs.len(),
        });
    }
    Ok(Labelled {
        images: imgs,
        labels: labs,
    })
}

/// Which half of an MNIST-format data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// Standard file names (without `.gz`) of the images and labels of this split.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod fs {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Finds `name` or `name.gz` in `dir`.
    pub fn find(dir: &Path, name: &str) -> Result<PathBuf, IdxError> {
        if !dir.is_dir() {
            return Err(IdxError::NoDir {
                dir: dir.display().to_string(),
            });
        }
        for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        Err(IdxError::Missing {
            dir: dir.display().to_string(),
            name: name.to_string(),
        })
    }

    fn read(path: &Path) -> Result<Vec<u8>, IdxError> {
        // A raw file larger than what a gzip file may inflate to is refused the same way.
        crate::files::read_regular(path, MAX_DECOMPRESSED).map_err(|source| IdxError::File {
            file: path.display().to_string(),
            source,
        })
    }

    /// Loads one split of an MNIST-format data set from a directory holding the standard
    /// file names, raw or `.gz`.
    pub fn load_split(dir: &Path, split: Split) -> Result<Labelled, IdxError> {
        let (img_name, lab_name) = split.file_names();
        let img_path = find(dir, img_name)?;
        let lab_path = find(dir, lab_name)?;
        let img_bytes = read(&img_path)?;
        let lab_bytes = read(&lab_path)?;
        parse_labelled(
            (&img_bytes, &img_path.display().to_string()),
            (&lab_bytes, &lab_path.display().to_string()),
        )
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use fs::{find, load_split};

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn two_images() -> Vec<u8> {
        let data: Vec<u8> = (0..2 * 28 * 28).map(|i| (i % 251) as u8).collect();
        idx(IMAGES_MAGIC, &[2, 28, 28], &data)
    }

    #[test]
    fn reads_raw_and_gzip_alike() {
        let raw = two_images();
        let a = parse_images(&raw, "a", 28).unwrap();
        let b = parse_images(&gz(&raw), "b.gz", 28).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.count, 2);
        assert_eq!(a.image(1)[0], (784 % 251) as u8);
    }

    #[test]
    fn labels_round_trip_and_range() {
        let l = parse_labels(&idx(LABELS_MAGIC, &[3], &[0, 9, 5]), "l", 10).unwrap();
        assert_eq!(l, vec![0, 9, 5]);
        let e = parse_labels(&idx(LABELS_MAGIC, &[3], &[0, 10, 5]), "lab.idx", 10).unwrap_err();
        assert!(matches!(
            e,
            IdxError::LabelRange {
                index: 1,
                label: 10,
                ..
            }
        ));
        assert!(e.to_string().contains("lab.idx"), "{e}");
    }

    #[test]
    fn wrong_magic_is_named() {
        let e = parse_labels(&two_images(), "x.idx", 10).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::Magic {
                    found: IMAGES_MAGIC,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("x.idx") && e.to_string().contains("0x00000801"));
    }

    #[test]
    fn truncated_and_trailing_data() {
        let mut raw = two_images();
        raw.truncate(raw.len() - 5);
        let e = parse_images(&raw, "t", 28).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::Truncated {
                    expected: 1568,
                    found: 1563,
                    ..
                }
            ),
            "{e}"
        );
        let mut raw = two_images();
        raw.push(0);
        let e = parse_images(&raw, "t", 28).unwrap_err();
        assert!(matches!(e, IdxError::TrailingBytes { extra: 1, .. }), "{e}");
    }

    #[test]
    fn too_short_and_empty() {
        for len in [0, 3, 8, 15] {
            let raw = two_images();
            let e = parse_images(&raw[..len], "s", 28).unwrap_err();
            assert!(
                matches!(e, IdxError::TooShort { need: 16, .. }),
                "{len}: {e}"
            );
        }
    }

    #[test]
    fn wrong_image_size() {
        let raw = idx(IMAGES_MAGIC, &[1, 2, 3], &[0; 6]);
        let e = parse_images(&raw, "s", 28).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::ImageSize {
                    rows: 2,
                    cols: 3,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn huge_dimensions_do_not_overflow() {
        let raw = idx(IMAGES_MAGIC, &[u32::MAX, 28, 28], &[0; 10]);
        let e = parse_images(&raw, "big", 28).unwrap_err();
        assert!(matches!(e, IdxError::Truncated { .. }), "{e}");
    }

    #[test]
    fn a_gzip_bomb_is_refused_after_what_its_header_declares() {
        // Two images declared, then 64 MB of zeros: a few hundred KB of gzip.
        let mut bomb = two_images();
        bomb.resize(bomb.len() + (64 << 20), 0);
        let g = gz(&bomb);
        assert!(g.len() * 100 < bomb.len(), "{}", g.len());
        let e = parse_images(&g, "bomb.gz", 28).unwrap_err().to_string();
        let declared = 16 + 2 * 784;
        assert!(
            e.contains(&format!("bomb.gz: not valid gzip data: inflates to more than the {declared} bytes its header declares")),
            "{e}"
        );
        // Labels, whose header has one dimension, alike.
        let mut labels = idx(LABELS_MAGIC, &[3], &[1, 2, 3]);
        labels.resize(labels.len() + (1 << 20), 0);
        let e = parse_labels(&gz(&labels), "l.gz", 10)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("more than the 11 bytes its header declares"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_gzip() {
        let mut g = gz(&two_images());
        let n = g.len();
        g.truncate(n / 2);
        let e = parse_images(&g, "c.gz", 28).unwrap_err();
        assert!(matches!(e, IdxError::Gzip { .. }), "{e}");
        assert!(e.to_string().contains("c.gz"));
    }

    #[test]
    fn count_mismatch() {
        let imgs = two_images();
        let labs = idx(LABELS_MAGIC, &[3], &[1, 2, 3]);
        let e = parse_labelled((&imgs, "imgs"), (&labs, "labs")).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::CountMismatch {
                    n_images: 2,
                    n_labels: 3,
                    ..
                }
            ),
            "{e}"
        );
        let s = e.to_string();
        assert!(s.contains("imgs") && s.contains("labs"));
    }

    #[test]
    fn directory_loading_and_missing_files() {
        let dir = std::env::temp_dir().join(format!("digits-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = load_split(&dir, Split::Test).unwrap_err();
        assert!(matches!(e, IdxError::Missing { .. }), "{e}");
        std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gz(&two_images())).unwrap();
        std::fs::write(
            dir.join("t10k-labels-idx1-ubyte"),
            idx(LABELS_MAGIC, &[2], &[7, 3]),
        )
        .unwrap();
        let set = load_split(&dir, Split::Test).unwrap();
        assert_eq!(set.labels, vec![7, 3]);
        assert_eq!(set.images.count, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
