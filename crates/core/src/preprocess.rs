//! MNIST-style preprocessing, one implementation for the page and the command line.
//!
//! MNIST digits were made by fitting each scanned digit into a 20x20 box (keeping its aspect
//! ratio, anti-aliased) and placing that box in a 28x28 field so that the centre of mass of the
//! ink falls on the centre. A drawing or a photo must go through the same steps, or the network
//! sees something unlike its training data:
//!
//! 1. an [`Ink`] image (1.0 = ink): from stroke points ([`rasterize_strokes`]) or from a decoded
//!    picture of either polarity ([`Ink::from_luma`]);
//! 2. [`to_mnist`]: bounding box -> fit into 20x20 by area averaging -> centre of mass to the
//!    centre of the 28x28 field.

use crate::{PIXELS, SIDE};

/// Side of the box a digit is fitted into.
pub const BOX: usize = 20;
/// Where MNIST puts the centre of mass (pixel-index coordinates, measured on the test set).
pub const CENTRE: f32 = 14.0;
/// Ink below this is background when finding the bounding box.
pub const INK_THRESHOLD: f32 = 0.05;
/// Stroke width as a share of the drawing's larger side, so that strokes are as thick as
/// MNIST's once the drawing is fitted into the 20x20 box.
pub const PEN_FRACTION: f32 = 0.12;
/// Resolution at which strokes are rasterized (longer side of the drawing, in pixels).
pub const STROKE_RESOLUTION: f32 = 96.0;

/// A greyscale ink image: row-major, 0.0 = background, 1.0 = full ink.
#[derive(Clone, Debug, PartialEq)]
pub struct Ink {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// The middle value of `values` (which is not empty).
fn median(values: &[u8]) -> u8 {
    let mut counts = [0usize; 256];
    values.iter().for_each(|&v| counts[v as usize] += 1);
    let mut seen = 0;
    for (v, &n) in counts.iter().enumerate() {
        seen += n;
        if seen * 2 > values.len() {
            return v as u8;
        }
    }
    255
}

impl Ink {
    pub fn new(width: usize, height: usize) -> Ink {
        Ink {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }

    /// From 8-bit luminance of either polarity (dark ink on light paper, or light on dark).
    /// The dominant level (the median: most of a picture of a digit is paper) decides which is
    /// the paper, its grain (three median deviations from that level) is paper too, and lines of ink along the picture's edges (a frame, a scanner's border) are
    /// cleared; the contrast is stretched so the strongest ink is 1.0. A picture without
    /// contrast is empty (all zero).
    pub fn from_luma(width: usize, height: usize, luma: &[u8]) -> Ink {
        assert_eq!(luma.len(), width * height, "one byte per pixel");
        let mut ink = Ink::new(width, height);
        if width == 0 || height == 0 {
            return ink;
        }
        let bg = median(luma);
        let light_paper = bg >= 128;
        let level = |v: u8| -> f32 {
            if light_paper {
                (255 - v) as f32
            } else {
                v as f32
            }
        };
        // The paper's grain (a photo's noise, a scan's texture) is paper too: levels within
        // three median deviations of the paper level are not ink.
        let deviation: Vec<u8> = luma.iter().map(|&v| v.abs_diff(bg)).collect();
        let floor = level(bg) + 3.0 * median(&deviation) as f32;
        let peak = luma.iter().map(|&v| level(v)).fold(0.0, f32::max);
        // Less than 10% contrast with the paper: nothing is written.
        if peak - floor < 25.5 {
            return ink;
        }
        for (o, &v) in ink.data.iter_mut().zip(luma) {
            *o = ((level(v) - floor) / (peak - floor)).clamp(0.0, 1.0);
        }
        ink.clear_frame();
        ink
    }

    /// Clears rows and columns at the picture's edges that are mostly ink (a frame line runs
    /// along the whole edge; a digit's stroke does not), up to a twentieth of the side deep.
    fn clear_frame(&mut self) {
        let (w, h) = (self.width, self.height);
        let inked = |v: &f32| *v > 0.5;
        let row_full = |ink: &Ink, y: usize| {
            ink.data[y * w..(y + 1) * w]
                .iter()
                .filter(|v| inked(v))
                .count()
                * 5
                > w * 3
        };
        let col_full = |ink: &Ink, x: usize| {
            (0..h).filter(|&y| inked(&ink.data[y * w + x])).count() * 5 > h * 3
        };
        let depth = |side: usize| (side / 20).max(1);
        for rows in [
            (0..depth(h)).collect::<Vec<_>>(),
            (h.saturating_sub(depth(h))..h).rev().collect(),
        ] {
            for y in rows {
                if !row_full(self, y) {
                    break;
                }
                self.data[y * w..(y + 1) * w].fill(0.0);
            }
        }
        for cols in [
            (0..depth(w)).collect::<Vec<_>>(),
            (w.saturating_sub(depth(w))..w).rev().collect(),
        ] {
            for x in cols {
                if !col_full(self, x) {
                    break;
                }
                (0..h).for_each(|y| self.data[y * w + x] = 0.0);
            }
        }
    }

    /// Paints the segment a-b (pixel coordinates, pixel centres at +0.5) with a round pen of
    /// `radius` pixels, anti-aliased, keeping the darker of old and new ink (so the order of
    /// painting does not matter). A point is a segment with a = b.
    pub fn paint_segment(&mut self, a: (f32, f32), b: (f32, f32), radius: f32) {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return;
        }
        let xa = ((a.0.min(b.0) - radius - 1.0).floor().max(0.0)) as usize;
        let xb = ((a.0.max(b.0) + radius + 1.0).ceil() as usize).min(w - 1);
        let ya = ((a.1.min(b.1) - radius - 1.0).floor().max(0.0)) as usize;
        let yb = ((a.1.max(b.1) + radius + 1.0).ceil() as usize).min(h - 1);
        for y in ya..=yb {
            for x in xa..=xb {
                let d = dist2_to_segment((x as f32 + 0.5, y as f32 + 0.5), a, b).sqrt();
                let cover = (radius + 0.5 - d).clamp(0.0, 1.0);
                let px = &mut self.data[y * w + x];
                *px = px.max(cover);
            }
        }
    }

