//! MNIST test digits rendered large, anywhere on canvases of any size, in both polarities, and
//! run through the page's preprocessing are still classified like the originals.

mod common;

use digits_core::model::Model;
use digits_core::preprocess::{Ink, to_mnist};
use digits_train::rng::Rng;

/// Draws a 28x28 digit scaled by `scale` at (`ox`, `oy`) on a `w` x `h` canvas (bilinear),
/// as 8-bit luminance, dark ink on light paper if `dark_on_light`.
fn render(
    img: &[f32],
    w: usize,
    h: usize,
    ox: f32,
    oy: f32,
    scale: f32,
    dark_on_light: bool,
) -> Vec<u8> {
    let at = |x: i32, y: i32| -> f32 {
        if (0..28).contains(&x) && (0..28).contains(&y) {
            img[y as usize * 28 + x as usize]
        } else {
            0.0
        }
    };
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let sx = (x as f32 + 0.5 - ox) / scale - 0.5;
            let sy = (y as f32 + 0.5 - oy) / scale - 0.5;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i32, y0 as i32);
            let v = (at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx) * (1.0 - fy)
                + (at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
            let v = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            out[y * w + x] = if dark_on_light { 255 - v } else { v };
        }
    }
    out
}

#[test]
fn rendered_digits_classify_like_the_originals() {
    let model_bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/assets/model.onnx"
    ))
    .unwrap();
    let model = Model::from_bytes(&model_bytes, "model.onnx").unwrap();
    let test = common::test_set().slice(0..2000);
    let original = model.classify(&test.inputs(), 500).unwrap();
    let mut rng = Rng::new(42);
    let mut rendered = Vec::with_capacity(test.images.pixels.len());
    for i in 0..test.len() {
        let (w, h) = (120 + rng.below(400), 120 + rng.below(400));
        let max_scale = (w.min(h) as f32 / 28.0).min(12.0);
        let scale = rng.range(3.0, max_scale.max(3.01));
        let ox = rng.range(0.0, (w as f32 - 28.0 * scale).max(0.0));
        let oy = rng.range(0.0, (h as f32 - 28.0 * scale).max(0.0));
        let luma = render(&test.input(i), w, h, ox, oy, scale, i % 2 == 0);
        let input = to_mnist(&Ink::from_luma(w, h, &luma)).expect("a digit is not blank");
        rendered.extend_from_slice(&input);
    }
    let again = model.classify(&rendered, 500).unwrap();
    let correct = |p: &[u8]| p.iter().zip(&test.labels).filter(|(a, b)| a == b).count();
    let (a, b) = (correct(&original), correct(&again));
    eprintln!("originals {a}/2000, rendered and preprocessed {b}/2000");
    assert!(b as f64 >= 0.99 * a as f64, "{b} vs {a}");
}
