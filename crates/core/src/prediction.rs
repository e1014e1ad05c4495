//! One image's answer from a digit model, taken apart: what the model outputs, which digit its
//! ten scores read, and how sure a doubt output is that the image is one digit. Plain data, so
//! the number reader keeps it without running models itself.

use crate::CLASSES;

/// One image's answer taken apart (`Model::predictions`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// The model's output, as `Model::predict` gives it: what the number reader weighs. With
    /// a doubt output, the scores are scaled down by the doubt before their softmax, so a
    /// digit the network doubts is one comes out flat here.
    pub probabilities: [f32; CLASSES],
    /// Which digit the network reads, if the input is one digit: the softmax of the ten scores
    /// alone, before any doubt. The same ranking as `probabilities`; equal to them for a model
    /// without a doubt output. What the page shows as "% sure".
    pub digit: [f32; CLASSES],
    /// How sure the doubt output is that the input is one whole digit (not two digits or more,
    /// nor part of one), 0..1; `None` for a model without one.
    pub one_digit: Option<f32>,
}

/// Under this [`Prediction::one_digit`], the page and `digits predict` say that what they read
/// may not be one digit. With the shipped model it flags 96% of the pieces of test numbers that
/// hold two digits or more, and 0.8% of lone drawn test digits (0.5 would flag 5.4% of them,
/// and 15% of the 1s): `cargo run --release -p digits-train --example shown_confidence`.
pub const ONE_DIGIT: f32 = 0.1;

impl Prediction {
    /// Whether a doubt output doubts the input is one digit (under [`ONE_DIGIT`]).
    pub fn doubted(&self) -> bool {
        self.one_digit.is_some_and(|k| k < ONE_DIGIT)
    }

    /// The answer of a model without a doubt output, from its probabilities.
    pub fn plain(probabilities: [f32; CLASSES]) -> Prediction {
        Prediction {
            probabilities,
            digit: probabilities,
            one_digit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_answer_has_no_doubt() {
        let mut p = [0.0; CLASSES];
        p[3] = 1.0;
        let a = Prediction::plain(p);
        assert_eq!((a.probabilities, a.digit, a.one_digit), (p, p, None));
        assert!(!a.doubted());
        let doubted = Prediction {
            one_digit: Some(ONE_DIGIT / 2.0),
            ..a
        };
        assert!(doubted.doubted());
        assert!(
            !Prediction {
                one_digit: Some(ONE_DIGIT),
                ..a
            }
            .doubted()
        );
    }
}
