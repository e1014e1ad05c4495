//! The words and tables of "How good is this model?", and which test digits a matrix cell
//! selects. Pure: unit-tested natively; `report.rs` writes them into the page.

use digits_core::metrics::Confusion;
use digits_core::report::StyleFigures;

use digits_core::text::grouped;

/// At most this many digits in the sample grid after a click on a matrix cell.
pub const GRID_MAX: usize = 100;

/// The grid's caption for the report's own samples.
pub const DEFAULT_CAPTION: &str =
    "Sample test digits: mistakes first (true → predicted), then correct ones";

/// Where the figures come from while only the trainer's report is known.
pub fn stored_source(c: &Confusion) -> String {
    format!(
        "({} of {}, from the trainer's report; this browser's own check follows)",
        grouped(c.correct()),
        grouped(c.total())
    )
}

/// Where the figures come from once this browser has checked the model.
pub fn browser_source(c: &Confusion) -> String {
    format!(
        "({} of {} correct, computed in this browser)",
        grouped(c.correct()),
        grouped(c.total())
    )
}

/// Where the drawn-digit figure comes from: the trainer's benchmark, not this browser.
pub fn drawn_source(f: &StyleFigures) -> String {
    format!(
        "({} of {}: the same test digits traced into pen strokes and drawn through this pad's code, from the trainer's report, seed {})",
        grouped(f.correct),
        grouped(f.total),
        f.seed
    )
}

/// The accuracy as the page writes it.
pub fn accuracy(c: &Confusion) -> String {
    format!("{:.2}%", 100.0 * c.accuracy())
}

pub fn progress(done: usize, total: usize) -> String {
    format!(
        "Checked {} of {} test digits…",
        grouped(done as u64),
        grouped(total as u64)
    )
}

/// The line after the check: how many digits, how long (from the start of the download), and
/// where it ran (`how`, for example "2 workers").
pub fn finished(total: usize, seconds: f64, how: &str) -> String {
    format!(
        "Checked all {} test digits in this browser in {seconds:.1} s, download included ({how}).",
        grouped(total as u64)
    )
}

/// "1 worker", "2 workers".
pub fn workers(n: usize) -> String {
    format!("{n} worker{}", if n == 1 { "" } else { "s" })
}

/// Precision, recall and support of each digit, as an HTML table.
pub fn per_class_table(c: &Confusion) -> String {
    let mut s = String::from(
        "<table><caption>Per digit</caption><thead><tr><th scope=\"col\">digit</th><th scope=\"col\">precision</th><th scope=\"col\">recall</th><th scope=\"col\">test digits</th></tr></thead><tbody>",
    );
    for m in c.per_class() {
        s.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{:.2}%</td><td>{:.2}%</td><td>{}</td></tr>",
            m.digit,
            100.0 * m.precision,
            100.0 * m.recall,
            grouped(m.support)
        ));
    }
    s.push_str("</tbody></table>");
    s
}

/// The test digits of one matrix cell: true digit `truth`, read as `predicted`.
pub fn cell_indices(labels: &[u8], predictions: &[u8], truth: u8, predicted: u8) -> Vec<usize> {
    labels
        .iter()
        .zip(predictions)
        .enumerate()
        .filter(|&(_, (&t, &p))| t == truth && p == predicted)
        .map(|(i, _)| i)
        .collect()
}

/// The grid's caption for a cell holding `count` digits (of which the grid shows at most
/// [`GRID_MAX`]).
pub fn cell_caption(truth: u8, predicted: u8, count: usize) -> String {
    let what = if truth == predicted {
        format!("{truth}s read correctly")
    } else {
        format!("{truth}s read as {predicted}")
    };
    let n = grouped(count as u64);
    if count > GRID_MAX {
        format!("{what}: {n} test digits (the first {GRID_MAX} shown)")
    } else {
        format!(
            "{what}: {n} test digit{}",
            if count == 1 { "" } else { "s" }
        )
    }
}

/// One network's row in the comparison table.
pub struct Versus<'a> {
    /// `data-model` of the row (`cnn`, `mlp`).
    pub id: &'a str,
    pub name: &'a str,
    pub parameters: Option<usize>,
    pub bytes: Option<usize>,
    /// Test accuracy from the trainer's report.
    pub stored: Option<f64>,
    /// Test accuracy as this browser checked it.
    pub checked: Option<f64>,
}

