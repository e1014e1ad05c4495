//! The architecture spec string: comma-separated layers, e.g.
//! `conv32k3,relu,conv64k3,relu,maxpool2,drop0.25,flatten,fc128,relu,drop0.5,fc10`.
//!
//! | token        | layer                                                         |
//! |--------------|---------------------------------------------------------------|
//! | `conv{C}k{K}` | 2-D convolution, C output channels, KxK kernel, stride 1      |
//! | `conv{C}k{K}p{P}` | the same with zero padding P on every side               |
//! | `bn`         | batch normalization over channels (or features after `fc`)    |
//! | `relu`       | rectified linear unit                                         |
//! | `maxpool{K}` | KxK max pooling with stride K                                 |
//! | `drop{P}`    | dropout with probability P (0 <= P < 1), identity at inference |
//! | `flatten`    | flattens channels x height x width into features              |
//! | `gap`        | global average pooling: one value per channel                 |
//! | `fc{N}`      | fully connected layer with N outputs                          |
//!
//! The input is one 28x28 channel; the last layer must produce 10 values (the logits; softmax
//! is part of the loss while training and of the exported graph).
//!
//! Every size is checked before anything is allocated: a spec past the limits below is an error
//! that says which limit and by how much, never an overflow, a panic or gigabytes of memory.

use std::fmt;

use digits_core::{CLASSES, SIDE};

/// The most layers a spec may have.
pub const MAX_LAYERS: usize = 100;
/// The most channels of a convolution or outputs of a fully connected layer.
pub const MAX_WIDTH: usize = 4096;
/// The most trainable parameters of a network (40 MB of weights; training keeps about four
/// copies: weights, gradients and AdamW's two moments).
pub const MAX_PARAMETERS: usize = 10_000_000;
/// The most activation values one image makes across all layers: what each image of a batch
/// needs in the training workspaces (a few times this many bytes per image).
pub const MAX_ACTIVATIONS: usize = 1_000_000;

/// A per-image activation shape: channels x height x width (features are `c x 1 x 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub const fn new(c: usize, h: usize, w: usize) -> Shape {
        Shape { c, h, w }
    }
    pub fn size(&self) -> usize {
        self.c * self.h * self.w
    }
    pub fn plane(&self) -> usize {
        self.h * self.w
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.c, self.h, self.w)
    }
}

/// One layer of the spec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Conv { cout: usize, k: usize, pad: usize },
    BatchNorm,
    Relu,
    MaxPool { k: usize },
    Dropout { p: f32 },
    Flatten,
    Gap,
    Linear { dout: usize },
}

/// A spec that cannot be built, with the offending token.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("--arch: empty architecture spec")]
    Empty,
    #[error(
        "--arch: layer {index} `{token}` is not a layer; expected convCkK[pP], bn, relu, maxpoolK, dropP, flatten, gap or fcN"
    )]
    Unknown { index: usize, token: String },
    #[error("--arch: layer {index} `{token}`: {reason}")]
    Invalid {
        index: usize,
        token: String,
        reason: String,
    },
    #[error(
        "--arch: the network ends with {found} outputs, expected {CLASSES} (end with fc{CLASSES}, or conv{CLASSES}k1 and gap; or fc11: the ten digits and \"not one digit\", see --not-digits)"
    )]
    Outputs { found: String },
    #[error("--arch: the network is too large: {0}")]
    TooLarge(String),
}

/// Trainable parameters of `op` on an input of shape `input`, or `None` if the count does not
/// fit in a `usize`.
pub fn param_len(op: Op, input: Shape) -> Option<usize> {
    match op {
        Op::Conv { cout, k, .. } => cout
            .checked_mul(input.c)?
            .checked_mul(k.checked_mul(k)?)?
            .checked_add(cout),
        Op::Linear { dout } => dout.checked_mul(input.c)?.checked_add(dout),
        Op::BatchNorm => input.c.checked_mul(2),
        _ => Some(0),
    }
}

/// `c x h x w` values, or `None` if that does not fit in a `usize`.
fn checked_size(c: usize, h: usize, w: usize) -> Option<usize> {
    c.checked_mul(h)?.checked_mul(w)
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.starts_with('+') {
        return None;
    }
    s.parse().ok()
}

