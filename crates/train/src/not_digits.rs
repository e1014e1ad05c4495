//! Pieces of numbers that are not one digit, for `digits train --not-digits`.
//!
//! The number reader (`digits_core::segment`) weighs every run of strokes or blobs that could
//! be one digit by the model's confidence in it. A model trained on single digits only is sure
//! of runs that are two touching digits (a 1 against a 6 reads as a 6 at 100%), and no prior
//! tells those from a lone digit. These are such runs, cut from numbers written with the
//! *training* digits exactly as the benchmark writes them (`crate::numbers`), on the pad and as
//! pictures: the reader's own candidates that hold two digits or more (each at least
//! [`INSIDE`] inside the candidate's box). Trained towards the even distribution, they teach the
//! model to doubt a merge.
//!
//! Parts of one digit are not used: after fitting, a 4's stem is a 1 and half an 8 is a 0, so
//! teaching doubt on them taught doubt on real digits (measured: 0.17 to 0.24 points of drawn
//! accuracy lost, docs/performance.md, *Numbers*).

use digits_core::PIXELS;
use digits_core::preprocess::Stroke;
use digits_core::segment::{Rect, ink_candidates, stroke_candidates};
use rayon::prelude::*;

use crate::numbers::{self, as_picture_placed, compose, on_pad_placed};
use crate::pen::Style;
use crate::rng::Rng;

/// A digit whose box is at least this much inside a candidate's is in it.
pub const INSIDE: f32 = 0.6;

/// A box grown by `margin` on every side (a 1's box is about as wide as the pointer's tremor).
fn grow(r: &Rect, margin: f32) -> Rect {
    Rect {
        x0: r.x0 - margin,
        y0: r.y0 - margin,
        x1: r.x1 + margin,
        y1: r.y1 + margin,
    }
}

fn area(r: &Rect) -> f32 {
    r.width().max(0.0) * r.height().max(0.0)
}

fn intersection(a: &Rect, b: &Rect) -> f32 {
    let w = (a.x1.min(b.x1) - a.x0.max(b.x0)).max(0.0);
    let h = (a.y1.min(b.y1) - a.y0.max(b.y0)).max(0.0);
    w * h
}

/// Whether a candidate's box holds two digits or more of `digits` (all boxes already grown).
fn holds_several_digits(c: &Rect, digits: &[Rect]) -> bool {
    digits
        .iter()
        .filter(|d| intersection(c, d) >= INSIDE * area(d))
        .nth(1)
        .is_some()
}

/// The pieces that hold two digits or more in numbers written with the digits traced into
/// `traces` (even numbers on the pad, odd ones as pictures), as 28x28 bytes each; the same for
/// a seed on any number of threads.
pub fn make(traces: &[Vec<Stroke>], seed: u64, threads: usize) -> anyhow::Result<Vec<u8>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let sets = numbers::numbers(traces.len(), seed);
    let pieces: Vec<Vec<u8>> = pool.install(|| {
        sets.par_iter()
            .enumerate()
            .map(|(n, members)| {
                let mut rng = Rng::derive(seed, &[0x6e6f_7464, n as u64]);
                let parts: Vec<&[Stroke]> = members.iter().map(|&i| traces[i].as_slice()).collect();
                let style = if n % 2 == 0 {
                    Style::Drawn
                } else {
                    Style::Picture
                };
                of_number(&parts, style, &mut rng)
            })
            .collect()
    });
    Ok(pieces.concat())
}

/// The pieces of one number written with `parts` in `style` that hold two of its digits or more.
pub fn of_number(parts: &[&[Stroke]], style: Style, rng: &mut Rng) -> Vec<u8> {
    let (strokes, boxes) = compose(parts, rng);
    let priors = numbers::priors(style);
    let (candidates, placement) = match style {
        Style::Picture => match as_picture_placed(&strokes, rng) {
            Some((ink, placement)) => (ink_candidates(&ink, &priors), placement),
            None => return Vec::new(),
        },
        _ => {
            let (pad, placement) = on_pad_placed(&strokes, rng);
            (stroke_candidates(&pad, &priors), placement)
        }
    };
    let margin = 0.03 * placement.scale;
    let digits: Vec<Rect> = boxes
        .iter()
        .map(|b| grow(&placement.rect(b), margin))
        .collect();
    let mut out = Vec::new();
    for c in candidates {
        if holds_several_digits(&grow(&c.rect, margin), &digits) {
            out.extend(
                c.input
                    .iter()
                    .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
            );
        }
    }
    debug_assert_eq!(out.len() % PIXELS, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar() -> Vec<Stroke> {
        vec![vec![(14.0, 4.0), (13.0, 24.0)]]
    }

    fn ring() -> Vec<Stroke> {
        vec![
            (0..=24)
                .map(|k| {
                    let a = k as f32 / 24.0 * std::f32::consts::TAU;
                    (14.0 - 6.0 * a.sin(), 14.0 - 10.0 * a.cos())
                })
                .collect(),
        ]
    }

    #[test]
    fn a_candidate_is_a_piece_only_when_it_holds_two_digits_or_more() {
        let rect = |x0: f32, x1: f32| Rect {
            x0,
            y0: 0.0,
            x1,
            y1: 1.0,
        };
        // A narrow 1, a 0 beside it and another 1.
        let digits = [rect(0.0, 0.1), rect(0.3, 0.9), rect(1.1, 1.2)];
        assert!(!holds_several_digits(&rect(0.0, 0.1), &digits), "the 1");
        assert!(!holds_several_digits(&rect(0.28, 0.9), &digits), "the 0");
        assert!(
            holds_several_digits(&rect(0.0, 0.9), &digits),
            "10 together"
        );
        assert!(
            holds_several_digits(&rect(0.0, 1.2), &digits),
            "101 together"
        );
        assert!(
            holds_several_digits(&rect(0.03, 0.9), &digits),
            "10 with most of the 1"
        );
        assert!(
            !holds_several_digits(&rect(0.3, 0.6), &digits),
            "half the 0"
        );
        assert!(
            !holds_several_digits(&rect(0.3, 1.12), &digits),
            "the 0 and a sliver of the 1"
        );
    }

    #[test]
    fn a_lone_digit_gives_nothing_and_a_number_gives_its_pairs() {
        let (bar, ring) = (bar(), ring());
        for style in [Style::Drawn, Style::Picture] {
            for seed in 0..5 {
                let mut rng = Rng::new(seed);
                assert!(
                    of_number(&[&bar], style, &mut rng).is_empty(),
                    "{style:?}: a lone 1 is one digit"
                );
                let mut rng = Rng::new(seed);
                let pieces = of_number(&[&bar, &ring, &bar], style, &mut rng);
                // At least "10" and "01" read together.
                assert!(
                    pieces.len() >= 2 * PIXELS,
                    "{style:?} {seed}: {}",
                    pieces.len()
                );
                assert_eq!(pieces.len() % PIXELS, 0);
            }
        }
    }

    #[test]
    fn the_pieces_are_the_same_for_a_seed_on_any_number_of_threads() {
        let traces: Vec<Vec<Stroke>> = (0..14)
            .map(|i| if i % 2 == 0 { bar() } else { ring() })
            .collect();
        let a = make(&traces, 3, 1).unwrap();
        assert_eq!(a, make(&traces, 3, 3).unwrap());
        assert_ne!(a, make(&traces, 4, 1).unwrap());
        assert!(!a.is_empty());
    }
}
