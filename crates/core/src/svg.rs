//! SVG renderers: pure functions returning self-contained SVG text, used by the page and the
//! command line alike.

use std::fmt::Write;

use crate::{CLASSES, SIDE};

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
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
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
