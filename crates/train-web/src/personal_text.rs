//! What "Teach it your handwriting" says, free of any browser type so it is unit-tested
//! natively: the row of digit buttons under the pad, the sample counts, practice prompts and
//! the fine-tuning result.

use digits_core::CLASSES;
use digits_core::text::grouped;

/// Practice asks for this many rounds of the ten digits.
pub const PRACTICE_ROUNDS: usize = 5;
/// Fewest samples a fine-tuning run takes (one held out of each digit needs more).
pub const MIN_SAMPLES: usize = 10;

/// The row under the pad: what the digit in focus really was, one button per digit.
pub fn correct_row() -> String {
    let mut html = String::from(
        r#"<div id="correct" class="correct" role="group" aria-labelledby="correct-text" hidden=""><span id="correct-text">Not what you wrote? Tap the right digit to teach it:</span><div class="correct-digits">"#,
    );
    for d in 0..CLASSES {
        html.push_str(&format!(
            r#"<button type="button" data-label="{d}" aria-label="It was a {d}">{d}</button>"#
        ));
    }
    html.push_str("</div></div>");
    html
}

/// "12 samples" with how many of each digit.
pub fn counts(counts: &[usize; CLASSES]) -> String {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return "No samples yet: correct a guess above, or practise.".into();
    }
    let each: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(d, n)| format!("{d}: {n}"))
        .collect();
    format!(
        "{} sample{} on this device ({})",
        grouped(total as u64),
        if total == 1 { "" } else { "s" },
        each.join(" · ")
    )
}

/// The review shows at most this many samples, the newest.
pub const REVIEW_MAX: usize = 200;

/// One sample in the review: its caption, and the delete button's label. `read`: what the
/// model read when it was kept.
pub fn review_caption(label: u8, read: Option<u8>) -> (String, String) {
    let caption = match read {
        Some(r) if r != label => format!("{label} (read {r})"),
        _ => label.to_string(),
    };
    (caption, format!("Delete this sample of {label}"))
}

/// The line above the review's samples.
pub fn review_heading(total: usize) -> String {
    match total {
        0 => "No samples to review.".into(),
        n if n > REVIEW_MAX => format!(
            "The newest {REVIEW_MAX} of your {} samples, newest first. × deletes one.",
            grouped(n as u64)
        ),
        1 => "Your sample. × deletes it.".into(),
        n => format!("Your {n} samples, newest first. × deletes one."),
    }
}

/// The digit practice asks for at its `step` (0-based), and the prompt; `None` when done.
pub fn practice(step: usize) -> Option<(u8, String)> {
    let total = PRACTICE_ROUNDS * CLASSES;
    (step < total).then(|| {
        let d = (step % CLASSES) as u8;
        (
            d,
            format!(
                "Practice {} of {total}: write a {d} as you usually do, then tap {d}.",
                step + 1
            ),
        )
    })
}

/// After a sample is kept.
pub fn kept(label: u8, read: Option<u8>, total: usize) -> String {
    let how = match read {
        Some(r) if r == label => "Right, and kept".to_string(),
        Some(r) => format!("Kept as a {label} (it read {r})"),
        None => format!("Kept as a {label}"),
    };
    format!(
        "{how}: {} sample{} on this device.",
        grouped(total as u64),
        if total == 1 { "" } else { "s" }
    )
}

/// A share as "93.3%", or "–" when there was nothing to measure.
fn percent(v: Option<f64>, places: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.places$}%", 100.0 * v))
}

/// The figures of a fine-tuning run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Held-out personal samples: how many, and the accuracy before and after (`None`
    /// without any).
    pub held_out: usize,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub mnist_before: f64,
    pub mnist_after: f64,
    pub trained_on: usize,
    pub seconds: f64,
}

impl Outcome {
    pub fn text(&self) -> String {
        let held = if self.held_out == 0 {
            "none of your samples is held out yet (every 4th of a digit is), so its gain on your handwriting is not measured".to_string()
        } else {
            format!(
                "your {} held-out sample{}: {} → {}",
                self.held_out,
                if self.held_out == 1 { "" } else { "s" },
                percent(self.before, 0),
                percent(self.after, 0)
            )
        };
        format!(
            "Fine-tuned on {} of your samples in {:.1} s. Read right: {held}; MNIST's 10,000 test digits: {} → {}.",
            self.trained_on,
            self.seconds,
            percent(Some(self.mnist_before), 2),
            percent(Some(self.mnist_after), 2)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_has_one_button_per_digit() {
        let html = correct_row();
        let doc = roxmltree::Document::parse(&html).unwrap();
        let labels: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("data-label"))
            .collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert_eq!(doc.root_element().attribute("id"), Some("correct"));
    }

    #[test]
    fn counts_and_messages_read_well() {
        assert!(counts(&[0; CLASSES]).starts_with("No samples yet"));
        let mut c = [0; CLASSES];
        c[7] = 1;
        assert_eq!(
            counts(&c),
            "1 sample on this device (0: 0 · 1: 0 · 2: 0 · 3: 0 · 4: 0 · 5: 0 · 6: 0 · 7: 1 · 8: 0 · 9: 0)"
        );
        assert_eq!(
            kept(7, Some(1), 12),
            "Kept as a 7 (it read 1): 12 samples on this device."
        );
        assert_eq!(
            kept(7, Some(7), 1),
            "Right, and kept: 1 sample on this device."
        );
    }

    #[test]
    fn the_review_says_what_it_shows() {
        assert_eq!(review_caption(7, Some(7)).0, "7");
        assert_eq!(review_caption(7, None).0, "7");
        assert_eq!(review_caption(7, Some(1)).0, "7 (read 1)");
        assert_eq!(review_caption(4, Some(9)).1, "Delete this sample of 4");
        assert_eq!(review_heading(0), "No samples to review.");
        assert_eq!(review_heading(1), "Your sample. × deletes it.");
        assert_eq!(
            review_heading(12),
            "Your 12 samples, newest first. × deletes one."
        );
        assert_eq!(
            review_heading(1234),
            "The newest 200 of your 1,234 samples, newest first. × deletes one."
        );
    }

    #[test]
    fn practice_asks_for_each_digit_five_times() {
        let asked: Vec<u8> = (0..60).filter_map(practice).map(|(d, _)| d).collect();
        assert_eq!(asked.len(), 50);
        assert_eq!(&asked[..11], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
        assert_eq!(
            practice(12).unwrap().1,
            "Practice 13 of 50: write a 2 as you usually do, then tap 2."
        );
    }

    #[test]
    fn the_outcome_says_before_and_after() {
        let o = Outcome {
            held_out: 10,
            before: Some(0.3),
            after: Some(1.0),
            mnist_before: 0.9957,
            mnist_after: 0.9934,
            trained_on: 50,
            seconds: 7.94,
        };
        assert_eq!(
            o.text(),
            "Fine-tuned on 50 of your samples in 7.9 s. Read right: your 10 held-out samples: 30% → 100%; MNIST's 10,000 test digits: 99.57% → 99.34%."
        );
        let none = Outcome {
            held_out: 0,
            before: None,
            after: None,
            ..o
        };
        assert!(none.text().contains("not measured"));
    }
}
