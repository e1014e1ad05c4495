//! The traced strokes of a set of digits (`digits_core::trace`), made once and cached in a file
//! beside the data (`DIR/traces-v{VERSION}-{HASH}.bin`, git-ignored with the data), named after
//! a hash of the very images traced, so another data set, `--limit` or tracer never reuses them.
//!
//! File: `DTRC`, version (u32), digit count (u64), then per digit its stroke count (u16) and per
//! stroke its point count (u16) and points (x, y as f32); little-endian. A file that does not
//! read back exactly is traced again and rewritten.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use digits_core::PIXELS;
use digits_core::model::to_input;
use digits_core::preprocess::Stroke;
use digits_core::trace::{VERSION, trace};
use rayon::prelude::*;

const MAGIC: &[u8; 4] = b"DTRC";

/// The strokes of each digit, in the images' order.
pub type Traces = Vec<Vec<Stroke>>;

/// FNV-1a, 64 bits: enough to tell data sets apart, fast on 47 MB.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where the traces of `pixels` are cached in `dir`.
pub fn cache_path(dir: &Path, pixels: &[u8]) -> PathBuf {
    dir.join(format!("traces-v{VERSION}-{:016x}.bin", fnv(pixels)))
}

/// Traces every image of `pixels` (28x28 bytes each) on `threads` threads.
pub fn trace_all(pixels: &[u8], threads: usize) -> Result<Traces> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    Ok(pool.install(|| {
        pixels
            .par_chunks(PIXELS)
            .map(|img| trace(&to_input(img)))
            .collect()
    }))
}

/// The traces of `pixels`: read from the cache in `dir` if it is there and whole, else traced
/// (saying so on stderr, as it takes a while) and written there. A cache that cannot be
/// written is a note, not an error.
pub fn load_or_trace(dir: &Path, pixels: &[u8], threads: usize) -> Result<Traces> {
    let path = cache_path(dir, pixels);
    let count = pixels.len() / PIXELS;
    if let Ok(bytes) = std::fs::read(&path) {
        match decode(&bytes, count) {
            Ok(t) => return Ok(t),
            Err(e) => eprintln!("digits: {}: {e}; tracing again", path.display()),
        }
    }
    eprintln!(
        "tracing {count} digits into pen strokes (once; cached in {})",
        path.display()
    );
    let traces = trace_all(pixels, threads)?;
    // A scratch file of this process's own, renamed into place: processes tracing the same
    // digits at once each write a whole file.
    let tmp = path.with_extension(format!("bin.{}.partial", std::process::id()));
    if let Err(e) =
        std::fs::write(&tmp, encode(&traces)).and_then(|()| std::fs::rename(&tmp, &path))
    {
        let _ = std::fs::remove_file(&tmp);
        eprintln!(
            "digits: note: cannot cache the traces in {}: {e}",
            path.display()
        );
    }
    Ok(traces)
}

pub fn encode(traces: &Traces) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + traces.len() * 200);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(traces.len() as u64).to_le_bytes());
    for strokes in traces {
        let strokes = &strokes[..strokes.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(strokes.len() as u16).to_le_bytes());
        for s in strokes {
            let s = &s[..s.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            for &(x, y) in s {
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&y.to_le_bytes());
            }
        }
    }
    out
}

/// Reads a traces file back; it must hold exactly `count` digits of this tracer's version.
pub fn decode(bytes: &[u8], count: usize) -> Result<Traces> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .context("the file ends early")?;
        let s = &bytes[at..end];
        at = end;
        Ok(s)
    };
    anyhow::ensure!(take(4)? == MAGIC, "not a traces file");
    let version = u32::from_le_bytes(take(4)?.try_into()?);
    anyhow::ensure!(
        version == VERSION,
        "made by tracer version {version}, not {VERSION}"
    );
    let n = u64::from_le_bytes(take(8)?.try_into()?);
    anyhow::ensure!(n == count as u64, "holds {n} digits, not {count}");
    let u16_at = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]) as usize;
    let mut traces = Vec::with_capacity(count);
    for _ in 0..count {
        let strokes = u16_at(take(2)?);
        let mut digit = Vec::with_capacity(strokes);
        for _ in 0..strokes {
            let points = u16_at(take(2)?);
            let raw = take(points * 8)?;
            let s: Stroke = raw
                .chunks_exact(8)
                .map(|c| {
                    let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    let y = f32::from_le_bytes([c[4], c[5], c[6], c[7]]);
                    (x, y)
                })
                .collect();
            anyhow::ensure!(
                s.iter().all(|p| p.0.is_finite() && p.1.is_finite()),
                "a point is not a finite number"
            );
            digit.push(s);
        }
        traces.push(digit);
    }
    anyhow::ensure!(
        at == bytes.len(),
        "{} bytes too many at the end",
        bytes.len() - at
    );
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Traces {
        vec![
            vec![vec![(1.0, 2.0), (3.5, 4.25)], vec![(7.0, 7.0)]],
            vec![],
            vec![vec![(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]],
        ]
    }

    #[test]
    fn traces_read_back_exactly_and_damage_is_refused() {
        let bytes = encode(&sample());
        assert_eq!(decode(&bytes, 3).unwrap(), sample());
        assert!(
            decode(&bytes, 2)
                .unwrap_err()
                .to_string()
                .contains("holds 3 digits, not 2")
        );
        assert!(
            decode(&bytes[..bytes.len() - 1], 3)
                .unwrap_err()
                .to_string()
                .contains("ends early")
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, 3).is_err());
        let mut old = bytes.clone();
        old[4] ^= 0xff;
        assert!(
            decode(&old, 3)
                .unwrap_err()
                .to_string()
                .contains("tracer version")
        );
        assert!(decode(b"PNG.....", 3).is_err());
    }

    #[test]
    fn the_cache_is_made_once_and_used_after() {
        let dir = std::env::temp_dir().join(format!("digits-traces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Two digits: a bar and a blank.
        let mut pixels = vec![0u8; 2 * PIXELS];
        for x in 6..22 {
            for y in 13..16 {
                pixels[y * 28 + x] = 255;
            }
        }
        let first = load_or_trace(&dir, &pixels, 2).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].len(), 1);
        assert!(first[1].is_empty());
        let path = cache_path(&dir, &pixels);
        assert!(path.exists());
        // A damaged cache is traced again and repaired.
        std::fs::write(&path, b"DTRC").unwrap();
        assert_eq!(load_or_trace(&dir, &pixels, 1).unwrap(), first);
        assert_eq!(decode(&std::fs::read(&path).unwrap(), 2).unwrap(), first);
        // Other images, another file.
        pixels[0] = 1;
        assert_ne!(cache_path(&dir, &pixels), path);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
