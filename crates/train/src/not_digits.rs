//! Pieces of numbers that are not one digit, for `digits train --not-digits` and the doubt
//! output beside the network (`--doubt-head`, the module doubt_head).
//!
//! The number reader (`digits_core::segment`) weighs every run of strokes or traced lines that could
//! be one digit by the model's confidence in it. A model trained on single digits only is sure
//! of runs that are two touching digits (a 1 against a 6 reads as a 6 at 100%), and no prior
//! tells those from a lone digit. These are such runs, cut from numbers written with the
//! *training* digits exactly as the benchmark writes them (`crate::numbers`), on the pad and as
//! pictures: the reader's own candidates that hold two digits or more (each at least
//! [`INSIDE`] inside the candidate's box). Trained towards the even distribution, they teach the
//! model to doubt a merge.
//!
//! Parts of one digit ([`Kinds::MergesAndParts`]: the bar of a 4 without its stem, an 8's
//! loop without the other) go only to the doubt output beside the network. Trained into the network,
//! they taught doubt on real digits (after fitting, a 4's stem is a 1 and half an 8 is a 0:
//! 0.17 to 0.24 points of drawn accuracy lost); beside the frozen network they change no
//! digit's answer, and they teach the reader not to read a digit as two (docs/performance.md,
//! *Numbers*).

use digits_core::PIXELS;
use digits_core::preprocess::Stroke;
use digits_core::segment::{Rect, ink_candidates, stroke_candidates};
use rayon::prelude::*;

use crate::numbers::{self, as_picture_placed, compose, on_pad_placed};
use crate::pen::Style;
use crate::rng::Rng;

/// A digit whose box is at least this much inside a candidate's is in it.
pub const INSIDE: f32 = 0.6;

/// A candidate part of one digit lies at least this much inside that digit's box...
pub const PART_INSIDE: f32 = 0.9;
/// ...and covers less than this share of it (more is the digit itself, give or take a tail).
pub const PART_AREA: f32 = 0.7;

/// Which pieces [`make`] cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kinds {
    /// Runs that hold two digits or more: what `--not-digits` trains the network on.
    Merges,
    /// Those and runs that are part of one digit: what the doubt output is fitted on.
    MergesAndParts,
}

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

/// Whether a candidate's box is part of one digit: it meets that digit's box only, lies at
/// least [`PART_INSIDE`] inside it and covers less than [`PART_AREA`] of it (all boxes
/// already grown).
fn part_of_one(c: &Rect, digits: &[Rect]) -> bool {
    let mut met = digits.iter().filter(|d| intersection(c, d) > 0.0);
    match (met.next(), met.next()) {
        (Some(d), None) => {
            intersection(c, d) >= PART_INSIDE * area(c) && area(c) < PART_AREA * area(d)
        }
        _ => false,
    }
}

/// The pieces of `kinds` in numbers written with the digits traced into `traces` (even
/// numbers on the pad, odd ones as pictures), as 28x28 bytes each; the same for a seed on any
/// number of threads.
pub fn make(
    traces: &[Vec<Stroke>],
    seed: u64,
    kinds: Kinds,
    threads: usize,
) -> anyhow::Result<Vec<u8>> {
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
                of_number(&parts, style, kinds, &mut rng)
            })
            .collect()
    });
    Ok(pieces.concat())
}

/// The pieces of `kinds` of one number written with `parts` in `style`.
pub fn of_number(parts: &[&[Stroke]], style: Style, kinds: Kinds, rng: &mut Rng) -> Vec<u8> {
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
        let grown = grow(&c.rect, margin);
        let part = kinds == Kinds::MergesAndParts && part_of_one(&grown, &digits);
        if part || holds_several_digits(&grown, &digits) {
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
    fn a_candidate_is_a_part_when_it_is_inside_one_digit_and_not_all_of_it() {
        let rect = |x0: f32, x1: f32, y1: f32| Rect {
            x0,
            y0: 0.0,
            x1,
            y1,
        };
        // A narrow 1, a 0 beside it and another 1.
        let digits = [
            rect(0.0, 0.1, 1.0),
            rect(0.3, 0.9, 1.0),
            rect(1.1, 1.2, 1.0),
        ];
        let cases = [
            ((0.3, 0.6, 1.0), true, "the 0's left half"),
            ((0.3, 0.9, 0.5), true, "the 0's top half"),
            ((0.0, 0.1, 0.5), true, "the 1's top half"),
            ((0.0, 0.1, 1.0), false, "the 1"),
            ((0.32, 0.9, 1.0), false, "the 0 but its edge"),
            ((0.3, 1.12, 1.0), false, "the 0 and a sliver of the 1"),
            ((0.0, 0.5, 1.0), false, "the 1 and half the 0"),
            ((0.92, 1.08, 1.0), false, "between two digits"),
        ];
        for ((x0, x1, y1), part, what) in cases {
            assert_eq!(part_of_one(&rect(x0, x1, y1), &digits), part, "{what}");
        }
    }

    #[test]
    fn a_two_stroke_digit_gives_its_strokes_as_parts_only_when_asked() {
        // A 4 as a person writes it: down and across, then the stem.
        let four: Vec<Stroke> = vec![
            vec![(8.0, 4.0), (6.0, 16.0), (20.0, 16.0)],
            vec![(16.0, 6.0), (16.0, 24.0)],
        ];
        for style in [Style::Drawn, Style::Picture] {
            for seed in 0..3 {
                let merges = of_number(&[&four], style, Kinds::Merges, &mut Rng::new(seed));
                assert!(merges.is_empty(), "{style:?} {seed}: one digit is no merge");
            }
        }
        let parts = of_number(
            &[&four],
            Style::Drawn,
            Kinds::MergesAndParts,
            &mut Rng::new(1),
        );
        // On the pad each stroke alone is a candidate, and each is part of the 4.
        assert_eq!(parts.len(), 2 * PIXELS);
    }

    #[test]
    fn a_lone_digit_gives_nothing_and_a_number_gives_its_pairs() {
        let (bar, ring) = (bar(), ring());
        for style in [Style::Drawn, Style::Picture] {
            for seed in 0..5 {
                let mut rng = Rng::new(seed);
                assert!(
                    of_number(&[&bar], style, Kinds::MergesAndParts, &mut rng).is_empty(),
                    "{style:?}: a lone 1 is one digit"
                );
                let mut rng = Rng::new(seed);
                let pieces = of_number(&[&bar, &ring, &bar], style, Kinds::Merges, &mut rng);
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
        for kinds in [Kinds::Merges, Kinds::MergesAndParts] {
            let a = make(&traces, 3, kinds, 1).unwrap();
            assert_eq!(a, make(&traces, 3, kinds, 3).unwrap());
            assert_ne!(a, make(&traces, 4, kinds, 1).unwrap());
            assert!(!a.is_empty());
        }
    }
}
