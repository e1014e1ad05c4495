//! What rasterizing a drawing costs as it grows: every stroke drawn and preprocessed
//! (`strokes_to_mnist`) on drawings of 10, 200 and 2,000 strokes. (The page reads a drawing as
//! runs of at most eight strokes, each rasterized on its own and kept from frame to frame:
//! `digits_core::segment`.)
//!
//! `cargo bench -p digits-core --bench raster`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use digits_core::preprocess::{Stroke, strokes_to_mnist};

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
    }
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