    /// (min x, min y, max x, max y) of pixels above [`INK_THRESHOLD`], or `None` if blank.
    pub fn bounding_box(&self) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for y in 0..self.height {
            for x in 0..self.width {
                if self.data[y * self.width + x] > INK_THRESHOLD {
                    b = Some(match b {
                        None => (x, y, x, y),
                        Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                    });
                }
            }
        }
        b
    }
}

/// Resamples `src` (w x h) to `dst` (dw x dh) by area averaging: each output pixel is the mean
/// of the input area it covers, with partial pixels weighted by their overlap.
fn area_resample(src: &[f32], w: usize, h: usize, dw: usize, dh: usize) -> Vec<f32> {
    let (sx, sy) = (w as f32 / dw as f32, h as f32 / dh as f32);
    // Per output column, the input columns it overlaps and by how much.
    let spans = |n: usize, scale: f32, limit: usize| -> Vec<Vec<(usize, f32)>> {
        (0..n)
            .map(|o| {
                let (a, b) = (o as f32 * scale, (o + 1) as f32 * scale);
                let mut v = Vec::new();
                let mut i = a.floor() as usize;
                while (i as f32) < b && i < limit {
                    let overlap = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
                    if overlap > 0.0 {
                        v.push((i, overlap / scale));
                    }
                    i += 1;
                }
                v
            })
            .collect()
    };
    let cols = spans(dw, sx, w);
    let rows = spans(dh, sy, h);
    let mut out = vec![0.0; dw * dh];
    for (oy, rs) in rows.iter().enumerate() {
        for (ox, cs) in cols.iter().enumerate() {
            let mut s = 0.0;
            for &(iy, wy) in rs {
                for &(ix, wx) in cs {
                    s += wy * wx * src[iy * w + ix];
                }
            }
            out[oy * dw + ox] = s;
        }
    }
    out
}

