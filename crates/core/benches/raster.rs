//! What one frame of the pad costs in preprocessing as a drawing grows: rasterizing every stroke
//! again (`strokes_to_mnist`) against drawing only the new point (`StrokeRaster`), on drawings of
//! 10, 200 and 2,000 strokes (issue 11: the page's prediction went from 1.2 to 14 ms at 2,000).
//!
//! `cargo bench -p digits-core --bench raster`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use digits_core::preprocess::{Stroke, StrokeRaster, strokes_to_mnist, to_mnist};

/// `n` short strokes scribbled over a 300x300 pad, 12 points each.
fn drawing(n: usize) -> Vec<Stroke> {
    let mut state = 1u32;
    let mut next = move |m: u32| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((state >> 8) % m) as f32
    };
    (0..n)
        .map(|_| {
            let (x, y) = (20.0 + next(260), 20.0 + next(260));
            (0..12).map(|i| (x + i as f32 * 1.5, y + next(8))).collect()
        })
        .collect()
}

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("pad_frame");
    for n in [10, 200, 2000] {
        let strokes = drawing(n);
        group.bench_with_input(BenchmarkId::new("everything", n), &strokes, |b, s| {
            b.iter(|| strokes_to_mnist(s))
        });
        // The pen moves one point further inside the drawing, and the frame follows.
        group.bench_with_input(BenchmarkId::new("what_changed", n), &strokes, |b, s| {
            let mut strokes = s.clone();
            let mut raster = StrokeRaster::default();
            raster.update(&strokes);
            let mut step = 0.0;
            b.iter(|| {
                step = (step + 0.37) % 20.0;
                strokes.last_mut().unwrap().push((150.0 + step, 150.0));
                raster.update(&strokes).and_then(to_mnist)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
