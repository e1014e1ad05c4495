//! A contact sheet of the tracer's work, to look at: MNIST test digits (grey), their traced
//! strokes (one colour each, a dot where each starts) and, beside each, the model's input when
//! the digit is drawn on the pad (blue) and drawn as a picture (green), as the benchmark draws
//! them (`digits eval --style drawn|picture`, seed 1). `cargo run --release -p digits-train --example trace_sheet -- OUT.png [FIRST [COUNT] | I,J,K...]`

use digits_core::SIDE;
use digits_core::idx::{self, Split};
use digits_core::preprocess::Ink;
use digits_core::trace::trace;
use digits_train::pen::Style;

const ZOOM: usize = 6;
const CELL: usize = SIDE * ZOOM;
const COLOURS: [[u8; 3]; 5] = [
    [220, 40, 40],
    [30, 120, 220],
    [20, 160, 60],
    [200, 120, 0],
    [150, 50, 200],
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().map_or("trace-sheet.png", |s| s.as_str());
    let test = idx::load_split(std::path::Path::new("data/mnist"), Split::Test)?;
    // Either FIRST [COUNT], or a comma-separated list of test indices.
    let which: Vec<usize> = match args.get(1) {
        Some(list) if list.contains(',') => list
            .split(',')
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?,
        first => {
            let first: usize = first.map_or(Ok(0), |s| s.parse())?;
            let count: usize = args.get(2).map_or(Ok(60), |s| s.parse())?;
            (first..(first + count).min(test.len())).collect()
        }
    };
    let count = which.len();
    let columns = 5;
    let rows = count.div_ceil(columns);
    let (w, h) = (columns * 3 * CELL, rows * CELL);
    let mut rgb = vec![255u8; w * h * 3];
    for (k, &i) in which.iter().enumerate() {
        let img = test.input(i);
        let strokes = trace(&img);
        let drawn = Style::Drawn.benchmark_input(1, i, &strokes);
        let picture = Style::Picture.benchmark_input(1, i, &strokes);
        let (ox, oy) = ((k % columns) * 3 * CELL, (k / columns) * CELL);
        for (dx, src) in [(0, &img), (CELL, &drawn), (2 * CELL, &picture)] {
            for y in 0..CELL {
                for x in 0..CELL {
                    let v = src[(y / ZOOM) * SIDE + x / ZOOM];
                    let g = (255.0 - 120.0 * v) as u8;
                    let o = ((oy + y) * w + ox + dx + x) * 3;
                    let tint = match dx / CELL {
                        0 => [g, g, g],
                        1 => [g, g, 255],
                        _ => [g, 255, g],
                    };
                    rgb[o..o + 3].copy_from_slice(&tint);
                }
            }
        }
        for (n, s) in strokes.iter().enumerate() {
            let mut ink = Ink::new(CELL, CELL);
            let z = |p: (f32, f32)| ((p.0 + 0.5) * ZOOM as f32, (p.1 + 0.5) * ZOOM as f32);
            ink.paint_segment(z(s[0]), z(s[0]), 4.0);
            for pair in s.windows(2) {
                ink.paint_segment(z(pair[0]), z(pair[1]), 1.2);
            }
            let c = COLOURS[n % COLOURS.len()];
            for y in 0..CELL {
                for x in 0..CELL {
                    let a = ink.data[y * CELL + x];
                    let o = ((oy + y) * w + ox + x) * 3;
                    for ch in 0..3 {
                        rgb[o + ch] = (rgb[o + ch] as f32 * (1.0 - a) + c[ch] as f32 * a) as u8;
                    }
                }
            }
        }
    }
    image::save_buffer(out, &rgb, w as u32, h as u32, image::ColorType::Rgb8)?;
    eprintln!("wrote {out}: {count} test digits");
    Ok(())
}