/// MNIST-style 28x28 model input (row-major, 0..1) from an ink image; `None` if it is blank.
pub fn to_mnist(ink: &Ink) -> Option<Vec<f32>> {
    let (x0, y0, x1, y1) = ink.bounding_box()?;
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut crop = Vec::with_capacity(bw * bh);
    for y in y0..=y1 {
        crop.extend_from_slice(&ink.data[y * ink.width + x0..y * ink.width + x1 + 1]);
    }
    let scale = BOX as f32 / bw.max(bh) as f32;
    let dw = ((bw as f32 * scale).round() as usize).clamp(1, BOX);
    let dh = ((bh as f32 * scale).round() as usize).clamp(1, BOX);
    let patch = area_resample(&crop, bw, bh, dw, dh);
    let (cx, cy) = mass_centre(&patch, dw)?;
    let left = (CENTRE - cx).round() as i32;
    let top = (CENTRE - cy).round() as i32;
    let mut out = vec![0.0; PIXELS];
    for py in 0..dh {
        for px in 0..dw {
            let (x, y) = (left + px as i32, top + py as i32);
            if (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y) {
                out[y as usize * SIDE + x as usize] = patch[py * dw + px].clamp(0.0, 1.0);
            }
        }
    }
    Some(out)
}

/// A stroke: the points a pointer went through, in any unit (CSS pixels on the page).
pub type Stroke = Vec<(f32, f32)>;

/// Squared distance from p to the segment a-b.
fn dist2_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    qx * qx + qy * qy
}

/// Distance from p to the segment a-b.
pub(crate) fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    dist2_to_segment(p, a, b).sqrt()
}

/// The bounding box (x0, y0, x1, y1) of every point, or `None` if there is none or any is not
/// finite.
fn bounds<'a>(points: impl Iterator<Item = &'a (f32, f32)>) -> Option<(f32, f32, f32, f32)> {
    let mut b = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in points {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    (b.0 <= b.2).then_some(b)
}

/// How a drawing's bounding box maps onto the raster: the pen width is [`PEN_FRACTION`] of the
/// drawing's larger side, at a fixed resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Canvas {
    bounds: (f32, f32, f32, f32),
    scale: f32,
    radius: f32,
    pad: usize,
    w: usize,
    h: usize,
}

impl Canvas {
    fn new(bounds: (f32, f32, f32, f32)) -> Canvas {
        let (x0, y0, x1, y1) = bounds;
        let side = (x1 - x0).max(y1 - y0);
        // Work at a fixed resolution; a lone dot gets the size of a pen tip.
        let scale = if side > 0.0 {
            STROKE_RESOLUTION / side
        } else {
            1.0
        };
        let radius = (PEN_FRACTION * STROKE_RESOLUTION / 2.0).max(1.0);
        let pad = radius.ceil() as usize + 2;
        Canvas {
            bounds,
            scale,
            radius,
            pad,
            w: ((x1 - x0) * scale).ceil() as usize + 2 * pad + 1,
            h: ((y1 - y0) * scale).ceil() as usize + 2 * pad + 1,
        }
    }

    fn map(&self, p: (f32, f32)) -> (f32, f32) {
        (
            (p.0 - self.bounds.0) * self.scale + self.pad as f32,
            (p.1 - self.bounds.1) * self.scale + self.pad as f32,
        )
    }

    /// Draws `stroke`: its first point as a dot, then every segment, anti-aliased with round
    /// caps, keeping the darker of old and new ink (so the order of drawing does not matter).
    fn draw(&self, ink: &mut Ink, stroke: &[(f32, f32)]) {
        let mut segment = |a: (f32, f32), b: (f32, f32)| ink.paint_segment(a, b, self.radius);
        if let Some(&first) = stroke.first() {
            let p = self.map(first);
            segment(p, p);
        }
        for pair in stroke.windows(2) {
            segment(self.map(pair[0]), self.map(pair[1]));
        }
    }
}

