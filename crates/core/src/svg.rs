//! SVG renderers: pure functions returning self-contained SVG text, used by the page and the
//! command line alike.

use std::fmt::Write;

use crate::{CLASSES, SIDE};

/// Escapes text for XML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

const BAR_W: f32 = 28.0;
const BAR_GAP: f32 = 6.0;
const BAR_H: f32 = 110.0;
const LABEL_H: f32 = 22.0;
const TOP: f32 = 18.0;

/// A bar chart of the ten class probabilities; the most likely digit is highlighted. Each bar
/// is a `<rect>` with `data-digit` and `data-p`, and a `<title>` tooltip.
pub fn probability_chart(probs: &[f32; CLASSES]) -> String {
    let best = crate::metrics::argmax(probs);
    let width = CLASSES as f32 * (BAR_W + BAR_GAP) + BAR_GAP;
    let height = TOP + BAR_H + LABEL_H;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="Probability of each digit" font-family="system-ui, sans-serif">"##
    );
    let _ = write!(s, "<title>Probability of each digit</title>");
    let _ = write!(
        s,
        r##"<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="#8a8f98" stroke-width="1"/>"##,
        y = TOP + BAR_H
    );
    for (d, &p) in probs.iter().enumerate() {
        let p = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let x = BAR_GAP + d as f32 * (BAR_W + BAR_GAP);
        let h = (p * BAR_H).max(if p > 0.0 { 1.0 } else { 0.0 });
        let y = TOP + BAR_H - h;
        let fill = if best == Some(d) {
            "#0b6bcb"
        } else {
            "#9aa3ae"
        };
        let pct = 100.0 * p;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y:.2}" width="{BAR_W}" height="{h:.2}" rx="3" fill="{fill}" data-digit="{d}" data-p="{p:.6}"><title>{d}: {pct:.1}%</title></rect>"##
        );
        if pct >= 1.0 {
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle" fill="#4a5260">{pct:.0}%</text>"##,
                cx = x + BAR_W / 2.0,
                ty = y - 4.0
            );
        }
        let _ = write!(
            s,
            r##"<text x="{cx:.1}" y="{ly:.1}" font-size="15" font-weight="{fw}" text-anchor="middle" fill="#1d232c">{d}</text>"##,
            cx = x + BAR_W / 2.0,
            ly = TOP + BAR_H + 17.0,
            fw = if best == Some(d) { 700 } else { 400 }
        );
    }
    s.push_str("</svg>");
    s
}

/// A 28x28 image (0 = background, 1 = ink) as white ink on black, one `<rect>` per inked pixel.
pub fn digit_image(pixels: &[f32], label: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIDE} {SIDE}" shape-rendering="crispEdges" role="img" aria-label="{l}"><title>{l}</title><rect width="{SIDE}" height="{SIDE}" fill="#000"/>"##,
        l = escape(label)
    );
    pixel_rects(&mut s, pixels);
    s.push_str("</svg>");
    s
}

/// One white `<rect>` per inked pixel of a 28x28 image, opacity = ink.
fn pixel_rects(s: &mut String, pixels: &[f32]) {
    for (i, &v) in pixels.iter().take(SIDE * SIDE).enumerate() {
        if v > 0.0 {
            let _ = write!(
                s,
                r##"<rect x="{}" y="{}" width="1" height="1" fill="#fff" fill-opacity="{:.3}"/>"##,
                i % SIDE,
                i / SIDE,
                v.min(1.0)
            );
        }
    }
}

/// Where a share 0..=1 sits on the confusion matrix's log colour axis, 0..=1: 0 for none, then
/// log-spaced so that 0.1% is clearly visible next to 99% (0.1% -> 0.1, 1% -> 0.35, 10% -> 0.67).
fn log_position(share: f64) -> f64 {
    if share <= 0.0 {
        0.0
    } else {
        ((1.0 + 999.0 * share.min(1.0)).log10() / 3.0).clamp(0.0, 1.0)
    }
}

/// The share at a position of the log colour axis: the inverse of [`log_position`].
fn share_at(position: f64) -> f64 {
    (10f64.powf(3.0 * position) - 1.0) / 999.0
}

