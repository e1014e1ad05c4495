//! The numbers benchmark (`digits eval --numbers`): 2- to 5-digit numbers written with traced
//! MNIST test digits, each digit used once, with varying heights, a wandering baseline, a slight
//! slant and gaps from overlapping to wide; then drawn on the pad (the page's path: pointer
//! points -> `Reader::strokes`) or as a picture (the command line's path: `Ink::from_luma` ->
//! `Reader::ink`), and read whole. Also every test digit alone, through the same reader, to show
//! that a lone digit is not split.

use digits_core::model::Model;
use digits_core::preprocess::{Ink, Stroke, strokes_to_mnist, to_mnist};
use digits_core::segment::{Digit, Priors, Reader, Rect};
use rayon::prelude::*;

use crate::pen::{self, Style};
use crate::rng::Rng;

/// The lengths of the numbers, in turn.
pub const LENGTHS: [usize; 4] = [2, 3, 4, 5];

/// Which test digits make each number: a shuffle of `0..count` (from `seed`) cut into numbers
/// of 2, 3, 4, 5, 2, ... digits; the last takes what is left (at least 2, or it joins the one
/// before).
pub fn numbers(count: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..count).collect();
    Rng::derive(seed, &[0x6e75_6d62]).shuffle(&mut order);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut at = 0;
    for &len in LENGTHS.iter().cycle() {
        if at >= count {
            break;
        }
        let end = (at + len).min(count);
        if end - at < 2 {
            if let Some(last) = out.last_mut() {
                last.extend(&order[at..end]);
            }
        } else {
            out.push(order[at..end].to_vec());
        }
        at = end;
    }
    out
}

/// Digits written one after the other as a person writes a number, in units of one digit
/// height: each 85 to 115% of that, the baseline wandering by up to
/// a fifth, a slant shared by the number, gaps from touching (a fiftieth of a height of overlap) to half a height.
/// Returns the strokes and each digit's box (of its points).
pub fn compose(parts: &[&[Stroke]], rng: &mut Rng) -> (Vec<Stroke>, Vec<Rect>) {
    let slant = rng.range(-0.2, 0.2);
    let mut strokes = Vec::new();
    let mut boxes = Vec::new();
    let mut x = 0.0;
    let mut baseline: f32 = 0.0;
    for (k, part) in parts.iter().enumerate() {
        // People write the digits of a number about equally tall, whatever their width (MNIST
        // fitted each digit's larger side to 20 pixels instead): the height is what is drawn,
        // unless that would make the digit more than 1.3 heights wide.
        let Some(own) = bbox(part) else { continue };
        let side = own.height().max(own.width() / 1.3).max(1.0);
        let scale = rng.range(0.85, 1.15) / side;
        baseline = (baseline + rng.range(-0.08, 0.08)).clamp(-0.2, 0.2);
        let gap = rng.range(-0.02, 0.5);
        // Slanted about the middle of the field (y = 14), scaled, then placed.
        let moved: Vec<Stroke> = part
            .iter()
            .map(|s| {
                s.iter()
                    .map(|&(px, py)| ((px + slant * (14.0 - py)) * scale, py * scale + baseline))
                    .collect()
            })
            .collect();
        let Some(b) = bbox(&moved) else { continue };
        let dx = if k == 0 { -b.x0 } else { x + gap - b.x0 };
        let placed: Vec<Stroke> = moved
            .into_iter()
            .map(|s| s.into_iter().map(|(px, py)| (px + dx, py)).collect())
            .collect();
        x = b.x1 + dx;
        boxes.push(Rect {
            x0: b.x0 + dx,
            x1: b.x1 + dx,
            ..b
        });
        strokes.extend(placed);
    }
    (strokes, boxes)
}

/// The box of the strokes' points.
fn bbox(strokes: &[Stroke]) -> Option<Rect> {
    Rect::of_points(strokes.iter().flatten())
}