/// Rasterizes strokes into an anti-aliased ink image with round caps and joins. The pen width is
/// [`PEN_FRACTION`] of the drawing's larger side, so the result looks like an MNIST digit
/// whatever the canvas size; `None` if there are no points (or any is not finite).
pub fn rasterize_strokes(strokes: &[Stroke]) -> Option<Ink> {
    let canvas = Canvas::new(bounds(strokes.iter().flatten())?);
    let mut ink = Ink::new(canvas.w, canvas.h);
    for stroke in strokes {
        canvas.draw(&mut ink, stroke);
    }
    Some(ink)
}

/// Model input straight from strokes: `None` for an empty drawing.
pub fn strokes_to_mnist(strokes: &[Stroke]) -> Option<Vec<f32>> {
    to_mnist(&rasterize_strokes(strokes)?)
}

/// Centre of mass (x, y) of a 28x28 image, pixel-index coordinates.
pub fn centre_of_mass(img: &[f32]) -> Option<(f32, f32)> {
    mass_centre(img, SIDE)
}

/// Centre of mass (x, y) of a row-major image `width` pixels wide; `None` without ink.
fn mass_centre(img: &[f32], width: usize) -> Option<(f32, f32)> {
    let mass: f32 = img.iter().sum();
    if mass <= 0.0 {
        return None;
    }
    let cx = img
        .iter()
        .enumerate()
        .map(|(i, v)| (i % width) as f32 * v)
        .sum::<f32>()
        / mass;
    let cy = img
        .iter()
        .enumerate()
        .map(|(i, v)| (i / width) as f32 * v)
        .sum::<f32>()
        / mass;
    Some((cx, cy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_is_the_dominant_level_and_a_frame_is_not_ink() {
        // White paper, a 2-pixel black frame, and a black stroke (a "1") in the middle.
        let (w, h) = (100, 100);
        let mut luma = vec![255u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let frame = x < 2 || y < 2 || x >= w - 2 || y >= h - 2;
                let stroke = (48..52).contains(&x) && (10..90).contains(&y);
                if frame || stroke {
                    luma[y * w + x] = 0;
                }
            }
        }
        let ink = Ink::from_luma(w, h, &luma);
        assert_eq!(ink.bounding_box(), Some((48, 10, 51, 89)));
        // The same picture inverted (light ink on dark paper) reads the same.
        let inverted: Vec<u8> = luma.iter().map(|v| 255 - v).collect();
        assert_eq!(
            Ink::from_luma(w, h, &inverted).bounding_box(),
            Some((48, 10, 51, 89))
        );
    }

    /// A "7": top bar and a diagonal, in canvas units.
    fn seven(dx: f32, dy: f32, s: f32) -> Vec<Stroke> {
        vec![vec![
            (dx + 0.2 * s, dy + 0.2 * s),
            (dx + 0.8 * s, dy + 0.2 * s),
            (dx + 0.45 * s, dy + 0.9 * s),
        ]]
    }

    fn bbox28(img: &[f32]) -> (usize, usize, usize, usize) {
        Ink {
            width: 28,
            height: 28,
            data: img.to_vec(),
        }
        .bounding_box()
        .unwrap()
    }

    #[test]
    fn same_input_whatever_offset_scale_or_canvas() {
        let base = strokes_to_mnist(&seven(0.0, 0.0, 100.0)).unwrap();
        let (cx, cy) = centre_of_mass(&base).unwrap();
        assert!(
            (cx - CENTRE).abs() <= 0.5 && (cy - CENTRE).abs() <= 0.5,
            "{cx} {cy}"
        );
        for (dx, dy, s) in [
            (500.0, 30.0, 100.0),
            (3.0, 700.0, 37.0),
            (0.0, 0.0, 2000.0),
            (10.0, 10.0, 4.5),
        ] {
            let img = strokes_to_mnist(&seven(dx, dy, s)).unwrap();
            let diff = img
                .iter()
                .zip(&base)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-3, "offset ({dx},{dy}) scale {s}: max diff {diff}");
        }
    }

    #[test]
    fn fits_a_20_pixel_box_keeping_aspect() {
        let img = strokes_to_mnist(&seven(0.0, 0.0, 300.0)).unwrap();
        let (x0, y0, x1, y1) = bbox28(&img);
        assert_eq!(y1 - y0 + 1, BOX, "height fills the box");
        let w = x1 - x0 + 1;
        assert!((13..=17).contains(&w), "width keeps the aspect ratio: {w}");
        // A vertical stroke (a "1") stays thin and tall.
        let one = strokes_to_mnist(&[vec![(50.0, 10.0), (52.0, 200.0)]]).unwrap();
        let (x0, y0, x1, y1) = bbox28(&one);
        assert_eq!(y1 - y0 + 1, BOX);
        assert!(x1 - x0 < 5, "a stroke at most 5 pixels wide");
    }

    #[test]
    fn strokes_have_mnist_like_weight() {
        // MNIST test digits carry about 104 pixels' worth of ink on average.
        let img = strokes_to_mnist(&seven(0.0, 0.0, 250.0)).unwrap();
        let ink: f32 = img.iter().sum();
        assert!((50.0..130.0).contains(&ink), "ink mass {ink}");
        assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(img.iter().any(|&v| v > 0.99), "strokes reach full ink");
    }

    #[test]
    fn empty_and_degenerate_inputs() {
        assert_eq!(strokes_to_mnist(&[]), None);
        assert_eq!(strokes_to_mnist(&[vec![]]), None);
        assert_eq!(strokes_to_mnist(&[vec![(f32::NAN, 1.0)]]), None);
        let dot = strokes_to_mnist(&[vec![(5.0, 5.0)]]).unwrap();
        assert!(centre_of_mass(&dot).is_some());
        assert_eq!(to_mnist(&Ink::new(40, 30)), None);
        assert_eq!(to_mnist(&Ink::new(0, 0)), None);
    }

    #[test]
    fn the_papers_grain_is_not_ink() {
        // A bar on paper with noise of +-12 levels: the bar alone is ink, so it fills the box.
        let (w, h) = (60, 40);
        let mut state = 3u32;
        let luma: Vec<u8> = (0..w * h)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let noise = ((state >> 16) % 25) as i32 - 12;
                let bar = (25..31).contains(&(i % w)) && (10..30).contains(&(i / w));
                ((if bar { 30 } else { 220 }) + noise) as u8
            })
            .collect();
        let ink = Ink::from_luma(w, h, &luma);
        assert_eq!(ink.bounding_box(), Some((25, 10, 30, 29)));
    }

    #[test]
    fn both_polarities_and_no_contrast() {
        // A bar, dark on light and light on dark, in a 60x40 picture.
        let mut dark = vec![230u8; 60 * 40];
        for y in 10..30 {
            for x in 25..31 {
                dark[y * 60 + x] = 20;
            }
        }
        let light: Vec<u8> = dark.iter().map(|v| 255 - v).collect();
        let a = to_mnist(&Ink::from_luma(60, 40, &dark)).unwrap();
        let b = to_mnist(&Ink::from_luma(60, 40, &light)).unwrap();
        assert_eq!(a, b);
        let flat = Ink::from_luma(60, 40, &vec![128u8; 2400]);
        assert_eq!(to_mnist(&flat), None);
        let faint: Vec<u8> = dark
            .iter()
            .map(|&v| if v == 20 { 215 } else { v })
            .collect();
        assert_eq!(
            to_mnist(&Ink::from_luma(60, 40, &faint)),
            None,
            "6% contrast is noise"
        );
    }

    #[test]
    fn area_resample_preserves_mean() {
        let src: Vec<f32> = (0..37 * 23).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
        let mean = src.iter().sum::<f32>() / src.len() as f32;
        for (dw, dh) in [(20, 12), (5, 3), (74, 46)] {
            let out = area_resample(&src, 37, 23, dw, dh);
            let m = out.iter().sum::<f32>() / out.len() as f32;
            assert!((m - mean).abs() < 1e-3, "{dw}x{dh}: {m} vs {mean}");
        }
    }
}