/// The table that sets the CNN beside the plain network: test accuracy (this browser's own
/// check where it has run, else the trainer's, marked), mistakes, parameters and file size.
/// Each row has `data-model` and `data-accuracy` (empty until this browser has checked it).
pub fn versus_table(rows: &[Versus<'_>]) -> String {
    let mut html = String::from(
        "<table><thead><tr><th>Network</th><th>Test accuracy</th><th>Mistakes</th><th>Parameters</th><th>File</th></tr></thead><tbody>",
    );
    for r in rows {
        let (accuracy, mark) = match (r.checked, r.stored) {
            (Some(a), _) => (Some(a), ""),
            (None, Some(a)) => (Some(a), " (report)"),
            (None, None) => (None, ""),
        };
        let pct = accuracy.map_or("…".into(), |a| format!("{:.2}%{mark}", 100.0 * a));
        let mistakes = accuracy.map_or("…".into(), |a| {
            grouped(((1.0 - a) * 10_000.0).round().max(0.0) as u64)
        });
        let params = r.parameters.map_or("…".into(), |p| grouped(p as u64));
        let size = r
            .bytes
            .map_or("…".into(), |b| format!("{:.0} KB", b as f64 / 1000.0));
        html.push_str(&format!(
            r#"<tr data-model="{id}" data-accuracy="{data}"><th scope="row">{name}</th><td>{pct}</td><td>{mistakes}</td><td>{params}</td><td>{size}</td></tr>"#,
            id = r.id,
            data = r.checked.map_or(String::new(), |a| a.to_string()),
            name = r.name,
        ));
    }
    html.push_str("</tbody></table>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confusion() -> Confusion {
        let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
        let mut pred = labels.clone();
        pred[3] = 5;
        pred[13] = 5;
        Confusion::from_predictions(&labels, &pred)
    }

    #[test]
    fn the_drawn_figure_says_where_it_comes_from() {
        let c = confusion();
        let f = StyleFigures::from_confusion(&c, 1);
        let s = drawn_source(&f);
        assert!(
            s.starts_with("(9,998 of 10,000: the same test digits traced"),
            "{s}"
        );
        assert!(
            s.contains("trainer's report") && s.ends_with("seed 1)"),
            "{s}"
        );
    }

    #[test]
    fn sources_and_accuracy_are_written_for_people() {
        let c = confusion();
        assert_eq!(accuracy(&c), "99.98%");
        assert_eq!(
            stored_source(&c),
            "(9,998 of 10,000, from the trainer's report; this browser's own check follows)"
        );
        assert_eq!(
            browser_source(&c),
            "(9,998 of 10,000 correct, computed in this browser)"
        );
        assert_eq!(
            progress(2500, 10_000),
            "Checked 2,500 of 10,000 test digits…"
        );
        assert_eq!(
            finished(10_000, 3.64, &workers(2)),
            "Checked all 10,000 test digits in this browser in 3.6 s, download included (2 workers)."
        );
        assert_eq!(workers(1), "1 worker");
    }

    #[test]
    fn the_table_has_a_row_per_digit() {
        let t = per_class_table(&confusion());
        assert_eq!(t.matches("<tr><th scope=\"row\">").count(), 10);
        // Digit 3: 998 of 1,000 found; digit 5: 1,000 of 1,002 predicted fives are fives.
        assert!(
            t.contains("<th scope=\"row\">3</th><td>100.00%</td><td>99.80%</td><td>1,000</td>"),
            "{t}"
        );
        assert!(
            t.contains("<th scope=\"row\">5</th><td>99.80%</td><td>100.00%</td>"),
            "{t}"
        );
    }

    #[test]
    fn a_cell_selects_exactly_its_digits() {
        let labels = [3, 3, 5, 3, 3];
        let pred = [3, 5, 5, 5, 3];
        assert_eq!(cell_indices(&labels, &pred, 3, 5), vec![1, 3]);
        assert_eq!(cell_indices(&labels, &pred, 3, 3), vec![0, 4]);
        assert_eq!(cell_indices(&labels, &pred, 9, 9), Vec::<usize>::new());
        // A shorter prediction list (a check still running) selects only what it covers.
        assert_eq!(cell_indices(&labels, &pred[..2], 3, 5), vec![1]);
    }

    #[test]
    fn cell_captions_count_and_cap() {
        assert_eq!(cell_caption(3, 5, 1), "3s read as 5: 1 test digit");
        assert_eq!(cell_caption(3, 5, 2), "3s read as 5: 2 test digits");
        assert_eq!(
            cell_caption(1, 1, 1132),
            "1s read correctly: 1,132 test digits (the first 100 shown)"
        );
    }

    #[test]
    fn the_versus_table_marks_stored_figures_until_the_browser_has_checked() {
        let rows = [
            Versus {
                id: "cnn",
                name: "CNN",
                parameters: Some(33_482),
                bytes: Some(68_739),
                stored: Some(0.9957),
                checked: Some(0.9957),
            },
            Versus {
                id: "mlp",
                name: "Plain network",
                parameters: Some(203_530),
                bytes: Some(408_460),
                stored: Some(0.9865),
                checked: None,
            },
        ];
        let html = versus_table(&rows);
        assert!(
            html.contains(r#"<tr data-model="cnn" data-accuracy="0.9957">"#),
            "{html}"
        );
        assert!(html.contains(r#"<tr data-model="mlp" data-accuracy="">"#));
        assert!(html.contains("<td>99.57%</td><td>43</td><td>33,482</td><td>69 KB</td>"));
        assert!(
            html.contains("<td>98.65% (report)</td><td>135</td><td>203,530</td><td>408 KB</td>")
        );
        let unknown = Versus {
            stored: None,
            parameters: None,
            bytes: None,
            ..rows[1]
        };
        assert!(versus_table(&[unknown]).contains("<td>…</td><td>…</td><td>…</td><td>…</td>"));
    }
}
