//! Faster stand-ins for two of tract's ops in an optimized plan, where tract's own take scalar,
//! general paths on our models (docs/performance.md, "Inference against ONNX Runtime"): a 2x2,
//! stride-2 max pool (tract 0.23 only vectorizes stride 1), and zero padding of the two spatial
//! axes (tract's `Pad` walks every element through ndarray). Each gives the answers of the op it
//! replaces bit for bit, which the tests check; anything else is left to tract. A crate of its
//! own so that the page's build, optimized for size, can still optimize these loops for speed
//! (`[profile.web.package.digits-plan-ops]`).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Replaces, in place, every op of `model` that has a faster stand-in here. Returns how many.
pub fn speed_up(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let Some(&input) = node.inputs.first() else {
            continue;
        };
        let fact = model.outlet_fact(input)?;
        let Some(shape) = fact.shape.as_concrete().map(<[usize]>::to_vec) else {
            continue;
        };
        if fact.datum_type != f32::datum_type() || shape.len() != 4 || node.inputs.len() != 1 {
            continue;
        }
        let op: Option<Box<dyn TypedOp>> = if let Some(pool) = node.op_as::<OptMaxPool>() {
            MaxPool2x2::fits(pool, &shape).then(|| Box::new(MaxPool2x2) as _)
        } else if let Some(pad) = node.op_as::<Pad>() {
            ZeroPadHw::from_pad(pad).map(|p| Box::new(p) as _)
        } else {
            None
        };
        if let Some(op) = op {
            model.nodes[id].op = op;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Max of each 2x2 block of an NCHW f32 tensor whose height and width are even.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MaxPool2x2;

impl MaxPool2x2 {
    /// Whether tract's pool is this one on input `shape`: a 2x2 window, stride 2, no dilation,
    /// no padding, no index output, channels first, even height and width.
    fn fits(pool: &OptMaxPool, shape: &[usize]) -> bool {
        let spec = &pool.pool_spec;
        let no_padding = match &spec.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(before, after)
            | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
                before.iter().chain(after).all(|&p| p == 0)
            }
            _ => false,
        };
        pool.with_index_outputs.is_none()
            && spec.data_format == DataFormat::NCHW
            && spec.kernel_shape[..] == [2, 2]
            && spec.strides.as_deref() == Some(&[2, 2])
            && spec
                .dilations
                .as_ref()
                .is_none_or(|d| d.iter().all(|&d| d == 1))
            && no_padding
            && shape[2].is_multiple_of(2)
            && shape[3].is_multiple_of(2)
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, c, h, w] = input.shape() else {
            bail!("MaxPool2x2 takes NCHW, got {:?}", input.shape());
        };
        let (oh, ow) = (h / 2, w / 2);
        let mut output = Tensor::zero::<f32>(&[n, c, oh, ow])?;
        let src = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut view = output.try_as_plain_ram_mut()?;
        let dst = view.as_slice_mut::<f32>()?;
        for (plane, out) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(oh * ow)) {
            for (rows, out_row) in plane.chunks_exact(2 * w).zip(out.chunks_exact_mut(ow)) {
                let (top, bottom) = rows.split_at(w);
                for (x, o) in out_row.iter_mut().enumerate() {
                    // Like tract's pool: from f32::MIN, NaNs never win. A comparison, not
                    // `f32::max`, which WebAssembly has no single instruction for.
                    let window = [top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]];
                    *o = window
                        .into_iter()
                        .fold(f32::MIN, |m, v| if v > m { v } else { m });
                }
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let s = &inputs[0].shape;
        let half = |d: &TDim| d.clone() / 2;
        Ok(tvec!(f32::fact([
            s[0].clone(),
            s[1].clone(),
            half(&s[2]),
            half(&s[3])
        ])))
    }

    as_op!();
}

/// Zero padding of the last two axes of a rank-4 f32 tensor: (top, bottom, left, right).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZeroPadHw {
    top: usize,
    bottom: usize,
    left: usize,
    right: usize,
}

impl ZeroPadHw {
    /// This op, if tract's `Pad` pads a rank-4 tensor with zeros on its last two axes only.
    fn from_pad(pad: &Pad) -> Option<ZeroPadHw> {
        let PadMode::Constant(value) = &pad.mode else {
            return None;
        };
        let zero = value.datum_type() == f32::datum_type()
            && value.len() == 1
            && value.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?[0].to_bits() == 0;
        match pad.pads[..] {
            [(0, 0), (0, 0), (top, bottom), (left, right)] if zero => Some(ZeroPadHw {
                top,
                bottom,
                left,
                right,
            }),
            _ => None,
        }
    }
}