/// Colour of a share 0..=1 on a sequential, colour-blind-safe scale (light yellow to dark
/// blue, after cividis), on the log axis of [`log_position`].
fn share_colour(share: f64) -> String {
    const STOPS: [(f64, [u8; 3]); 5] = [
        (0.0, [0xfd, 0xf6, 0xd8]),
        (0.25, [0xf2, 0xd7, 0x6a]),
        (0.5, [0x9c, 0xa1, 0x6e]),
        (0.75, [0x4a, 0x6c, 0x8b]),
        (1.0, [0x00, 0x22, 0x4e]),
    ];
    let t = log_position(share);
    let i = STOPS
        .iter()
        .rposition(|(p, _)| *p <= t)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (p0, c0) = STOPS[i];
    let (p1, c1) = STOPS[i + 1];
    let f = (t - p0) / (p1 - p0);
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(c0[0], c1[0]),
        mix(c0[1], c1[1]),
        mix(c0[2], c1[2])
    )
}

/// Whether text on `share_colour(share)` should be white.
fn dark(share: f64) -> bool {
    log_position(share) > 0.55
}

const CELL: f64 = 40.0;
const MARGIN_L: f64 = 64.0;
const MARGIN_T: f64 = 56.0;

/// The confusion matrix as a 10x10 heatmap: rows = true digit, columns = predicted. Colours are
/// row-normalized (the share of each true digit) on a log scale; every cell shows its count and
/// has a tooltip, and carries `data-true`, `data-pred` and `data-count`. The `<svg>` has
/// id `confusion`.
pub fn confusion_matrix(counts: &[[u32; CLASSES]; CLASSES]) -> String {
    confusion_matrix_as(counts, "confusion")
}

/// [`confusion_matrix`] with another id for its `<svg>` (a second matrix on the same page).
pub fn confusion_matrix_as(counts: &[[u32; CLASSES]; CLASSES], id: &str) -> String {
    let grid = CELL * CLASSES as f64;
    let legend_w = 18.0;
    let width = MARGIN_L + grid + 30.0 + legend_w + 48.0;
    let height = MARGIN_T + grid + 20.0;
    let mut s = String::new();
    let id = escape(id);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" viewBox="0 0 {width} {height}" role="img" aria-label="Confusion matrix: rows are the true digit, columns the predicted digit" font-family="system-ui, sans-serif">"##
    );
    s.push_str("<title>Confusion matrix (rows: true digit, columns: predicted digit)</title>");
    let _ = write!(
        s,
        r##"<text x="{x}" y="16" font-size="14" text-anchor="middle" fill="#1d232c">Predicted digit</text>"##,
        x = MARGIN_L + grid / 2.0
    );
    let _ = write!(
        s,
        r##"<text transform="translate(16 {y}) rotate(-90)" font-size="14" text-anchor="middle" fill="#1d232c">True digit</text>"##,
        y = MARGIN_T + grid / 2.0
    );
    for d in 0..CLASSES {
        let c = d as f64 * CELL + CELL / 2.0;
        let _ = write!(
            s,
            r##"<text x="{x}" y="{y}" font-size="13" text-anchor="middle" fill="#4a5260">{d}</text>"##,
            x = MARGIN_L + c,
            y = MARGIN_T - 8.0
        );
        let _ = write!(
            s,
            r##"<text x="{x}" y="{y}" font-size="13" text-anchor="end" fill="#4a5260">{d}</text>"##,
            x = MARGIN_L - 8.0,
            y = MARGIN_T + c + 4.5
        );
    }
    for (t, row) in counts.iter().enumerate() {
        let total: u32 = row.iter().sum();
        for (p, &n) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            };
            let (x, y) = (MARGIN_L + p as f64 * CELL, MARGIN_T + t as f64 * CELL);
            let what = if t == p {
                "correct".to_string()
            } else {
                format!("predicted {p}")
            };
            let _ = write!(
                s,
                r##"<g class="cell" data-true="{t}" data-pred="{p}" data-count="{n}"><rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" stroke="#ffffff" stroke-width="1"/><title>true {t}, {what}: {n} ({pct:.2}% of the {t}s)</title>"##,
                fill = share_colour(share),
                pct = 100.0 * share
            );
            if n > 0 {
                let size = if n >= 1000 { 11 } else { 12 };
                let _ = write!(
                    s,
                    r##"<text x="{tx}" y="{ty}" font-size="{size}" text-anchor="middle" fill="{tc}" pointer-events="none">{n}</text>"##,
                    tx = x + CELL / 2.0,
                    ty = y + CELL / 2.0 + 4.0,
                    tc = if dark(share) { "#ffffff" } else { "#1d232c" }
                );
            }
            s.push_str("</g>");
        }
    }
    // Legend: the colour scale with ticks at 0, 0.1%, 1%, 10%, 100% of the row.
    let lx = MARGIN_L + grid + 30.0;
    let steps = 40;
    for i in 0..steps {
        let t = i as f64 / (steps - 1) as f64;
        let share = share_at(t);
        let y = MARGIN_T + grid * (1.0 - (i + 1) as f64 / steps as f64);
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="{y:.2}" width="{legend_w}" height="{h:.2}" fill="{c}"/>"##,
            h = grid / steps as f64 + 0.5,
            c = share_colour(share)
        );
    }
    for (share, label) in [
        (0.0f64, "0"),
        (0.001, "0.1%"),
        (0.01, "1%"),
        (0.1, "10%"),
        (1.0, "100%"),
    ] {
        let y = MARGIN_T + grid * (1.0 - log_position(share));
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty:.1}" font-size="11" fill="#4a5260">{label}</text>"##,
            x = lx + legend_w + 4.0,
            ty = y + 4.0
        );
    }
    let _ = write!(
        s,
        r##"<text transform="translate({x} {y}) rotate(-90)" font-size="11" text-anchor="middle" fill="#4a5260">share of the true digit</text>"##,
        x = width - 6.0,
        y = MARGIN_T + grid / 2.0
    );
    s.push_str("</svg>");
    s
}

