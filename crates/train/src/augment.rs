//! Data augmentation: small random affine distortions (rotation, scale, shear, shift),
//! optional elastic distortion and an optional random change of the line's thickness, so the
//! network sees the variety of real drawings.

use digits_core::SIDE;

use crate::rng::Rng;

/// How strongly to distort training images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Maximum rotation, degrees either way.
    pub rotate_deg: f32,
    /// Maximum relative change of size (0.1 = 90% to 110%).
    pub scale: f32,
    /// Maximum shear factor either way.
    pub shear: f32,
    /// Maximum shift in pixels either way, per axis.
    pub shift: f32,
    /// Elastic distortion strength in pixels (0 = off).
    pub elastic: f32,
    /// Largest change of the line's thickness either way (0 = off): the image is blended that
    /// far towards its 3x3 maximum (thicker) or minimum (thinner), as a pencil pressed harder
    /// or a finer pen would draw it.
    pub thickness: f32,
}

impl Augment {
    pub const NONE: Augment = Augment {
        rotate_deg: 0.0,
        scale: 0.0,
        shear: 0.0,
        shift: 0.0,
        elastic: 0.0,
        thickness: 0.0,
    };
    pub const DEFAULT: Augment = Augment {
        rotate_deg: 12.0,
        scale: 0.12,
        shear: 0.15,
        shift: 2.5,
        elastic: 0.0,
        thickness: 0.0,
    };

    pub fn is_none(&self) -> bool {
        *self == Augment::NONE
    }
}

/// Bilinear sample of a 28x28 image at (x, y); zero outside.
fn sample(src: &[f32], x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i32, y0 as i32);
    let at = |xx: i32, yy: i32| -> f32 {
        if xx < 0 || yy < 0 || xx >= SIDE as i32 || yy >= SIDE as i32 {
            0.0
        } else {
            src[yy as usize * SIDE + xx as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Smooths a 28x28 field with a separable 5-tap binomial filter, twice (in place via `tmp`).
fn smooth(field: &mut [f32; SIDE * SIDE], tmp: &mut [f32; SIDE * SIDE]) {
    const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    for _ in 0..2 {
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut s = 0.0;
                for (i, k) in K.iter().enumerate() {
                    let xx = (x as i32 + i as i32 - 2).clamp(0, SIDE as i32 - 1) as usize;
                    s += k * field[y * SIDE + xx];
                }
                tmp[y * SIDE + x] = s;
            }
        }
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut s = 0.0;
                for (i, k) in K.iter().enumerate() {
                    let yy = (y as i32 + i as i32 - 2).clamp(0, SIDE as i32 - 1) as usize;
                    s += k * tmp[yy * SIDE + x];
                }
                field[y * SIDE + x] = s;
            }
        }
    }
}

/// The 2x2 matrix (row-major) that turns by `angle` radians and then shears rows by `shear`:
/// `[[1, shear], [0, 1]] * [[c, -s], [s, c]]`.
fn turn_and_shear(angle: f32, shear: f32) -> [f32; 4] {
    let (s, c) = angle.sin_cos();
    [c + shear * s, -s + shear * c, s, c]
}

/// Strokes (28x28 image units) turned and sheared at random about the image's centre, as
/// [`distort`] turns and shears an image (size and place are left: the page's preprocessing
/// fits every drawing to the same box anyway). With no augmentation, the strokes as they are,
/// and nothing drawn from `rng`.
pub fn warp_strokes(
    a: &Augment,
    strokes: &[digits_core::preprocess::Stroke],
    rng: &mut Rng,
) -> Vec<digits_core::preprocess::Stroke> {
    if a.is_none() {
        return strokes.to_vec();
    }
    let angle = rng.range(-a.rotate_deg, a.rotate_deg).to_radians();
    let shear = rng.range(-a.shear, a.shear);
    let m = turn_and_shear(angle, shear);
    let centre = (SIDE as f32 - 1.0) / 2.0;
    strokes
        .iter()
        .map(|st| {
            st.iter()
                .map(|&(x, y)| {
                    let (u, v) = (x - centre, y - centre);
                    (m[0] * u + m[1] * v + centre, m[2] * u + m[3] * v + centre)
                })
                .collect()
        })
        .collect()
}