fn parse_token(t: &str) -> Option<Op> {
    Some(match t {
        "bn" => Op::BatchNorm,
        "relu" => Op::Relu,
        "flatten" => Op::Flatten,
        "gap" => Op::Gap,
        _ => {
            if let Some(rest) = t.strip_prefix("conv") {
                let (c, rest) = rest.split_once('k')?;
                let (k, pad) = match rest.split_once('p') {
                    Some((k, p)) => (k, number(p)?),
                    None => (rest, 0),
                };
                Op::Conv {
                    cout: number(c)?,
                    k: number(k)?,
                    pad,
                }
            } else if let Some(k) = t.strip_prefix("maxpool") {
                Op::MaxPool { k: number(k)? }
            } else if let Some(p) = t.strip_prefix("drop") {
                Op::Dropout { p: number(p)? }
            } else if let Some(n) = t.strip_prefix("fc") {
                Op::Linear { dout: number(n)? }
            } else {
                return None;
            }
        }
    })
}

/// Parses `spec` and infers every layer's input and output shape from a 1x28x28 input.
pub fn parse(spec: &str) -> Result<Vec<(Op, Shape, Shape)>, SpecError> {
    if spec.trim().is_empty() {
        return Err(SpecError::Empty);
    }
    let layers = spec.split(',').count();
    if layers > MAX_LAYERS {
        return Err(SpecError::TooLarge(format!(
            "{layers} layers, at most {MAX_LAYERS}"
        )));
    }
    let tokens: Vec<&str> = spec.split(',').map(str::trim).collect();
    let (mut params, mut activations) = (0usize, SIDE * SIDE);
    let mut shape = Shape::new(1, SIDE, SIDE);
    let mut flat = false;
    let mut out = Vec::with_capacity(tokens.len());
    for (index, &token) in tokens.iter().enumerate() {
        let index = index + 1;
        let op = parse_token(token).ok_or_else(|| SpecError::Unknown {
            index,
            token: token.to_string(),
        })?;
        let invalid = |reason: String| SpecError::Invalid {
            index,
            token: token.to_string(),
            reason,
        };
        let next = match op {
            Op::Conv { cout, k, pad } => {
                if flat {
                    return Err(invalid(
                        "a convolution needs an image, not flat features".into(),
                    ));
                }
                if cout == 0 || k == 0 {
                    return Err(invalid(
                        "channels and kernel size must be at least 1".into(),
                    ));
                }
                if cout > MAX_WIDTH {
                    return Err(invalid(format!("{cout} channels; at most {MAX_WIDTH}")));
                }
                if k > shape.h.max(shape.w) {
                    return Err(invalid(format!(
                        "kernel {k} is larger than the {shape} input"
                    )));
                }
                if pad >= k {
                    return Err(invalid(format!(
                        "padding {pad} must be smaller than the kernel {k}"
                    )));
                }
                // k and pad are now at most the input's side, so these cannot overflow.
                let (h, w) = (shape.h + 2 * pad, shape.w + 2 * pad);
                if k > h || k > w {
                    return Err(invalid(format!(
                        "kernel {k} is larger than the {shape} input"
                    )));
                }
                Shape::new(cout, h - k + 1, w - k + 1)
            }
            Op::MaxPool { k } => {
                if flat {
                    return Err(invalid("pooling needs an image, not flat features".into()));
                }
                if k < 2 || k > shape.h || k > shape.w {
                    return Err(invalid(format!(
                        "pool size must be 2 to {} here",
                        shape.h.min(shape.w)
                    )));
                }
                Shape::new(shape.c, shape.h / k, shape.w / k)
            }
            Op::Dropout { p } => {
                if !(0.0..1.0).contains(&p) {
                    return Err(invalid("dropout probability must be in [0, 1)".into()));
                }
                shape
            }
            Op::Flatten => {
                flat = true;
                Shape::new(shape.size(), 1, 1)
            }
            Op::Gap => {
                if flat {
                    return Err(invalid("global average pooling needs an image".into()));
                }
                flat = true;
                Shape::new(shape.c, 1, 1)
            }
            Op::Linear { dout } => {
                if !flat {
                    return Err(invalid(format!(
                        "a fully connected layer needs flat features, got a {shape} image: add flatten or gap before it"
                    )));
                }
                if dout == 0 {
                    return Err(invalid("needs at least 1 output".into()));
                }
                if dout > MAX_WIDTH {
                    return Err(invalid(format!("{dout} outputs; at most {MAX_WIDTH}")));
                }
                Shape::new(dout, 1, 1)
            }
            Op::BatchNorm | Op::Relu => shape,
        };
        let too_large = |what: &str| {
            SpecError::TooLarge(format!(
                "layer {index} `{token}` takes the network past {what}"
            ))
        };
        let layer_params = param_len(op, shape).ok_or_else(|| too_large("any size"))?;
        params = params
            .checked_add(layer_params)
            .filter(|&p| p <= MAX_PARAMETERS)
            .ok_or_else(|| {
                SpecError::TooLarge(format!(
                    "layer {index} `{token}` alone has {layer_params} parameters; the whole network may have at most {MAX_PARAMETERS}"
                ))
            })?;
        activations = checked_size(next.c, next.h, next.w)
            .and_then(|size| activations.checked_add(size))
            .filter(|&a| a <= MAX_ACTIVATIONS)
            .ok_or_else(|| {
                too_large(&format!(
                    "{MAX_ACTIVATIONS} activation values per image (what training keeps for each image)"
                ))
            })?;
        out.push((op, shape, next));
        shape = next;
    }
    // Eleven outputs only from a fully connected layer (the exporter splits its rows).
    let doubt = Shape::new(CLASSES + 1, 1, 1);
    let fc_last = matches!(out.last(), Some((Op::Linear { .. }, _, _)));
    if shape != Shape::new(CLASSES, 1, 1) && !(shape == doubt && fc_last) {
        return Err(SpecError::Outputs {
            found: shape.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_example_network() {
        let l =
            parse("conv32k3,relu,conv64k3,relu,maxpool2,drop0.25,flatten,fc128,relu,drop0.5,fc10")
                .unwrap();
        assert_eq!(l.len(), 11);
        assert_eq!(l[0].2, Shape::new(32, 26, 26));
        assert_eq!(l[2].2, Shape::new(64, 24, 24));
        assert_eq!(l[4].2, Shape::new(64, 12, 12));
        assert_eq!(l[6].2, Shape::new(9216, 1, 1));
        assert_eq!(l[10].2, Shape::new(10, 1, 1));
    }

    #[test]
    fn padding_bn_and_gap() {
        let l = parse("conv8k3p1,bn,relu,maxpool2,conv10k1,gap").unwrap();
        assert_eq!(l[0].2, Shape::new(8, 28, 28));
        assert_eq!(l[3].2, Shape::new(8, 14, 14));
        assert_eq!(l[5].2, Shape::new(10, 1, 1));
        assert_eq!(
            l[0].0,
            Op::Conv {
                cout: 8,
                k: 3,
                pad: 1
            }
        );
    }

    #[test]
    fn errors_name_the_layer() {
        let e = parse("conv8k3,relu,pool2,fc10").unwrap_err();
        assert!(e.to_string().contains("layer 3 `pool2`"), "{e}");
        let e = parse("conv8k3,fc10").unwrap_err();
        assert!(e.to_string().contains("add flatten or gap"), "{e}");
        let e = parse("flatten,fc12").unwrap_err();
        assert_eq!(
            e,
            SpecError::Outputs {
                found: "12x1x1".into()
            }
        );
        // Eleven outputs (the digits and "not one digit") only from a fully connected layer.
        assert!(parse("flatten,fc11").is_ok());
        assert!(parse("conv11k1,gap").is_err());
        assert!(parse("flatten,fc11,bn").is_err());
        assert!(parse("conv8k40,flatten,fc10").is_err());
        assert!(parse("drop1.5,flatten,fc10").is_err());
        assert!(parse("conv8k3p3,flatten,fc10").is_err());
        assert!(parse("maxpool1,flatten,fc10").is_err());
        assert!(parse("conv+8k3,flatten,fc10").is_err());
        assert!(parse("convk3,flatten,fc10").is_err());
        assert_eq!(parse(" ").unwrap_err(), SpecError::Empty);
        assert!(parse("flatten,fc10,").is_err());
    }

    /// Sizes that used to overflow, panic or allocate gigabytes are refused, saying why.
    #[test]
    fn huge_networks_are_refused_before_anything_is_allocated() {
        let cases = [
            (
                "flatten,fc4611686018427387904,fc10",
                "4611686018427387904 outputs; at most 4096",
            ),
            (
                "conv1k18446744073709551590p18446744073709551589,flatten,fc10",
                "kernel 18446744073709551590 is larger",
            ),
            ("conv99999999k3,gap,fc10", "99999999 channels; at most 4096"),
            (
                "flatten,fc4096,fc4096,fc4096,fc10",
                "alone has 16781312 parameters",
            ),
            (
                "conv4096k3p1,conv4096k3p1,gap,fc10",
                "layer 1 `conv4096k3p1` takes the network past 1000000 activation values",
            ),
            (
                "conv2048k1,conv10k1,gap,fc10",
                "1000000 activation values per image",
            ),
        ];
        for (spec, expected) in cases {
            let e = parse(spec).unwrap_err().to_string();
            assert!(e.contains(expected), "{spec}: {e}");
        }
        let long = vec!["relu"; 20_000].join(",") + ",flatten,fc10";
        let e = parse(&long).unwrap_err().to_string();
        assert!(e.contains("20002 layers, at most 100"), "{e}");
        // Just inside the limits is fine.
        assert!(parse("flatten,fc4096,fc10").is_ok());
    }
}