/// A composed number drawn on the pad: digits 50 to 200 CSS pixels tall, points as a pointer
/// reports them.
pub fn on_pad(strokes: &[Stroke], rng: &mut Rng) -> Vec<Stroke> {
    on_pad_placed(strokes, rng).0
}

/// Where a composed number went: a point (x, y) of [`compose`]'s units is at
/// (x * scale + dx, y * scale + dy) in the drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub scale: f32,
    pub dx: f32,
    pub dy: f32,
    /// How far the ink reaches past the strokes' points: the pen's radius (0 on the pad, whose
    /// pieces are boxes of points).
    pub radius: f32,
}

impl Placement {
    /// A box of [`compose`]'s points in the drawing's units, grown by the pen's radius.
    pub fn rect(&self, r: &Rect) -> Rect {
        Rect {
            x0: r.x0 * self.scale + self.dx - self.radius,
            y0: r.y0 * self.scale + self.dy - self.radius,
            x1: r.x1 * self.scale + self.dx + self.radius,
            y1: r.y1 * self.scale + self.dy + self.radius,
        }
    }
}

/// [`on_pad`], and where the number went.
pub fn on_pad_placed(strokes: &[Stroke], rng: &mut Rng) -> (Vec<Stroke>, Placement) {
    let height = rng.range(50.0, 200.0);
    let (dx, dy) = (rng.range(0.0, 100.0), rng.range(0.0, 100.0));
    let placed: Vec<Stroke> = strokes
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(x, y)| (x * height + dx, y * height + dy))
                .collect()
        })
        .collect();
    let placement = Placement {
        scale: height,
        dx,
        dy,
        radius: 0.0,
    };
    (pen::pointer(&placed, rng), placement)
}

/// A composed number as a picture: digits 24 to 150 pixels tall, a pen 5 to 15% of that wide,
/// margins of a fifth to one digit height, on paper as `digits predict` would get it.
pub fn as_picture(strokes: &[Stroke], rng: &mut Rng) -> Option<Ink> {
    Some(as_picture_placed(strokes, rng)?.0)
}

/// [`as_picture`], and where the number went (in pixels).
pub fn as_picture_placed(strokes: &[Stroke], rng: &mut Rng) -> Option<(Ink, Placement)> {
    let height = rng.range(24.0, 150.0);
    let radius = height * rng.range(0.05, 0.15) / 2.0;
    let b = bbox(strokes)?;
    let margin = |rng: &mut Rng| radius + height * rng.range(0.2, 1.0);
    let (left, top) = (margin(rng), margin(rng));
    let w = ((b.x1 - b.x0) * height + left + margin(rng)).ceil() as usize;
    let h = ((b.y1 - b.y0) * height + top + margin(rng)).ceil() as usize;
    let placed: Vec<Stroke> = strokes
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(x, y)| ((x - b.x0) * height + left, (y - b.y0) * height + top))
                .collect()
        })
        .collect();
    let mut ink = Ink::new(w, h);
    pen::paint(&mut ink, &placed, radius);
    let placement = Placement {
        scale: height,
        dx: left - b.x0 * height,
        dy: top - b.y0 * height,
        radius,
    };
    Some((Ink::from_luma(w, h, &pen::on_paper(&ink, rng)), placement))
}

/// The reader's priors for a style: pictures have their own (a lone digit is one blob traced
/// into many lines).
pub fn priors(style: Style) -> Priors {
    match style {
        Style::Picture => Priors::pictures(),
        _ => Priors::strokes(),
    }
}

/// How one number was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub truth: String,
    pub read: String,
}

impl Outcome {
    pub fn count_right(&self) -> bool {
        self.truth.len() == self.read.len()
    }

    pub fn exact(&self) -> bool {
        self.truth == self.read
    }
}