/// Writes a randomly distorted copy of the 28x28 image `src` into `dst`.
pub fn distort(a: &Augment, src: &[f32], dst: &mut [f32], rng: &mut Rng) {
    if a.is_none() {
        dst.copy_from_slice(src);
        return;
    }
    let angle = rng.range(-a.rotate_deg, a.rotate_deg).to_radians();
    let scale = 1.0 + rng.range(-a.scale, a.scale);
    let shear = rng.range(-a.shear, a.shear);
    let (tx, ty) = (rng.range(-a.shift, a.shift), rng.range(-a.shift, a.shift));
    // Forward map: p' = S * Sh * R * (p - c) + c + t. Sample with the inverse.
    let m = turn_and_shear(angle, shear).map(|v| scale * v);
    let det = m[0] * m[3] - m[1] * m[2];
    let inv = [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det];
    let centre = (SIDE as f32 - 1.0) / 2.0;
    let mut fields = None;
    if a.elastic > 0.0 {
        let mut dx = [0f32; SIDE * SIDE];
        let mut dy = [0f32; SIDE * SIDE];
        let mut tmp = [0f32; SIDE * SIDE];
        for v in dx.iter_mut().chain(dy.iter_mut()) {
            *v = rng.range(-1.0, 1.0);
        }
        smooth(&mut dx, &mut tmp);
        smooth(&mut dy, &mut tmp);
        // The smoothed field has a small spread; normalize it to the requested strength.
        let rms = (dx.iter().chain(dy.iter()).map(|v| v * v).sum::<f32>()
            / (2 * SIDE * SIDE) as f32)
            .sqrt()
            .max(1e-6);
        let k = a.elastic / rms;
        dx.iter_mut().chain(dy.iter_mut()).for_each(|v| *v *= k);
        fields = Some((dx, dy));
    }
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (mut px, mut py) = (x as f32, y as f32);
            if let Some((dx, dy)) = &fields {
                px += dx[y * SIDE + x];
                py += dy[y * SIDE + x];
            }
            let (ux, uy) = (px - centre - tx, py - centre - ty);
            let sx = inv[0] * ux + inv[1] * uy + centre;
            let sy = inv[2] * ux + inv[3] * uy + centre;
            dst[y * SIDE + x] = sample(src, sx, sy);
        }
    }
    if a.thickness > 0.0 {
        let t = rng.range(-a.thickness, a.thickness);
        thicken(dst, t);
    }
}

