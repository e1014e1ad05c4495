//! What the live answer says for a drawing: the number read (one digit or several), how sure
//! the model is of the digit in focus, or why there is no answer yet; and the boxes drawn over
//! the pad around each digit found. Pure, so every case is unit-tested natively; the page only
//! writes it out.

use std::fmt::Write;

use digits_core::CLASSES;
use digits_core::metrics::argmax;
use digits_core::model::Prediction;
use digits_core::segment::Rect;

/// Where the page's model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    Loading,
    Ready,
    Failed,
}

/// What the answer card shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// `#prediction[data-digit]`: the digit when exactly one digit is on the pad and read, else
    /// empty (a contract with the tests).
    pub data_digit: String,
    /// `#prediction[data-number]`: every digit found, left to right ("2026"), once each is read;
    /// empty when the pad is empty or a digit has no answer yet (a contract with the tests).
    pub data_number: String,
    /// The large characters: one per digit found, or one sign ("?", "…") when there is none.
    pub digits: Vec<String>,
    /// The line under them.
    pub caption: String,
    /// The doubt output doubts that the digit in focus is one digit (the page says "may not be
    /// one digit" beside the number).
    pub doubt: bool,
}

/// The digit the model reads in `probs`, if it answered with numbers.
fn read(probs: &Option<[f32; CLASSES]>) -> Option<usize> {
    argmax(probs.as_ref()?)
}

impl Answer {
    /// The answer for the digits found (each with the model's probabilities, if it ran), the
    /// digit in focus, that digit's answer taken apart if the model gave one (how sure it is
    /// then comes from the ten scores alone, and the doubt that it is one digit is said
    /// apart), whether anything is drawn, and where the model is.
    pub fn new(
        digits: &[Option<[f32; CLASSES]>],
        focus: Option<usize>,
        detail: Option<Prediction>,
        drawn: bool,
        model: ModelStatus,
    ) -> Answer {
        let none = |sign: &str, caption: &str| Answer {
            data_digit: String::new(),
            data_number: String::new(),
            digits: vec![sign.into()],
            caption: caption.into(),
            doubt: false,
        };
        let read: Option<Vec<usize>> = digits.iter().map(read).collect();
        match (read, drawn && !digits.is_empty(), model) {
            (Some(read), true, _) => {
                let number: String = read.iter().map(|d| d.to_string()).collect();
                let k = focus.filter(|&k| k < read.len()).unwrap_or(read.len() - 1);
                // The detail is of the digit in focus; one that reads another digit is not.
                let detail = detail.filter(|p| argmax(&p.digit) == Some(read[k]));
                let sure = detail
                    .map(|p| p.digit)
                    .or(digits[k])
                    .map_or(0.0, |p| 100.0 * p[read[k]]);
                let caption = if read.len() == 1 {
                    format!("{sure:.1}% sure")
                } else {
                    // The number above says how many digits: on a phone, how sure is what fits.
                    format!("digit {}: {}, {sure:.1}% sure", k + 1, read[k])
                };
                Answer {
                    data_digit: if read.len() == 1 {
                        number.clone()
                    } else {
                        String::new()
                    },
                    digits: read.iter().map(|d| d.to_string()).collect(),
                    data_number: number,
                    caption,
                    doubt: detail.is_some_and(|p| p.doubted()),
                }
            }
            (_, false, _) => none("?", "Draw a digit or a whole number"),
            (None, true, ModelStatus::Loading) => none("…", "Waiting for the model"),
            (None, true, ModelStatus::Ready) => none("?", "The model gave no answer"),
            (None, true, ModelStatus::Failed) => none("?", "No model loaded"),
        }
    }
}

/// The digit to show by default: the one with the stroke written last (strokes are numbered in
/// writing order; `strokes[k]` lists digit k's).
pub fn latest(strokes: &[Vec<usize>]) -> Option<usize> {
    strokes
        .iter()
        .enumerate()
        .filter_map(|(k, s)| Some((*s.iter().max()?, k)))
        .max()
        .map(|(_, k)| k)
}

/// A digit's box on the pad in CSS pixels (x, y, w, h): its ink's box (pad units, `scale` CSS
/// pixels each) grown by `margin` pixels on every side.
pub fn css_box(rect: &Rect, scale: f64, margin: f64) -> CssBox {
    let x = rect.x0 as f64 * scale - margin;
    let y = rect.y0 as f64 * scale - margin;
    let w = rect.width() as f64 * scale + 2.0 * margin;
    let h = rect.height() as f64 * scale + 2.0 * margin;
    (x, y, w, h)
}

