//! A made-up writer with a consistent, unusual hand, to test teaching the page one's
//! handwriting: someone who writes every digit mirrored, as many children do for a while. Each
//! digit is one MNIST test digit, traced into strokes and flipped left to right; every sample
//! of it is that shape written again with the small wobble of a real hand (a few degrees of
//! slant, a little taller or wider, a little tremor). The shipped model reads most of these
//! wrong (a mirrored 0, 1 or 8 is still itself), and one person's digits look alike, so a
//! model can learn them from a handful.
//!
//! `cargo run --release -p digits-train --example personal_style` writes the page's test
//! drawings (`tests/e2e/personal-style.json`) with [`samples`].

use digits_core::CLASSES;
use digits_core::idx::Labelled;
use digits_core::preprocess::Stroke;
use digits_core::trace::trace;

use crate::rng::Rng;

/// For each digit, the strokes of the first test digit of it that traces into at most three
/// strokes, mirrored; `None` for a digit with no such test digit.
pub fn templates(test: &Labelled) -> Vec<Option<Vec<Stroke>>> {
    let mut out = vec![None; CLASSES];
    for i in 0..test.len() {
        let label = test.labels[i] as usize;
        if label >= CLASSES || out[label].is_some() {
            continue;
        }
        let strokes = trace(&test.input(i));
        if (1..=3).contains(&strokes.len()) {
            out[label] = Some(
                strokes
                    .iter()
                    .map(|s| s.iter().map(|&(x, y)| (-x, y)).collect())
                    .collect(),
            );
        }
        if out.iter().all(Option::is_some) {
            break;
        }
    }
    out
}

/// `template` written once more: turned by up to 6 degrees, 8% taller or wider, a tremor of 1%
/// of its height on each point, and fitted (by height) into the middle of a unit square, from
/// 0.18 to 0.82, as the page's tests draw.
pub fn write(template: &[Stroke], rng: &mut Rng) -> Vec<Stroke> {
    let angle = rng.range(-6.0, 6.0).to_radians();
    let (sx, sy) = (rng.range(0.92, 1.08), rng.range(0.92, 1.08));
    let (sin, cos) = angle.sin_cos();
    let moved: Vec<Stroke> = template
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(x, y)| (sx * (x * cos - y * sin), sy * (x * sin + y * cos)))
                .collect()
        })
        .collect();
    let points = || moved.iter().flatten();
    let x0 = points().map(|p| p.0).fold(f32::MAX, f32::min);
    let x1 = points().map(|p| p.0).fold(f32::MIN, f32::max);
    let y0 = points().map(|p| p.1).fold(f32::MAX, f32::min);
    let y1 = points().map(|p| p.1).fold(f32::MIN, f32::max);
    let k = 0.64 / (y1 - y0).max(x1 - x0).max(1e-3);
    let cx = (x0 + x1) / 2.0;
    let tremor = 0.01 * 0.64;
    moved
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(x, y)| {
                    (
                        0.5 + (x - cx) * k + rng.range(-tremor, tremor),
                        0.18 + (y - y0) * k + rng.range(-tremor, tremor),
                    )
                })
                .collect()
        })
        .collect()
}

/// `rounds` samples of each digit, written in rounds (0 to 9, then again), each with its own
/// random stream from `seed`: (label, strokes in the unit square).
pub fn samples(test: &Labelled, rounds: usize, seed: u64) -> Vec<(u8, Vec<Stroke>)> {
    let templates = templates(test);
    let mut out = Vec::new();
    for round in 0..rounds {
        for (d, t) in templates.iter().enumerate() {
            let Some(t) = t else { continue };
            let mut rng = Rng::derive(seed, &[0x3217, round as u64, d as u64]);
            out.push((d as u8, write(t, &mut rng)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_the_template_mirrored_and_fitted() {
        // An L: down, then right. Mirrored, the foot points left.
        let l = [vec![(0.0, 0.0), (0.0, 10.0), (6.0, 10.0)]];
        let mirrored: Vec<Stroke> = vec![l[0].iter().map(|&(x, y)| (-x, y)).collect()];
        let mut rng = Rng::new(5);
        let s = write(&mirrored, &mut rng);
        let p = &s[0];
        assert!(p[2].0 < p[1].0 - 0.2, "the foot goes left: {p:?}");
        for &(x, y) in p {
            assert!(
                (0.1..0.9).contains(&x) && (0.1..0.9).contains(&y),
                "{x},{y}"
            );
        }
        // The same stream writes the same sample.
        assert_eq!(write(&mirrored, &mut Rng::new(5)), s);
    }
}
