//! Traced strokes redrawn the ways the page and `digits predict` will see digits: on the pad
//! (the page's own path: points as a pointer reports them -> `rasterize_strokes` -> `to_mnist`)
//! or as a picture (an anti-aliased drawing with a pen of random width, either polarity, random
//! size and place, 8-bit grey with a little noise -> `Ink::from_luma` -> `to_mnist`). Used by
//! the drawn-digit benchmark (`digits eval --style`) and the pen augmentation of training.

use digits_core::preprocess::{Ink, Stroke, rasterize_strokes, to_mnist};

use crate::rng::Rng;

/// How test or training digits are shown to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Style {
    /// The scanned MNIST images as they are.
    Scan,
    /// Traced, then drawn on the pad through the page's code.
    Drawn,
    /// Traced, then drawn as a picture with a random pen, read as `digits predict` reads one.
    Picture,
}

impl Style {
    pub fn name(self) -> &'static str {
        match self {
            Style::Scan => "scan",
            Style::Drawn => "drawn",
            Style::Picture => "picture",
        }
    }

    /// The model's 28x28 input for a digit traced into `strokes`, redrawn in this style; `None`
    /// if nothing is drawn, and for [`Style::Scan`], which has nothing to redraw (the scan itself
    /// is the input).
    pub fn render(self, strokes: &[Stroke], rng: &mut Rng) -> Option<Vec<f32>> {
        match self {
            Style::Scan => None,
            Style::Drawn => drawn(strokes, rng),
            Style::Picture => picture(strokes, rng),
        }
    }

    /// Digit `i` of a benchmark (traced into `strokes`) drawn in this style with its own random
    /// stream, derived from `seed`, the style and `i` alone: the same drawing on any number of
    /// threads and in any order. Blank if nothing is drawn (and for [`Style::Scan`]).
    pub fn benchmark_input(self, seed: u64, i: usize, strokes: &[Stroke]) -> Vec<f32> {
        let mut rng = Rng::derive(seed, &[self as u64, i as u64]);
        self.render(strokes, &mut rng)
            .unwrap_or_else(|| vec![0.0; digits_core::PIXELS])
    }
}

/// The strokes scaled so the drawing's larger side is `size` units, and their extent
/// (width, height) at that scale; `None` without points.
pub(crate) fn fit(strokes: &[Stroke], size: f32) -> Option<(Vec<Stroke>, f32, f32)> {
    let points = || strokes.iter().flatten();
    let x0 = points().map(|p| p.0).fold(f32::MAX, f32::min);
    let y0 = points().map(|p| p.1).fold(f32::MAX, f32::min);
    let x1 = points().map(|p| p.0).fold(f32::MIN, f32::max);
    let y1 = points().map(|p| p.1).fold(f32::MIN, f32::max);
    if x0 > x1 {
        return None;
    }
    let k = size / (x1 - x0).max(y1 - y0).max(1.0);
    let scaled = strokes
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(x, y)| ((x - x0) * k, (y - y0) * k))
                .collect()
        })
        .collect();
    Some((scaled, (x1 - x0) * k, (y1 - y0) * k))
}

/// The strokes moved by (dx, dy).
pub(crate) fn shift(strokes: &[Stroke], dx: f32, dy: f32) -> Vec<Stroke> {
    strokes
        .iter()
        .map(|s| s.iter().map(|&(x, y)| (x + dx, y + dy)).collect())
        .collect()
}

/// A stroke as a pointer reports it: points every `spacing` units along the line (and its
/// corners), each off by up to `jitter`.
pub(crate) fn as_pointer(
    stroke: &[(f32, f32)],
    spacing: f32,
    jitter: f32,
    rng: &mut Rng,
) -> Stroke {
    let mut wobble = |(x, y): (f32, f32)| {
        (
            x + rng.range(-jitter, jitter),
            y + rng.range(-jitter, jitter),
        )
    };
    let mut out = vec![wobble(stroke[0])];
    for w in stroke.windows(2) {
        let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
        let steps = ((dx * dx + dy * dy).sqrt() / spacing).ceil().max(1.0) as usize;
        for k in 1..=steps {
            let f = k as f32 / steps as f32;
            out.push(wobble((w[0].0 + f * dx, w[0].1 + f * dy)));
        }
    }
    out
}

/// On the pad: a digit 80 to 320 CSS pixels tall somewhere on a phone-to-desktop pad, its
/// points 1.5 to 6 pixels apart, with half a pixel of hand tremor; then the page's code.
pub fn drawn(strokes: &[Stroke], rng: &mut Rng) -> Option<Vec<f32>> {
    let (scaled, _, _) = fit(strokes, rng.range(80.0, 320.0))?;
    let placed = shift(&scaled, rng.range(0.0, 200.0), rng.range(0.0, 200.0));
    to_mnist(&rasterize_strokes(&pointer(&placed, rng))?)
}