/// Blends a 28x28 image `t` of the way towards its 3x3 maximum (`t` > 0: a thicker line) or
/// `-t` of the way towards its 3x3 minimum (`t` < 0: a thinner one), in place.
fn thicken(img: &mut [f32], t: f32) {
    let src: Vec<f32> = img.to_vec();
    let k = t.abs().min(1.0);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let mut m = src[y * SIDE + x];
            for yy in y.saturating_sub(1)..(y + 2).min(SIDE) {
                for xx in x.saturating_sub(1)..(x + 2).min(SIDE) {
                    let v = src[yy * SIDE + xx];
                    m = if t > 0.0 { m.max(v) } else { m.min(v) };
                }
            }
            let i = y * SIDE + x;
            img[i] = (1.0 - k) * src[i] + k * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use digits_core::PIXELS;

    #[test]
    fn warped_strokes_are_turned_and_sheared_about_the_centre() {
        let strokes = vec![
            vec![(4.0, 4.0), (23.0, 4.0), (23.0, 23.0)],
            vec![(13.5, 13.5)],
        ];
        // Nothing to turn or shear: the strokes as they were, and the random stream untouched.
        let mut rng = Rng::new(1);
        assert_eq!(warp_strokes(&Augment::NONE, &strokes, &mut rng), strokes);
        assert_eq!(rng.uniform(), Rng::new(1).uniform());
        // Turned only: every distance kept, the centre fixed, the points moved.
        let turn = Augment {
            rotate_deg: 30.0,
            ..Augment::NONE
        };
        let warped = warp_strokes(&turn, &strokes, &mut Rng::new(2));
        let d = |p: (f32, f32), q: (f32, f32)| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt();
        for (a, b) in [(0, 1), (1, 2), (0, 2)] {
            let (before, after) = (
                d(strokes[0][a], strokes[0][b]),
                d(warped[0][a], warped[0][b]),
            );
            assert!((before - after).abs() < 1e-4, "{before} -> {after}");
        }
        assert!(d(warped[1][0], (13.5, 13.5)) < 1e-5);
        assert!(d(warped[0][0], strokes[0][0]) > 0.01);
        // Sheared only: rows stay rows (y kept), x moves with the height above the centre.
        let shear = Augment {
            shear: 0.3,
            ..Augment::NONE
        };
        let warped = warp_strokes(&shear, &strokes, &mut Rng::new(3));
        let k = (warped[0][0].0 - 4.0) / (4.0 - 13.5);
        assert!(k.abs() > 1e-3 && k.abs() <= 0.3);
        for (p, q) in strokes[0].iter().zip(&warped[0]) {
            assert!((p.1 - q.1).abs() < 1e-5);
            assert!((q.0 - (p.0 + k * (p.1 - 13.5))).abs() < 1e-4);
        }
    }

    fn blob() -> Vec<f32> {
        let mut img = vec![0f32; PIXELS];
        for y in 10..18 {
            for x in 11..16 {
                img[y * SIDE + x] = 1.0;
            }
        }
        img
    }

    #[test]
    fn none_is_identity_and_default_keeps_ink() {
        let src = blob();
        let mut dst = vec![0f32; PIXELS];
        let mut rng = Rng::new(3);
        distort(&Augment::NONE, &src, &mut dst, &mut rng);
        assert_eq!(src, dst);
        let ink: f32 = src.iter().sum();
        let elastic = Augment {
            elastic: 1.0,
            ..Augment::DEFAULT
        };
        for (aug, lo, hi) in [(Augment::DEFAULT, 0.7, 1.35), (elastic, 0.4, 1.8)] {
            for _ in 0..50 {
                distort(&aug, &src, &mut dst, &mut rng);
                let out: f32 = dst.iter().sum();
                // Scale, shear and elastic warps change the area; the blob never leaves the frame.
                assert!(out > lo * ink && out < hi * ink, "{out} vs {ink}");
                assert!(dst.iter().all(|v| (0.0..=1.0 + 1e-6).contains(v)));
            }
        }
    }

    #[test]
    fn thickness_thickens_and_thins_the_line_and_is_off_at_zero() {
        let src = blob();
        let ink: f32 = src.iter().sum();
        let mut img = src.clone();
        thicken(&mut img, 1.0);
        // The 5x8 block grows by a pixel all round (7x10), or shrinks by one (3x6).
        assert_eq!(img.iter().sum::<f32>(), 70.0);
        let mut thin = src.clone();
        thicken(&mut thin, -1.0);
        assert_eq!(thin.iter().sum::<f32>(), 18.0);
        let mut half = src.clone();
        thicken(&mut half, 0.5);
        assert_eq!(half.iter().sum::<f32>(), (ink + 70.0) / 2.0);
        // Off, it draws nothing from the random stream: the same images as without the field.
        let on = Augment {
            thickness: 0.5,
            ..Augment::DEFAULT
        };
        let (mut a, mut b) = (vec![0f32; PIXELS], vec![0f32; PIXELS]);
        let (mut r1, mut r2) = (Rng::new(4), Rng::new(4));
        distort(&Augment::DEFAULT, &src, &mut a, &mut r1);
        distort(&Augment::DEFAULT, &src, &mut b, &mut r2);
        assert_eq!(a, b);
        assert_eq!(r1.uniform(), r2.uniform());
        let mut sums = Vec::new();
        for _ in 0..40 {
            distort(&on, &src, &mut a, &mut r1);
            assert!(a.iter().all(|v| (0.0..=1.0 + 1e-6).contains(v)));
            sums.push(a.iter().sum::<f32>());
        }
        let (lo, hi) = sums
            .iter()
            .fold((f32::MAX, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(lo < 0.8 * ink && hi > 1.2 * ink, "{lo} {hi} vs {ink}");
    }

    #[test]
    fn pure_shift_moves_pixels() {
        let src = blob();
        let mut dst = vec![0f32; PIXELS];
        let a = Augment {
            shift: 3.0,
            ..Augment::NONE
        };
        let mut rng = Rng::new(9);
        distort(&a, &src, &mut dst, &mut rng);
        let com = |img: &[f32]| {
            let s: f32 = img.iter().sum();
            let x: f32 = img
                .iter()
                .enumerate()
                .map(|(i, v)| (i % SIDE) as f32 * v)
                .sum();
            x / s
        };
        assert!((com(&src) - com(&dst)).abs() > 0.0);
        assert!((com(&src) - com(&dst)).abs() <= 3.0 + 1e-3);
    }
}