/// The `data-box` attribute: "x,y,w,h", whole CSS pixels.
pub fn data_box((x, y, w, h): CssBox) -> String {
    format!(
        "{},{},{},{}",
        x.round() as i64,
        y.round() as i64,
        w.round() as i64,
        h.round() as i64
    )
}

/// A box in CSS pixels: (x, y, w, h).
pub type CssBox = (f64, f64, f64, f64);

/// The overlay drawn over a pad `width` x `height` CSS pixels: a thin box around each digit
/// found (`boxes`, CSS pixels) with its guess in a tag above it (inside the box when there is
/// no room above); the digit in focus stands out. Each box is a `<g>` with `data-digit-index`,
/// `data-digit` (empty while unread) and `data-box` (a contract with the tests).
pub fn overlay(
    width: f64,
    height: f64,
    boxes: &[(CssBox, Option<usize>)],
    focus: Option<usize>,
) -> String {
    const TAG: f64 = 22.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}">"#
    );
    for (i, &((x, y, w, h), digit)) in boxes.iter().enumerate() {
        let d = digit.map_or(String::new(), |d| d.to_string());
        let class = if focus == Some(i) {
            "digit-box focus"
        } else {
            "digit-box"
        };
        let tag_y = if y >= TAG + 2.0 {
            y - TAG - 2.0
        } else {
            y + 2.0
        };
        let tag_w = TAG.max(w.min(TAG * 1.4));
        let tag_x = (x + w / 2.0 - tag_w / 2.0).clamp(0.0, (width - tag_w).max(0.0));
        let label = if d.is_empty() { "?" } else { d.as_str() };
        let _ = write!(
            s,
            r#"<g class="{class}" data-digit-index="{i}" data-digit="{d}" data-box="{b}"><rect class="frame" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="4"/><g class="tag" role="button" tabindex="-1" aria-label="Show digit {n}"><rect x="{tag_x:.1}" y="{tag_y:.1}" width="{tag_w:.1}" height="{TAG}" rx="6"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="middle">{label}</text></g></g>"#,
            b = data_box((x, y, w, h)),
            n = i + 1,
            tx = tag_x + tag_w / 2.0,
            ty = tag_y + TAG * 0.75,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sure(d: usize, p: f32) -> Option<[f32; CLASSES]> {
        let mut v = [(1.0 - p) / 9.0; CLASSES];
        v[d] = p;
        Some(v)
    }

    #[test]
    fn one_digit_names_the_digit_and_how_sure() {
        let a = Answer::new(&[sure(7, 0.91)], None, None, true, ModelStatus::Ready);
        assert_eq!((a.data_digit.as_str(), a.data_number.as_str()), ("7", "7"));
        assert_eq!(a.digits, ["7"]);
        assert_eq!(a.caption, "91.0% sure");
    }

    #[test]
    fn a_number_names_every_digit_and_the_one_in_focus() {
        let digits = [sure(2, 0.99), sure(0, 0.98), sure(2, 0.97), sure(6, 0.5)];
        let a = Answer::new(&digits, None, None, true, ModelStatus::Ready);
        assert_eq!(a.data_digit, "", "more than one digit: no single digit");
        assert_eq!(a.data_number, "2026");
        assert_eq!(a.digits, ["2", "0", "2", "6"]);
        assert_eq!(a.caption, "digit 4: 6, 50.0% sure", "the last by default");
        let b = Answer::new(&digits, Some(1), None, true, ModelStatus::Ready);
        assert_eq!(b.caption, "digit 2: 0, 98.0% sure");
        let c = Answer::new(&digits, Some(9), None, true, ModelStatus::Ready);
        assert_eq!(c.caption, a.caption, "a focus past the end is the last");
    }

    #[test]
    fn how_sure_comes_from_the_scores_alone_and_the_doubt_is_said_apart() {
        // The reader's probabilities of a doubted 6 are flat; its scores alone read a sure 6.
        let flat = sure(6, 0.4);
        let detail = |p: f32, one: Option<f32>| Prediction {
            probabilities: flat.unwrap(),
            digit: sure(6, p).unwrap(),
            one_digit: one,
        };
        let a = Answer::new(
            &[flat],
            None,
            Some(detail(0.99, Some(0.05))),
            true,
            ModelStatus::Ready,
        );
        assert_eq!(a.data_number, "6");
        assert_eq!((a.caption.as_str(), a.doubt), ("99.0% sure", true));
        let b = Answer::new(
            &[flat],
            None,
            Some(detail(0.99, Some(0.4))),
            true,
            ModelStatus::Ready,
        );
        assert_eq!(
            (b.caption.as_str(), b.doubt),
            ("99.0% sure", false),
            "no doubt worth saying"
        );
        let c = Answer::new(
            &[flat],
            None,
            Some(detail(0.97, None)),
            true,
            ModelStatus::Ready,
        );
        assert_eq!(
            (c.caption.as_str(), c.doubt),
            ("97.0% sure", false),
            "a model without one"
        );
        // In a number, the detail is the digit in focus's.
        let digits = [sure(1, 0.99), flat];
        let d = Answer::new(
            &digits,
            Some(1),
            Some(detail(0.95, Some(0.02))),
            true,
            ModelStatus::Ready,
        );
        assert_eq!(d.caption, "digit 2: 6, 95.0% sure");
        assert!(d.doubt);
        // A detail that reads another digit than the one in focus is not used.
        let e = Answer::new(
            &digits,
            Some(0),
            Some(detail(0.95, Some(0.02))),
            true,
            ModelStatus::Ready,
        );
        assert_eq!(
            (e.caption.as_str(), e.doubt),
            ("digit 1: 1, 99.0% sure", false)
        );
    }

    #[test]
    fn without_a_reading_it_says_why() {
        let cases = [
            (
                &[][..],
                false,
                ModelStatus::Ready,
                "?",
                "Draw a digit or a whole number",
            ),
            (
                &[None][..],
                false,
                ModelStatus::Loading,
                "?",
                "Draw a digit or a whole number",
            ),
            (
                &[None, None][..],
                true,
                ModelStatus::Loading,
                "…",
                "Waiting for the model",
            ),
            (
                &[None][..],
                true,
                ModelStatus::Failed,
                "?",
                "No model loaded",
            ),
            (
                &[None][..],
                true,
                ModelStatus::Ready,
                "?",
                "The model gave no answer",
            ),
            (
                &[sure(1, 0.9), None][..],
                true,
                ModelStatus::Ready,
                "?",
                "The model gave no answer",
            ),
        ];
        for (digits, drawn, model, sign, caption) in cases {
            let a = Answer::new(digits, None, None, drawn, model);
            assert_eq!((a.data_digit.as_str(), a.data_number.as_str()), ("", ""));
            assert_eq!((a.digits[0].as_str(), a.caption.as_str()), (sign, caption));
        }
    }

    #[test]
    fn nan_probabilities_are_no_answer() {
        let a = Answer::new(
            &[Some([f32::NAN; CLASSES])],
            None,
            None,
            true,
            ModelStatus::Ready,
        );
        assert_eq!(a.data_digit, "");
        assert_eq!(a.data_number, "");
    }

    #[test]
    fn the_digit_in_focus_by_default_is_the_one_written_last() {
        assert_eq!(latest(&[]), None);
        assert_eq!(latest(&[vec![0], vec![1, 2]]), Some(1));
        // A 7's bar added at the end, after the digit to its right.
        assert_eq!(latest(&[vec![0, 3], vec![1], vec![2]]), Some(0));
        assert_eq!(latest(&[vec![], vec![0]]), Some(1));
    }

    #[test]
    fn boxes_are_the_ink_grown_by_the_pen_in_css_pixels() {
        let r = Rect {
            x0: 0.5,
            y0: 0.25,
            x1: 1.0,
            y1: 0.75,
        };
        let b = css_box(&r, 200.0, 6.0);
        assert_eq!(b, (94.0, 44.0, 112.0, 112.0));
        assert_eq!(data_box(b), "94,44,112,112");
        assert_eq!(data_box((1.4, 2.6, 3.5, 4.49)), "1,3,4,4");
    }

    #[test]
    fn the_overlay_has_one_box_per_digit_with_its_guess() {
        let svg = overlay(
            400.0,
            200.0,
            &[
                ((10.0, 40.0, 60.0, 100.0), Some(4)),
                ((90.0, 5.0, 50.0, 120.0), None),
            ],
            Some(0),
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let boxes: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_attribute("data-digit-index"))
            .collect();
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[0].attribute("data-digit"), Some("4"));
        assert_eq!(boxes[0].attribute("data-box"), Some("10,40,60,100"));
        assert_eq!(boxes[0].attribute("class"), Some("digit-box focus"));
        assert_eq!(boxes[1].attribute("data-digit"), Some(""));
        assert_eq!(boxes[1].attribute("class"), Some("digit-box"));
        let texts: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or(""))
            .collect();
        assert_eq!(texts, ["4", "?"]);
        // A box at the top edge has its tag inside it, not above the pad.
        let tag_y: Vec<f64> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("tag"))
            .map(|n| {
                n.first_element_child()
                    .unwrap()
                    .attribute("y")
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(tag_y[0] < 40.0 && tag_y[1] >= 5.0, "{tag_y:?}");
    }
}
