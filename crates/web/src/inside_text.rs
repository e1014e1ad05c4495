//! What "Inside the network" says and the markup it fills in: a caption per layer, the layer
//! and robustness figures, the two networks' answers. Pure (no browser types), so it is tested
//! natively; `inside` only puts it in the page and paints the canvases.

use digits_core::CLASSES;
use digits_core::inside::{Tiles, Variant};
use digits_core::metrics::argmax;
use digits_core::model::LayerView;

/// What a layer is, for a beginner.
pub fn caption(view: &LayerView) -> String {
    let (c, h, w) = (view.channels, view.height, view.width);
    let maps = |what: &str| format!("{c} feature maps of {h}×{w}, {what}");
    match (view.op.as_str(), h * w > 1) {
        ("Input", _) => format!("Input: your drawing as {h}×{w} pixels"),
        ("Relu", true) => {
            maps("each a 3×3 convolution of the layer before, then ReLU (negatives set to 0)")
        }
        ("Relu", false) => {
            format!("{c} hidden units, each a weighted sum of every input pixel, then ReLU")
        }
        ("MaxPool", _) => maps("after max pooling: each 2×2 square keeps its strongest response"),
        ("GlobalAveragePool", _) => {
            format!("{c} values: each feature map of the layer before averaged to one number")
        }
        ("Softmax", _) => format!("{c} probabilities: the scores after softmax (they add up to 1)"),
        ("Sigmoid", false) if c == 1 => {
            "How sure the network is that this is one digit (0 to 1), from its \"not one \
             digit\" output: a weighted sum of its feature maps, fitted to tell pieces of \
             numbers from single digits. The scores below are multiplied by it, so a piece of a \
             number reads as no digit in particular"
                .to_string()
        }
        ("Mul", false) if c == CLASSES => format!(
            "{c} scores (logits), one per digit: weighted sums of the layer before, times how sure \
             the network is that this is one digit"
        ),
        (_, false) if c == CLASSES => {
            format!("{c} scores (logits), one per digit: weighted sums of the layer before")
        }
        (op, true) => maps(&format!("after {op}")),
        (op, false) => format!("{c} values after {op}"),
    }
}

