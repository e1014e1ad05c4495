//! The live charts of a training run, as SVG text: the loss at every step, and the training and
//! validation accuracy after every epoch. Pure functions, tested natively.

use std::fmt::Write;

const W: f64 = 320.0;
const H: f64 = 150.0;
const LEFT: f64 = 44.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// One line of a chart.
struct Line<'a> {
    /// Its `data-series`.
    id: &'a str,
    colour: &'a str,
    dashed: bool,
    /// (x, y) points, x from 0 to the axis' end.
    points: Vec<(f64, f64)>,
}

/// A chart with a y axis from `lo` to `hi` (`ticks` steps, labelled by `label`) and an x axis
/// from 0 to `x_end`, titled `x_title`.
#[allow(clippy::too_many_arguments)]
fn chart(
    id: &str,
    title: &str,
    x_title: &str,
    x_end: f64,
    (lo, hi, ticks): (f64, f64, usize),
    label: impl Fn(f64) -> String,
    lines: &[Line<'_>],
) -> String {
    let width = LEFT + W + 10.0;
    let height = TOP + H + BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" font-family="system-ui, sans-serif"><title>{title}</title><rect x="{LEFT}" y="{TOP}" width="{W}" height="{H}" fill="none" stroke="#c4c9d0"/>"##
    );
    for k in 0..=ticks {
        let v = lo + (hi - lo) * k as f64 / ticks as f64;
        let y = TOP + H * (1.0 - k as f64 / ticks as f64);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#4a5260">{text}</text>"##,
            x2 = LEFT + W,
            tx = LEFT - 5.0,
            ty = y + 4.0,
            text = label(v)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{x}" y="{y}" font-size="12" text-anchor="middle" fill="#4a5260">{x_title}</text>"##,
        x = LEFT + W / 2.0,
        y = TOP + H + 22.0
    );
    let x_end = x_end.max(1.0);
    for line in lines {
        let pts: Vec<String> = line
            .points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(x, v)| {
                let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                format!(
                    "{:.1},{:.1}",
                    LEFT + W * (x / x_end).clamp(0.0, 1.0),
                    TOP + H * (1.0 - t)
                )
            })
            .collect();
        let dash = if line.dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r##"<polyline data-series="{}" data-points="{}" points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"##,
            line.id,
            pts.len(),
            pts.join(" "),
            line.colour
        );
        // A lone point would draw nothing as a line: a dot shows it.
        if let [only] = pts.as_slice() {
            let (x, y) = only.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                s,
                r##"<circle cx="{x}" cy="{y}" r="3" fill="{}"/>"##,
                line.colour
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The loss of each step so far (mean per image) out of `total_steps`, on a scale from 0 to
/// the largest loss seen (at least 0.5).
pub fn loss_chart(losses: &[f32], total_steps: usize) -> String {
    let max = losses
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.5f32, f32::max) as f64;
    // At most about 400 points: a long run is thinned, its shape kept.
    let every = losses.len().div_ceil(400).max(1);
    let points = losses
        .iter()
        .enumerate()
        .step_by(every)
        .map(|(i, &v)| ((i + 1) as f64, v as f64))
        .collect();
    chart(
        "train-loss-chart",
        "Training loss at every step",
        &format!("step (of {total_steps})"),
        total_steps as f64,
        (0.0, max, 4),
        |v| format!("{v:.2}"),
        &[Line {
            id: "loss",
            colour: "#0b6bcb",
            dashed: false,
            points,
        }],
    )
}

/// Accuracy after each epoch so far (`train[i]` on the training batches, augmented;
/// `validation[i]` on the held-out images), out of `epochs`.
pub fn accuracy_chart(train: &[f64], validation: &[f64], epochs: usize) -> String {
    let low = train
        .iter()
        .chain(validation)
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.9f64, f64::min)
        .clamp(0.0, 0.9);
    let low = (low * 10.0).floor() / 10.0;
    let ticks = ((1.0 - low) * 10.0).round().max(1.0) as usize;
    let ticks = if ticks > 5 { ticks.div_ceil(2) } else { ticks };
    let low = if ticks * 10 < ((1.0 - low) * 100.0).round() as usize {
        1.0 - 0.2 * ticks as f64
    } else {
        low
    };
    let series = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &a)| ((i + 1) as f64, a))
            .collect()
    };
    chart(
        "train-accuracy-chart",
        "Accuracy after every epoch",
        &format!("epoch (of {epochs})"),
        epochs as f64,
        (low, 1.0, ticks),
        |v| format!("{:.0}%", 100.0 * v),
        &[
            Line {
                id: "train",
                colour: "#d9822b",
                dashed: true,
                points: series(train),
            },
            Line {
                id: "validation",
                colour: "#0b6bcb",
                dashed: false,
                points: series(validation),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).expect("well-formed SVG")
    }

    fn series<'a>(d: &'a roxmltree::Document<'a>, id: &str) -> roxmltree::Node<'a, 'a> {
        d.descendants()
            .find(|n| n.attribute("data-series") == Some(id))
            .unwrap()
    }

    #[test]
    fn the_loss_chart_has_a_point_per_step_and_stays_in_its_frame() {
        let losses: Vec<f32> = (0..50).map(|i| 2.3 / (1.0 + i as f32)).collect();
        let svg = loss_chart(&losses, 157);
        let d = doc(&svg);
        let line = series(&d, "loss");
        assert_eq!(line.attribute("data-points"), Some("50"));
        for p in line.attribute("points").unwrap().split(' ') {
            let (x, y) = p.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((LEFT..=LEFT + W).contains(&x) && (TOP..=TOP + H).contains(&y));
        }
        // The first step is at the top (the largest loss), the x axis runs to the last step.
        assert!(svg.contains("step (of 157)"));
        assert!(svg.contains(">2.30<"));
    }

    #[test]
    fn a_long_run_is_thinned_and_bad_values_are_skipped() {
        let mut losses = vec![1.0f32; 5000];
        losses[7] = f32::NAN;
        let d = loss_chart(&losses, 5000);
        let n: usize = series(&doc(&d), "loss")
            .attribute("data-points")
            .unwrap()
            .parse()
            .unwrap();
        assert!((300..=400).contains(&n), "{n}");
        assert!(!d.contains("NaN"));
    }

    #[test]
    fn accuracy_has_both_series_and_a_dot_for_a_single_epoch() {
        let svg = accuracy_chart(&[0.93], &[0.955], 1);
        let d = doc(&svg);
        assert_eq!(series(&d, "train").attribute("data-points"), Some("1"));
        assert_eq!(series(&d, "validation").attribute("data-points"), Some("1"));
        assert_eq!(
            d.descendants().filter(|n| n.has_tag_name("circle")).count(),
            2
        );
        assert!(svg.contains(">90%<") && svg.contains(">100%<"), "{svg}");
        // A poor start widens the axis down to it.
        let svg = accuracy_chart(&[0.31, 0.8], &[0.42, 0.85], 3);
        assert!(svg.contains(">30%<") || svg.contains(">20%<"), "{svg}");
        let empty = accuracy_chart(&[], &[], 3);
        assert_eq!(
            series(&doc(&empty), "validation").attribute("data-points"),
            Some("0")
        );
    }
}