/// Reads a drawing with `model`, one image at a time, as the page does: the digits found, and
/// the drawing read whole as one digit (as before numbers; `None` if nothing is drawn).
pub fn read(
    model: &Model,
    priors: &Priors,
    style: Style,
    strokes: &[Stroke],
    rng: &mut Rng,
) -> (Vec<Digit>, Option<usize>) {
    let mut classify = |x: &[f32]| model.predictions(x).ok().and_then(|p| p.first().copied());
    let mut reader = Reader::new(*priors);
    let (digits, whole) = match style {
        Style::Picture => match as_picture(strokes, rng) {
            Some(ink) => (reader.ink(&ink, &mut classify), to_mnist(&ink)),
            None => (Vec::new(), None),
        },
        _ => {
            let pad = on_pad(strokes, rng);
            (reader.strokes(&pad, &mut classify), strokes_to_mnist(&pad))
        }
    };
    let whole = whole
        .and_then(|x| classify(&x))
        .and_then(|p| digits_core::metrics::argmax(&p.probabilities));
    (digits, whole)
}

/// The numbers benchmark and every digit alone, read in `style` on `threads` threads.
pub fn evaluate(
    model: &Model,
    priors: &Priors,
    style: Style,
    seed: u64,
    traces: &[Vec<Stroke>],
    labels: &[u8],
    threads: usize,
) -> anyhow::Result<Outcomes> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let truth = |members: &[usize]| -> String {
        members
            .iter()
            .map(|&i| (b'0' + labels[i]) as char)
            .collect()
    };
    // Number `n` (its digits `members`) is composed and read with its own random stream from
    // the seed, the style and `n`: the same on any number of threads.
    let read_number = |n: usize, members: &[usize]| {
        let mut rng = Rng::derive(seed, &[0x6e75_6d62, style as u64, n as u64]);
        let parts: Vec<&[Stroke]> = members.iter().map(|&i| traces[i].as_slice()).collect();
        let (strokes, _) = compose(&parts, &mut rng);
        let (digits, _) = read(model, priors, style, &strokes, &mut rng);
        Outcome {
            truth: truth(members),
            read: digits_core::segment::number(&digits),
        }
    };
    let sets = numbers(traces.len(), seed);
    Ok(pool.install(|| {
        let numbers = sets
            .par_iter()
            .enumerate()
            .map(|(n, m)| read_number(n, m))
            .collect();
        let alone = (0..traces.len())
            .into_par_iter()
            .map(|i| {
                let mut rng = Rng::derive(seed, &[0x006f_6e65, style as u64, i as u64]);
                let (strokes, _) = compose(&[&traces[i]], &mut rng);
                let (digits, whole) = read(model, priors, style, &strokes, &mut rng);
                let whole = whole.map_or("?".into(), |d| d.to_string());
                (
                    Outcome {
                        truth: truth(&[i]),
                        read: digits_core::segment::number(&digits),
                    },
                    Outcome {
                        truth: truth(&[i]),
                        read: whole,
                    },
                )
            })
            .collect();
        (numbers, alone)
    }))
}

/// What [`evaluate`] returns: each number read, and each digit alone read by the reader and
/// read whole (as a lone digit was read before numbers).
pub type Outcomes = (Vec<Outcome>, Vec<(Outcome, Outcome)>);

/// The figures of a run: per length and in all, how many numbers, how many with the right
/// count of digits, how many read exactly.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    pub length: Option<usize>,
    pub numbers: usize,
    pub count_right: usize,
    pub exact: usize,
}

