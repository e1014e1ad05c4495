//! Data augmentation: small random affine distortions (rotation, scale, shear, shift) and
//! optional elastic distortion, so the network sees the variety of real drawings.

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
}

impl Augment {
    pub const NONE: Augment = Augment {
        rotate_deg: 0.0,
        scale: 0.0,
        shear: 0.0,
        shift: 0.0,
        elastic: 0.0,
    };
    pub const DEFAULT: Augment = Augment {
        rotate_deg: 12.0,
        scale: 0.12,
        shear: 0.15,
        shift: 2.5,
        elastic: 0.0,
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
    let (s, c) = angle.sin_cos();
    // M = scale * [[1, shear], [0, 1]] * [[c, -s], [s, c]]
    let m = [
        scale * (c + shear * s),
        scale * (-s + shear * c),
        scale * s,
        scale * c,
    ];
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use digits_core::PIXELS;

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
