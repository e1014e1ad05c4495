//! Where the picture numbers go wrong: the numbers benchmark's pictures (seed 1, test digits)
//! split by whether two neighbouring digits' ink touches (one blob, to be cut apart), with the
//! share of each read with the right count of digits; and how many of the digits that touch a
//! neighbour the reader offers as a candidate of their own (a run of pieces whose box is the
//! digit's: the cut was found, whether or not it was chosen).
//!
//! ```sh
//! cargo run --release -p digits-train --example touching
//! cargo run --release -p digits-train --example touching -- other.onnx
//! ```

use anyhow::Result;
use digits_core::idx::{self, Split};
use digits_core::preprocess::{Ink, Stroke};
use digits_core::segment::{Rect, ink_candidates};
use digits_train::numbers::{self, Placement};
use digits_train::pen::Style;
use digits_train::rng::Rng;
use digits_train::traces;

/// What `digits-core`'s reader counts as ink in a picture's blobs.
const BLOB_INK: f32 = 0.2;

/// One digit's strokes painted alone where the number put them.
fn paint(strokes: &[Stroke], at: &Placement, width: usize, height: usize) -> Ink {
    let mut ink = Ink::new(width, height);
    for s in strokes {
        let placed: Vec<(f32, f32)> = s
            .iter()
            .map(|&(x, y)| (x * at.scale + at.dx, y * at.scale + at.dy))
            .collect();
        let Some(&first) = placed.first() else {
            continue;
        };
        ink.paint_segment(first, first, at.radius);
        for w in placed.windows(2) {
            ink.paint_segment(w[0], w[1], at.radius);
        }
    }
    ink
}

/// Whether ink of `a` and of `b` are neighbours (8-connected), as one blob would join them.
fn touch(a: &Ink, b: &Ink) -> bool {
    let (w, h) = (a.width, a.height);
    (0..h).any(|y| {
        (0..w).any(|x| {
            a.data[y * w + x] > BLOB_INK
                && (y.saturating_sub(1)..(y + 2).min(h)).any(|v| {
                    (x.saturating_sub(1)..(x + 2).min(w)).any(|u| b.data[v * w + u] > BLOB_INK)
                })
        })
    })
}

/// The box of the pixels with more than `BLOB_INK`.
fn ink_box(ink: &Ink) -> Option<Rect> {
    let w = ink.width;
    let mut r: Option<Rect> = None;
    for (i, _) in ink.data.iter().enumerate().filter(|(_, v)| **v > BLOB_INK) {
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        let p = Rect {
            x0: x,
            y0: y,
            x1: x + 1.0,
            y1: y + 1.0,
        };
        r = Some(r.map_or(p, |r| r.union(&p)));
    }
    r
}

/// Intersection over union of two boxes.
fn iou(a: &Rect, b: &Rect) -> f32 {
    let w = (a.x1.min(b.x1) - a.x0.max(b.x0)).max(0.0);
    let h = (a.y1.min(b.y1) - a.y0.max(b.y0)).max(0.0);
    let area = |r: &Rect| r.width() * r.height();
    w * h / (area(a) + area(b) - w * h)
}

fn main() -> Result<()> {
    let model_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| digits_train::cli::SHIPPED_MODEL.into());
    let data = std::path::Path::new(digits_train::cli::DEFAULT_DATA);
    let test = idx::load_split(data, Split::Test)?;
    let traces = traces::load_or_trace(data, &test.images.pixels, 2)?;
    let model = digits_train::cli::load_model(std::path::Path::new(&model_path))?;
    let priors = numbers::priors(Style::Picture);
    // [not touching, touching]: (numbers, read with the right count)
    let mut tally = [(0usize, 0usize); 2];
    // Digits touching a neighbour: (how many, offered on their own).
    let mut offered = (0usize, 0usize);
    for (n, members) in numbers::numbers(traces.len(), 1).iter().enumerate() {
        // The benchmark's own random stream for number n (`numbers::evaluate`).
        let mut rng = Rng::derive(1, &[0x6e75_6d62, Style::Picture as u64, n as u64]);
        let parts: Vec<&[Stroke]> = members.iter().map(|&i| traces[i].as_slice()).collect();
        let (strokes, _) = numbers::compose(&parts, &mut rng);
        let Some((ink, at)) = numbers::as_picture_placed(&strokes, &mut rng.clone()) else {
            continue;
        };
        // `compose` keeps every digit's strokes, in order.
        let mut first = 0;
        let alone: Vec<Ink> = parts
            .iter()
            .map(|p| {
                let own = &strokes[first..first + p.len()];
                first += p.len();
                paint(own, &at, ink.width, ink.height)
            })
            .collect();
        let touches: Vec<bool> = alone.windows(2).map(|w| touch(&w[0], &w[1])).collect();
        let touching = touches.contains(&true);
        if touching {
            let candidates = ink_candidates(&ink, &priors);
            for (k, own) in alone.iter().enumerate() {
                let near = (k > 0 && touches[k - 1]) || touches.get(k).copied().unwrap_or(false);
                let Some(b) = ink_box(own).filter(|_| near) else {
                    continue;
                };
                offered.0 += 1;
                offered.1 += candidates.iter().any(|c| iou(&c.rect, &b) >= 0.8) as usize;
            }
        }
        let (digits, _) = numbers::read(&model, &priors, Style::Picture, &strokes, &mut rng);
        let t = &mut tally[touching as usize];
        t.0 += 1;
        t.1 += (digits.len() == members.len()) as usize;
    }
    for (name, (count, right)) in ["not touching", "touching"].iter().zip(tally) {
        let share = 100.0 * right as f64 / count.max(1) as f64;
        println!("{name}: {count} numbers, {share:.2}% read with the right count of digits");
    }
    let share = 100.0 * offered.1 as f64 / offered.0.max(1) as f64;
    println!(
        "digits touching a neighbour: {}, offered as a candidate of their own (box IoU >= 0.8): {share:.2}%",
        offered.0
    );
    Ok(())
}