/// Columns of the sample grids of the page and of `digits eval --svg`.
pub const SAMPLE_COLUMNS: usize = 10;

/// One digit of a sample grid: its 28x28 pixels, true label and prediction.
pub struct Sample<'a> {
    pub index: usize,
    pub pixels: &'a [f32],
    pub truth: u8,
    pub predicted: u8,
}

/// A grid of test digits with their true and predicted labels; mistakes are framed in red and
/// labelled "true → predicted". The `<svg>` has id `samples`; each digit is a `<g>` with
/// `data-index`, `data-true` and `data-pred`.
pub fn sample_grid(samples: &[Sample<'_>], columns: usize) -> String {
    let columns = columns.max(1);
    let rows = samples.len().div_ceil(columns).max(1);
    let (cw, ch) = (64.0, 84.0);
    let (width, height) = (columns as f64 * cw, rows as f64 * ch);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="samples" viewBox="0 0 {width} {height}" role="img" aria-label="Sample test digits with their predictions" font-family="system-ui, sans-serif"><title>Sample test digits with their predictions</title>"##
    );
    for (k, smp) in samples.iter().enumerate() {
        let (x, y) = (
            (k % columns) as f64 * cw + 4.0,
            (k / columns) as f64 * ch + 4.0,
        );
        let wrong = smp.truth != smp.predicted;
        let _ = write!(
            s,
            r##"<g class="sample{cls}" data-index="{i}" data-true="{t}" data-pred="{p}" transform="translate({x} {y})"><title>test image {i}: true {t}, predicted {p}</title><rect width="56" height="56" fill="#000"/>"##,
            cls = if wrong { " wrong" } else { "" },
            i = smp.index,
            t = smp.truth,
            p = smp.predicted
        );
        let _ = write!(
            s,
            r##"<g transform="scale(2)" shape-rendering="crispEdges">"##
        );
        pixel_rects(&mut s, smp.pixels);
        s.push_str("</g>");
        if wrong {
            s.push_str(
                r##"<rect width="56" height="56" fill="none" stroke="#c0262d" stroke-width="3"/>"##,
            );
        }
        let _ = write!(
            s,
            r##"<text x="28" y="72" font-size="13" text-anchor="middle" fill="{c}" font-weight="{w}">{label}</text></g>"##,
            c = if wrong { "#c0262d" } else { "#1d232c" },
            w = if wrong { 700 } else { 400 },
            label = if wrong {
                format!("{} → {}", smp.truth, smp.predicted)
            } else {
                smp.predicted.to_string()
            }
        );
    }
    s.push_str("</svg>");
    s
}