impl Figures {
    pub fn of<'a>(length: Option<usize>, outcomes: impl Iterator<Item = &'a Outcome>) -> Figures {
        let mut f = Figures {
            length,
            ..Figures::default()
        };
        for o in outcomes {
            f.numbers += 1;
            f.count_right += o.count_right() as usize;
            f.exact += o.exact() as usize;
        }
        f
    }

    pub fn share(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_digit_is_used_once_in_numbers_of_two_to_five() {
        for count in [2, 3, 7, 14, 15, 100, 10_000] {
            let sets = numbers(count, 1);
            let mut all: Vec<usize> = sets.concat();
            all.sort_unstable();
            assert_eq!(all, (0..count).collect::<Vec<_>>(), "{count}");
            assert!(sets.iter().all(|s| (2..=6).contains(&s.len())), "{sets:?}");
        }
        assert_eq!(numbers(100, 1), numbers(100, 1));
        assert_ne!(numbers(100, 1), numbers(100, 2));
        let lengths: Vec<usize> = numbers(14, 1).iter().map(Vec::len).collect();
        assert_eq!(lengths, [2, 3, 4, 5]);
    }

    #[test]
    fn the_benchmark_is_the_same_for_a_seed_on_any_number_of_threads() {
        let bytes = include_bytes!("../../../web/assets/model.onnx");
        let model = Model::from_bytes_for_batch(bytes, "model.onnx", 1).unwrap();
        // Hand-made traces (28x28 pixel coordinates): a 1, a 7 and a 0, four times over.
        let one: Vec<Stroke> = vec![vec![(15.0, 4.0), (13.0, 24.0)]];
        let seven: Vec<Stroke> = vec![vec![(7.0, 5.0), (21.0, 5.0), (12.0, 24.0)]];
        let zero: Vec<Stroke> = vec![
            (0..=24)
                .map(|k| {
                    let a = k as f32 / 24.0 * std::f32::consts::TAU;
                    (14.0 - 6.0 * a.sin(), 14.0 - 10.0 * a.cos())
                })
                .collect(),
        ];
        let traces: Vec<Vec<Stroke>> = (0..12)
            .map(|i| [&one, &seven, &zero][i % 3].clone())
            .collect();
        let labels: Vec<u8> = (0..12).map(|i| [1, 7, 0][i % 3]).collect();
        for style in [Style::Drawn, Style::Picture] {
            let p = priors(style);
            let a = evaluate(&model, &p, style, 1, &traces, &labels, 1).unwrap();
            let b = evaluate(&model, &p, style, 1, &traces, &labels, 3).unwrap();
            assert_eq!(a, b, "{style:?}: threads change nothing");
            assert_eq!(a.0.len(), 4, "12 digits: numbers of 2, 3, 4 and 3 digits");
            assert_eq!(a.1.len(), 12);
            // Clear digits: every number and every lone digit is read right.
            assert!(a.0.iter().all(Outcome::exact), "{style:?}: {:?}", a.0);
            assert!(a.1.iter().all(|(o, w)| o.exact() && w.exact()), "{style:?}");
            let c = evaluate(&model, &p, style, 2, &traces, &labels, 2).unwrap();
            assert_ne!(
                a.0.iter().map(|o| &o.truth).collect::<Vec<_>>(),
                c.0.iter().map(|o| &o.truth).collect::<Vec<_>>(),
                "another seed, other numbers"
            );
        }
    }

    #[test]
    fn composed_digits_go_left_to_right_at_about_one_height() {
        let bar: Vec<Stroke> = vec![vec![(14.0, 4.0), (14.0, 24.0)]];
        let ring: Vec<Stroke> = vec![vec![(8.0, 4.0), (20.0, 14.0), (8.0, 24.0), (8.0, 4.0)]];
        let parts: Vec<&[Stroke]> = vec![&bar, &ring, &bar];
        for seed in 0..20 {
            let (strokes, boxes) = compose(&parts, &mut Rng::new(seed));
            assert_eq!(strokes.len(), 3);
            assert_eq!(boxes.len(), 3);
            for b in &boxes {
                assert!((0.8..1.2).contains(&b.height()), "{b:?}");
            }
            for w in boxes.windows(2) {
                let gap = w[1].x0 - w[0].x1;
                assert!((-0.03..0.51).contains(&gap), "gap {gap}");
            }
        }
    }
}