/// The figures of `#layers`, one per layer, each with its canvas (sized to the layer's tiles)
/// and caption; `data-layer` is the ONNX tensor and `data-channels` its channel count. A layer
/// of ten values gets the digits 0-9 under its cells.
pub fn layers_html(views: &[LayerView], tiles: &[Tiles]) -> String {
    let mut html = String::new();
    for (view, t) in views.iter().zip(tiles) {
        let kind = if view.height * view.width > 1 {
            "maps"
        } else {
            "vector"
        };
        let digits = if view.channels == CLASSES && kind == "vector" {
            let cells: String = (0..CLASSES).map(|d| format!("<span>{d}</span>")).collect();
            format!(r#"<div class="digit-row" aria-hidden="true">{cells}</div>"#)
        } else {
            String::new()
        };
        html.push_str(&format!(
            r#"<figure class="layer {kind}" data-layer="{name}" data-channels="{c}" data-op="{op}"><canvas width="{w}" height="{h}" role="img" aria-label="{caption}"></canvas>{digits}<figcaption><code>{name}</code> {caption}</figcaption></figure>"#,
            name = escape(&view.name),
            c = view.channels,
            op = escape(&view.op),
            w = t.width,
            h = t.height,
            caption = escape(&caption(view)),
        ));
    }
    html
}

/// The robustness strip's markup: one figure per variant, each with a 28x28 canvas, what was
/// changed, and both networks' answers (`data-cnn`, `data-mlp`: digits; empty if a network has
/// not answered). An answer that differs from the same network's answer on the drawing itself
/// is marked as changed.
pub fn robustness_html(
    rows: &[(Variant, Option<usize>, Option<usize>)],
    cnn: Option<usize>,
    mlp: Option<usize>,
) -> String {
    let answer = |a: Option<usize>| a.map_or(String::new(), |d| d.to_string());
    let mark = |a: Option<usize>, base: Option<usize>| {
        let changed = a.is_some() && base.is_some() && a != base;
        let shown = a.map_or("…".to_string(), |d| d.to_string());
        if changed {
            format!(
                r#"<b class="changed" title="changed from {}">{shown}</b>"#,
                answer(base)
            )
        } else {
            format!("<b>{shown}</b>")
        }
    };
    rows.iter()
        .map(|&(v, c, m)| {
            format!(
                r#"<figure class="variant" data-variant="{id}" data-cnn="{dc}" data-mlp="{dm}"><canvas width="28" height="28" role="img" aria-label="Your drawing {label}"></canvas><figcaption>{label}<br>CNN {mc} · plain {mm}</figcaption></figure>"#,
                id = v.id(),
                dc = answer(c),
                dm = answer(m),
                label = escape(&v.label()),
                mc = mark(c, cnn),
                mm = mark(m, mlp),
            )
        })
        .collect()
}

/// One network's line in `#compare`: its answer and how sure it is, or why there is none.
pub fn answer_line(probabilities: Option<&[f32; CLASSES]>, waiting: &str) -> (String, String) {
    match probabilities.and_then(|p| Some((argmax(p)?, p))) {
        Some((d, p)) => (
            d.to_string(),
            format!("<strong>{d}</strong> {:.1}% sure", 100.0 * p[d]),
        ),
        None => (String::new(), escape(waiting)),
    }
}

/// The caption of the occlusion map.
pub fn saliency_caption(digit: usize, runs: usize, ms: f64) -> String {
    format!(
        "Why {digit}? Red: ink the answer rests on (hiding it lowers the model's belief in {digit} most); blue: ink that speaks against it. {runs} readings with a 4×4 patch hidden in turn, {ms:.0} ms."
    )
}

/// Escapes text for HTML content and attribute values.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use digits_core::inside::tiles;
    use digits_core::model::Model;

    const MODEL: &[u8] = include_bytes!("../../../web/assets/model.onnx");
    const MLP: &[u8] = include_bytes!("../../../web/assets/mlp.onnx");

    fn views(bytes: &[u8]) -> Vec<LayerView> {
        let model = Model::from_bytes_with_layers(bytes, "model").unwrap();
        let mut image = vec![0.0; digits_core::PIXELS];
        (6..22).for_each(|y| image[y * 28 + 14] = 1.0);
        model.layers(&image).unwrap()
    }

    #[test]
    fn every_layer_of_both_shipped_networks_gets_a_figure_and_a_caption() {
        for (bytes, ops) in [(MODEL, 11), (MLP, 4)] {
            let views = views(bytes);
            assert_eq!(views.len(), ops);
            let t: Vec<Tiles> = views.iter().map(tiles).collect();
            let html = layers_html(&views, &t);
            assert_eq!(html.matches("<figure ").count(), views.len());
            assert_eq!(html.matches("<canvas ").count(), views.len());
            for (v, t) in views.iter().zip(&t) {
                let head = format!(r#"data-layer="{}" data-channels="{}""#, v.name, v.channels);
                assert!(html.contains(&head), "{head}");
                assert!(html.contains(&format!(r#"width="{}" height="{}""#, t.width, t.height)));
                let c = caption(v);
                // Every op of our networks has its own caption, not the fallback's.
                assert!(!c.contains(&format!("after {}", v.op)), "{c}");
            }
            // Two ten-value layers (scores, probabilities) get the digits under their cells.
            assert_eq!(html.matches(r#"class="digit-row""#).count(), 2);
        }
        let mlp = views(MLP);
        assert_eq!(
            caption(&mlp[1]),
            "256 hidden units, each a weighted sum of every input pixel, then ReLU"
        );
        let cnn = views(MODEL);
        assert!(caption(&cnn[2]).starts_with("16 feature maps of 14×14, after max pooling"));
        assert!(caption(&cnn[8]).starts_with("How sure the network is that this is one digit"));
        assert!(caption(&cnn[9]).starts_with("10 scores (logits)"));
    }

    #[test]
    fn the_robustness_strip_marks_answers_that_changed() {
        let rows = [
            (Variant::ShiftLeft, Some(7), Some(1)),
            (Variant::Thicker, Some(7), None),
        ];
        let html = robustness_html(&rows, Some(7), Some(7));
        assert!(html.contains(r#"data-variant="shift-left" data-cnn="7" data-mlp="1""#));
        assert!(html.contains(r#"data-variant="thicker" data-cnn="7" data-mlp="""#));
        assert_eq!(html.matches(r#"class="changed""#).count(), 1);
        assert!(html.contains("4 px left"));
        assert_eq!(html.matches("<canvas ").count(), 2);
    }

    #[test]
    fn answer_lines_say_the_digit_or_why_not() {
        let mut p = [0.0f32; CLASSES];
        p[3] = 0.984;
        p[5] = 0.016;
        assert_eq!(
            answer_line(Some(&p), "x"),
            ("3".into(), "<strong>3</strong> 98.4% sure".into())
        );
        assert_eq!(
            answer_line(None, "loading <soon>"),
            (String::new(), "loading &lt;soon&gt;".into())
        );
        assert!(saliency_caption(3, 61, 28.4).contains("61 readings"));
    }
}