/// One model's training history for [`history_chart`].
pub struct History<'a> {
    /// `data-model` of its lines (`cnn`, `mlp`).
    pub id: &'a str,
    /// Its name in the legend.
    pub label: &'a str,
    /// Its line colour.
    pub colour: &'a str,
    pub epochs: &'a [crate::report::Epoch],
}

const PANEL_W: f64 = 260.0;
const PANEL_H: f64 = 150.0;
const PANEL_GAP: f64 = 70.0;
const AXIS_L: f64 = 44.0;

/// The training history of one or more models, like a notebook's fit history: training loss
/// per epoch on the left, accuracy per epoch on the right (solid: on the test set, dashed: on
/// the training batches, augmented). Each line is a `<polyline>` with `data-model` and
/// `data-series` (`loss`, `train`, `test`) and one point per epoch.
pub fn history_chart(models: &[History<'_>]) -> String {
    let width = 2.0 * (AXIS_L + PANEL_W) + PANEL_GAP - 40.0;
    let height = PANEL_H + 86.0;
    let top = 34.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="history-chart" viewBox="0 0 {width} {height}" role="img" aria-label="Training history: loss and accuracy per epoch" font-family="system-ui, sans-serif"><title>Training history: loss and accuracy per epoch</title>"##
    );
    let epochs = models
        .iter()
        .map(|m| m.epochs.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let finite = |v: f64| v.is_finite().then_some(v);
    let losses: Vec<f64> = models
        .iter()
        .flat_map(|m| m.epochs.iter().filter_map(|e| finite(e.loss)))
        .collect();
    let max_loss = losses.iter().copied().fold(0.0, f64::max).max(1e-3);
    let accuracies: Vec<f64> = models
        .iter()
        .flat_map(|m| m.epochs.iter())
        .flat_map(|e| [Some(e.train_accuracy), e.test_accuracy])
        .flatten()
        .filter_map(finite)
        .collect();
    // The accuracy axis starts at the lowest figure, rounded down to 5%.
    let low = accuracies
        .iter()
        .copied()
        .fold(1.0, f64::min)
        .clamp(0.0, 0.95);
    let low = (low * 20.0).floor() / 20.0;
    for (panel, (title, lo, hi)) in [("Loss (training)", 0.0, max_loss), ("Accuracy", low, 1.0)]
        .into_iter()
        .enumerate()
    {
        let x0 = AXIS_L + panel as f64 * (PANEL_W + AXIS_L + PANEL_GAP - 40.0);
        let _ = write!(
            s,
            r##"<text x="{x}" y="18" font-size="14" fill="#1d232c">{title}</text><rect x="{x0}" y="{top}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#c4c9d0"/>"##,
            x = x0
        );
        // Round ticks: loss in quarters; accuracy in steps of 5 points, or 10 for a wide range
        // (whose low end then moves down to a multiple of 10).
        let (ticks, lo) = match panel {
            0 => (4, lo),
            _ => match ((hi - lo) * 20.0).round().max(1.0) as usize {
                fives @ ..=6 => (fives, lo),
                fives => (fives.div_ceil(2), hi - 0.1 * fives.div_ceil(2) as f64),
            },
        };
        for k in 0..=ticks {
            let v = lo + (hi - lo) * k as f64 / ticks as f64;
            let y = top + PANEL_H * (1.0 - k as f64 / ticks as f64);
            let label = if panel == 0 {
                format!("{v:.2}")
            } else {
                format!("{:.0}%", 100.0 * v)
            };
            let _ = write!(
                s,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#4a5260">{label}</text>"##,
                x1 = x0 + PANEL_W,
                tx = x0 - 5.0,
                ty = y + 4.0
            );
        }
        let _ = write!(
            s,
            r##"<text x="{x}" y="{y}" font-size="12" text-anchor="middle" fill="#4a5260">epoch (1–{epochs})</text>"##,
            x = x0 + PANEL_W / 2.0,
            y = top + PANEL_H + 18.0
        );
        let point = |i: usize, v: f64| {
            let x = x0 + PANEL_W * i as f64 / (epochs - 1) as f64;
            let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            format!("{x:.1},{:.1}", top + PANEL_H * (1.0 - t))
        };
        for m in models {
            let series: Vec<(&str, Vec<Option<f64>>)> = if panel == 0 {
                vec![("loss", m.epochs.iter().map(|e| finite(e.loss)).collect())]
            } else {
                vec![
                    (
                        "train",
                        m.epochs.iter().map(|e| finite(e.train_accuracy)).collect(),
                    ),
                    (
                        "test",
                        m.epochs
                            .iter()
                            .map(|e| e.test_accuracy.and_then(finite))
                            .collect(),
                    ),
                ]
            };
            for (name, values) in series {
                let points: Vec<String> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| point(i, v)))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let dash = if name == "train" {
                    r#" stroke-dasharray="5 4""#
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    r##"<polyline data-model="{id}" data-series="{name}" points="{p}" fill="none" stroke="{c}" stroke-width="2"{dash}><title>{label}: {name}</title></polyline>"##,
                    id = escape(m.id),
                    p = points.join(" "),
                    c = escape(m.colour),
                    label = escape(m.label)
                );
            }
        }
    }
    // The legend: one entry per model, then what the dashes mean.
    let mut x = AXIS_L;
    let y = height - 14.0;
    for m in models {
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="{c}" stroke-width="3"/><text x="{tx}" y="{y}" font-size="12" fill="#1d232c">{label}</text>"##,
            ly = y - 4.0,
            x2 = x + 18.0,
            c = escape(m.colour),
            tx = x + 24.0,
            label = escape(m.label)
        );
        x += 40.0 + 7.0 * m.label.chars().count() as f64;
    }
    let _ = write!(
        s,
        r##"<text x="{x}" y="{y}" font-size="12" fill="#4a5260">solid: test set · dashed: training batches</text>"##
    );
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_axis_and_its_inverse_agree() {
        assert_eq!(log_position(0.0), 0.0);
        assert_eq!(log_position(-1.0), 0.0);
        assert!((log_position(1.0) - 1.0).abs() < 1e-12);
        assert!((log_position(0.001) - 0.1).abs() < 0.001);
        for t in [0.0, 0.1, 0.35, 0.5, 0.9, 1.0] {
            assert!((log_position(share_at(t)) - t).abs() < 1e-9, "{t}");
        }
    }

    fn count(s: &str, pat: &str) -> usize {
        s.matches(pat).count()
    }

    #[test]
    fn chart_has_ten_bars_and_highlights_the_best() {
        let mut p = [0.01f32; 10];
        p[7] = 0.91;
        let s = probability_chart(&p);
        assert!(
            s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && s.ends_with("</svg>")
        );
        assert_eq!(count(&s, "<rect "), 10);
        assert_eq!(count(&s, "#0b6bcb"), 1);
        assert!(s.contains(r#"data-digit="7" data-p="0.910000""#));
        assert!(s.contains("<title>7: 91.0%</title>"));
        // NaN or out-of-range input never produces a broken document.
        let s = probability_chart(&[f32::NAN, 2.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }

    fn confusion() -> [[u32; CLASSES]; CLASSES] {
        let mut c = [[0u32; 10]; 10];
        for (t, row) in c.iter_mut().enumerate() {
            row[t] = 990 + t as u32;
        }
        c[4][9] = 7;
        c[7][2] = 1;
        c
    }

    #[test]
    fn confusion_matrix_is_well_formed_xml_with_every_cell() {
        let c = confusion();
        let svg = confusion_matrix(&c);
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let root = doc.root_element();
        assert_eq!(root.attribute("id"), Some("confusion"));
        let cells: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-count").is_some())
            .collect();
        assert_eq!(cells.len(), 100);
        let mut total = 0;
        for n in &cells {
            let t: usize = n.attribute("data-true").unwrap().parse().unwrap();
            let p: usize = n.attribute("data-pred").unwrap().parse().unwrap();
            let k: u32 = n.attribute("data-count").unwrap().parse().unwrap();
            assert_eq!(k, c[t][p]);
            total += k;
        }
        assert_eq!(total, c.iter().flatten().sum::<u32>());
        let text: String = doc.descendants().filter_map(|n| n.text()).collect();
        for needle in [
            "Predicted digit",
            "True digit",
            "true 4, predicted 9: 7 (0.70% of the 4s)",
            "100%",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        // A single mistake is visibly coloured, unlike an empty cell.
        assert_ne!(share_colour(1.0 / 997.0), share_colour(0.0));
        assert_eq!(share_colour(0.0), "#fdf6d8");
        assert_eq!(share_colour(1.0), "#00224e");
    }

    #[test]
    fn sample_grid_marks_mistakes() {
        let px = vec![0.5f32; 784];
        let samples = [
            Sample {
                index: 3,
                pixels: &px,
                truth: 4,
                predicted: 9,
            },
            Sample {
                index: 8,
                pixels: &px,
                truth: 1,
                predicted: 1,
            },
            Sample {
                index: 9,
                pixels: &px,
                truth: 2,
                predicted: 2,
            },
        ];
        let svg = sample_grid(&samples, 2);
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        assert_eq!(doc.root_element().attribute("id"), Some("samples"));
        let groups: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-index").is_some())
            .collect();
        assert_eq!(groups.len(), 3);
        let wrong: Vec<_> = groups
            .iter()
            .filter(|n| n.attribute("class") == Some("sample wrong"))
            .collect();
        assert_eq!(wrong.len(), 1);
        assert_eq!(wrong[0].attribute("data-index"), Some("3"));
        let text: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(text.contains("4 → 9"));
        assert_eq!(
            roxmltree::Document::parse(&sample_grid(&[], 10))
                .unwrap()
                .root_element()
                .attribute("id"),
            Some("samples")
        );
    }

    #[test]
    fn digit_image_draws_inked_pixels_only() {
        let mut px = vec![0.0f32; 784];
        px[0] = 1.0;
        px[29] = 0.5;
        let s = digit_image(&px, "a <digit>");
        assert_eq!(count(&s, r#"width="1" height="1""#), 2);
        assert!(s.contains(r#"x="1" y="1""#) && s.contains("fill-opacity=\"0.500\""));
        assert!(s.contains("a &lt;digit&gt;"));
    }

    #[test]
    fn the_history_chart_has_a_line_per_model_and_series_with_a_point_per_epoch() {
        use crate::report::Epoch;
        let epochs = |n: usize, start: f64| -> Vec<Epoch> {
            (1..=n)
                .map(|i| Epoch {
                    epoch: i,
                    loss: 1.0 / i as f64,
                    train_accuracy: start + 0.01 * i as f64,
                    val_accuracy: None,
                    test_accuracy: (i > 1).then_some(start + 0.012 * i as f64),
                    elapsed_seconds: i as f64,
                    images_per_sec: 1000.0,
                })
                .collect()
        };
        let (cnn, mlp) = (epochs(5, 0.9), epochs(3, 0.7));
        let s = history_chart(&[
            History {
                id: "cnn",
                label: "CNN",
                colour: "#0b6bcb",
                epochs: &cnn,
            },
            History {
                id: "mlp",
                label: "Plain <net>",
                colour: "#d66000",
                epochs: &mlp,
            },
        ]);
        let doc = roxmltree::Document::parse(&s).expect("well-formed XML");
        let lines: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .map(|n| {
                let points = n.attribute("points").unwrap().split(' ').count();
                (
                    n.attribute("data-model").unwrap(),
                    n.attribute("data-series").unwrap(),
                    points,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("cnn", "loss", 5),
                ("mlp", "loss", 3),
                ("cnn", "train", 5),
                ("cnn", "test", 4),
                ("mlp", "train", 3),
                ("mlp", "test", 2),
            ]
        );
        // The accuracy axis starts at the lowest figure, rounded down to 5%: 71% -> 70%.
        assert!(s.contains(">70%</text>"), "{s}");
        assert!(s.contains("Plain &lt;net&gt;"));
        // No history at all, or NaNs, still make a valid document.
        let nan = vec![Epoch {
            loss: f64::NAN,
            ..cnn[0].clone()
        }];
        for models in [
            vec![],
            vec![History {
                id: "x",
                label: "x",
                colour: "#000",
                epochs: &nan,
            }],
        ] {
            roxmltree::Document::parse(&history_chart(&models)).expect("valid");
        }
    }
}