impl Op for ZeroPadHw {
    fn name(&self) -> StaticName {
        "ZeroPadHw".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ZeroPadHw {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, c, h, w] = input.shape() else {
            bail!("ZeroPadHw takes a rank-4 tensor, got {:?}", input.shape());
        };
        let (ph, pw) = (h + self.top + self.bottom, w + self.left + self.right);
        let mut output = Tensor::zero::<f32>(&[n, c, ph, pw])?;
        let src = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut view = output.try_as_plain_ram_mut()?;
        let dst = view.as_slice_mut::<f32>()?;
        for (plane, out) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(ph * pw)) {
            for (row, out_row) in plane
                .chunks_exact(w)
                .zip(out[self.top * pw..].chunks_exact_mut(pw))
            {
                out_row[self.left..self.left + w].copy_from_slice(row);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for ZeroPadHw {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let s = &inputs[0].shape;
        Ok(tvec!(f32::fact([
            s[0].clone(),
            s[1].clone(),
            s[2].clone() + self.top + self.bottom,
            s[3].clone() + self.left + self.right
        ])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{MaxPool, PoolSpec};

    /// A tensor of pseudo-random values (negative ones too, and a NaN when asked).
    fn tensor(shape: &[usize], nan: bool) -> Tensor {
        let mut state = 7u32;
        let len = shape.iter().product();
        let mut v: Vec<f32> = (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (state >> 8) as f32 / (1 << 23) as f32 - 1.0
            })
            .collect();
        if nan {
            v[len / 3] = f32::NAN;
        }
        Tensor::from_shape(shape, &v).unwrap()
    }

    /// Runs a one-op model on `x`, with or without [`speed_up`]; the output and the ops used.
    fn run(op: Box<dyn TypedOp>, x: &Tensor, fast: bool) -> (Tensor, Vec<String>) {
        let mut model = TypedModel::default();
        let input = model.add_source("x", f32::fact(x.shape())).unwrap();
        let out = model.wire_node("op", op, &[input]).unwrap();
        model.select_output_outlets(&out).unwrap();
        let mut model = model.into_optimized().unwrap();
        if fast {
            speed_up(&mut model).unwrap();
        }
        let ops = model
            .nodes
            .iter()
            .map(|n| n.op.name().to_string())
            .collect();
        let plan = model.into_runnable().unwrap();
        let y = plan.run(tvec!(x.clone().into_tvalue())).unwrap();
        (y[0].clone().into_tensor(), ops)
    }

    fn same_bits(a: &Tensor, b: &Tensor) {
        assert_eq!(a.shape(), b.shape());
        let (a, b) = (a.try_as_plain_ram().unwrap(), b.try_as_plain_ram().unwrap());
        let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    fn pool(kernel: [usize; 2], strides: [usize; 2], padding: PaddingSpec) -> Box<dyn TypedOp> {
        let spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: kernel.into_iter().collect(),
            padding,
            dilations: None,
            strides: Some(strides.into_iter().collect()),
            input_channels: 3,
            output_channels: 3,
        };
        Box::new(MaxPool::new(spec, None))
    }

    #[test]
    fn the_pool_gives_tracts_answers_bit_for_bit() {
        for (shape, nan) in [([1, 3, 28, 28], false), ([2, 3, 14, 6], true)] {
            let x = tensor(&shape, nan);
            let p = || pool([2, 2], [2, 2], PaddingSpec::Valid);
            let (slow, slow_ops) = run(p(), &x, false);
            let (fast, fast_ops) = run(p(), &x, true);
            assert!(slow_ops.contains(&"OptMaxPool".to_string()), "{slow_ops:?}");
            assert!(fast_ops.contains(&"MaxPool2x2".to_string()), "{fast_ops:?}");
            same_bits(&slow, &fast);
        }
    }

    #[test]
    fn other_pools_are_left_to_tract() {
        let odd = tensor(&[1, 3, 7, 7], false);
        let even = tensor(&[1, 3, 8, 8], false);
        for (op, x) in [
            (pool([2, 2], [2, 2], PaddingSpec::Valid), &odd),
            (pool([3, 3], [2, 2], PaddingSpec::Valid), &even),
            (pool([2, 2], [1, 1], PaddingSpec::Valid), &even),
            (pool([2, 2], [2, 2], PaddingSpec::SameUpper), &odd),
        ] {
            let (_, ops) = run(op, x, true);
            assert!(!ops.contains(&"MaxPool2x2".to_string()), "{ops:?}");
        }
    }

    #[test]
    fn the_padding_gives_tracts_answers_bit_for_bit() {
        let x = tensor(&[2, 3, 5, 4], true);
        let zero = PadMode::Constant(rctensor0(0f32));
        let p = || Box::new(Pad::new(vec![(0, 0), (0, 0), (1, 2), (0, 3)], zero.clone()));
        let (slow, _) = run(p(), &x, false);
        let (fast, ops) = run(p(), &x, true);
        assert!(ops.contains(&"ZeroPadHw".to_string()), "{ops:?}");
        same_bits(&slow, &fast);
    }

    #[test]
    fn other_paddings_are_left_to_tract() {
        let x = tensor(&[1, 2, 4, 4], false);
        for (pads, mode) in [
            (
                vec![(0, 0), (1, 0), (1, 1), (1, 1)],
                PadMode::Constant(rctensor0(0f32)),
            ),
            (
                vec![(0, 0), (0, 0), (1, 1), (1, 1)],
                PadMode::Constant(rctensor0(1f32)),
            ),
            (vec![(0, 0), (0, 0), (1, 1), (1, 1)], PadMode::Edge),
        ] {
            let (_, ops) = run(Box::new(Pad::new(pads, mode)), &x, true);
            assert!(!ops.contains(&"ZeroPadHw".to_string()), "{ops:?}");
        }
    }
}