/// Strokes (in CSS pixels) as a pointer reports them: points 1.5 to 6 pixels apart, with half a
/// pixel of hand tremor.
pub(crate) fn pointer(strokes: &[Stroke], rng: &mut Rng) -> Vec<Stroke> {
    let spacing = rng.range(1.5, 6.0);
    strokes
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| as_pointer(s, spacing, 0.5, rng))
        .collect()
}

/// As a picture: a 48 to 200 pixel picture, the digit 45 to 90% of its smaller side anywhere
/// in it, a pen 5 to 15% of the digit's size wide, dark ink on light paper or the reverse,
/// levels and noise of a phone photo or a scan; then the command line's code.
pub fn picture(strokes: &[Stroke], rng: &mut Rng) -> Option<Vec<f32>> {
    let (w, h) = (
        rng.range(48.0, 200.0) as usize,
        rng.range(48.0, 200.0) as usize,
    );
    let size = w.min(h) as f32 * rng.range(0.45, 0.9);
    let radius = size * rng.range(0.05, 0.15) / 2.0;
    let (scaled, bw, bh) = fit(strokes, size)?;
    let left = radius + rng.range(0.0, (w as f32 - bw - 2.0 * radius).max(0.0));
    let top = radius + rng.range(0.0, (h as f32 - bh - 2.0 * radius).max(0.0));
    let mut ink = Ink::new(w, h);
    paint(&mut ink, &shift(&scaled, left, top), radius);
    to_mnist(&Ink::from_luma(w, h, &on_paper(&ink, rng)))
}

/// Paints strokes (pixel coordinates) with a round pen of `radius` pixels.
pub(crate) fn paint(ink: &mut Ink, strokes: &[Stroke], radius: f32) {
    for s in strokes {
        let Some(&first) = s.first() else { continue };
        ink.paint_segment(first, first, radius);
        for pair in s.windows(2) {
            ink.paint_segment(pair[0], pair[1], radius);
        }
    }
}

/// An ink image as an 8-bit picture: paper and ink levels of a phone photo or a scan, a little
/// noise, dark ink on light paper or the reverse.
pub(crate) fn on_paper(ink: &Ink, rng: &mut Rng) -> Vec<u8> {
    let paper = rng.range(170.0, 255.0);
    let pen = rng.range(0.0, 90.0);
    let noise = rng.range(0.0, 10.0);
    let dark_on_light = rng.uniform() < 0.5;
    ink.data
        .iter()
        .map(|&c| {
            let v = (paper + (pen - paper) * c + rng.range(-noise, noise)).clamp(0.0, 255.0) as u8;
            if dark_on_light { v } else { 255 - v }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seven() -> Vec<Stroke> {
        vec![vec![(7.0, 6.0), (21.0, 6.0), (12.0, 23.0)]]
    }

    #[test]
    fn each_style_is_deterministic_for_a_seed_and_looks_like_a_digit() {
        for style in [Style::Drawn, Style::Picture] {
            let a = style.render(&seven(), &mut Rng::new(5)).unwrap();
            let b = style.render(&seven(), &mut Rng::new(5)).unwrap();
            assert_eq!(a, b, "{style:?}");
            let c = style.render(&seven(), &mut Rng::new(6)).unwrap();
            assert_ne!(a, c, "{style:?}: another seed, another drawing");
            let mass: f32 = a.iter().sum();
            assert!((30.0..200.0).contains(&mass), "{style:?}: ink {mass}");
            assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
            // The bar of the 7 is at the top, the foot at the bottom.
            let row = |y: usize| a[y * 28..(y + 1) * 28].iter().sum::<f32>();
            let top = (0..14).map(row).sum::<f32>();
            let bottom = (14..28).map(row).sum::<f32>();
            assert!(top > bottom, "{style:?}: {top} {bottom}");
        }
        assert_eq!(Style::Drawn.render(&[], &mut Rng::new(1)), None);
        assert_eq!(Style::Scan.render(&seven(), &mut Rng::new(1)), None);
    }

    #[test]
    fn pictures_vary_the_pen() {
        let mass = |seed| -> f32 { picture(&seven(), &mut Rng::new(seed)).unwrap().iter().sum() };
        let masses: Vec<f32> = (0..40).map(mass).collect();
        let (lo, hi) = masses
            .iter()
            .fold((f32::MAX, 0.0f32), |(l, h), &m| (l.min(m), h.max(m)));
        assert!(hi > 1.8 * lo, "thin and thick pens: {lo}..{hi}");
    }
}
