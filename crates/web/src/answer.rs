//! What the live answer says for a drawing: the digit, how sure the model is, or why there is
//! no answer yet. Pure, so every case is unit-tested natively; the page only writes it out.

use digits_core::CLASSES;
use digits_core::metrics::argmax;

/// Where the page's model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    Loading,
    Ready,
    Failed,
}

/// The three things the answer card shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// `#prediction[data-digit]`: the digit, or empty when there is no prediction (a contract
    /// with the tests).
    pub data_digit: String,
    /// The large character.
    pub digit: String,
    /// The line under it.
    pub caption: String,
}

impl Answer {
    /// The answer for the model's probabilities (if it ran), whether anything is drawn, and
    /// where the model is.
    pub fn new(probs: Option<&[f32; CLASSES]>, drawn: bool, model: ModelStatus) -> Answer {
        let none = |digit: &str, caption: &str| Answer {
            data_digit: String::new(),
            digit: digit.into(),
            caption: caption.into(),
        };
        match (probs.and_then(|p| Some((argmax(p)?, p))), drawn, model) {
            (Some((d, p)), _, _) => Answer {
                data_digit: d.to_string(),
                digit: d.to_string(),
                caption: format!("{:.1}% sure", 100.0 * p[d]),
            },
            (None, false, _) => none("?", "Draw a digit"),
            (None, true, ModelStatus::Loading) => none("…", "Waiting for the model"),
            (None, true, ModelStatus::Ready) => none("?", "The model gave no answer"),
            (None, true, ModelStatus::Failed) => none("?", "No model loaded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_names_the_digit_and_how_sure() {
        let mut p = [0.01; CLASSES];
        p[7] = 0.91;
        let a = Answer::new(Some(&p), true, ModelStatus::Ready);
        assert_eq!((a.data_digit.as_str(), a.digit.as_str()), ("7", "7"));
        assert_eq!(a.caption, "91.0% sure");
    }

    #[test]
    fn without_a_prediction_it_says_why() {
        let cases = [
            (false, ModelStatus::Ready, "?", "Draw a digit"),
            (false, ModelStatus::Loading, "?", "Draw a digit"),
            (true, ModelStatus::Loading, "…", "Waiting for the model"),
            (true, ModelStatus::Failed, "?", "No model loaded"),
            (true, ModelStatus::Ready, "?", "The model gave no answer"),
        ];
        for (drawn, model, digit, caption) in cases {
            let a = Answer::new(None, drawn, model);
            assert_eq!(a.data_digit, "", "{caption}");
            assert_eq!((a.digit.as_str(), a.caption.as_str()), (digit, caption));
        }
    }

    #[test]
    fn nan_probabilities_are_no_answer() {
        let a = Answer::new(Some(&[f32::NAN; CLASSES]), true, ModelStatus::Ready);
        assert_eq!(a.data_digit, "");
    }
}
