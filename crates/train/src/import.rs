//! The way back from [`crate::export`]: an ONNX file this project exported (by the command line
//! or the page) read into a trainable [`Network`], so a model can be fine-tuned (a user's
//! handwriting, [`crate::finetune`]). The graph must be the exporter's chain of standard ops;
//! batch norm that the exporter folded into a conv or fully connected layer stays folded (the
//! network has no `bn` layer there), float16 weights become float32.

use std::collections::HashMap;

use digits_core::onnx_pb::{
    AttributeProto, ModelProto, NodeProto, TensorProto, tensor_proto::DataType,
};
use half::f16;
use prost::Message;

use crate::export::{INPUT, OUTPUT};
use crate::net::CLASSES;
use crate::net::Network;
use crate::spec::Op;

/// A file that is not one the trainer can read back, naming the file and what is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{name}: {reason}")]
pub struct ImportError {
    pub name: String,
    pub reason: String,
}

fn floats(t: &TensorProto) -> Result<Vec<f32>, String> {
    let n: i64 = t.dims.iter().product();
    let values: Vec<f32> = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Ok(DataType::Float) => t.float_data.clone(),
        Ok(DataType::Float16) if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => return Err(format!("tensor {} is not float32 or float16", t.name)),
    };
    if values.len() as i64 != n {
        return Err(format!(
            "tensor {} holds {} values for dims {:?}",
            t.name,
            values.len(),
            t.dims
        ));
    }
    Ok(values)
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map_or_else(Vec::new, |a| a.ints.clone())
}

/// Reads an exported model (`name` names it in errors) into a network with its weights.
pub fn from_onnx(bytes: &[u8], name: &str) -> Result<Network, ImportError> {
    read(bytes).map_err(|reason| ImportError {
        name: name.to_string(),
        reason,
    })
}

fn read(bytes: &[u8]) -> Result<Network, String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX file ({e})"))?;
    let graph = model.graph.ok_or("the ONNX file has no graph")?;
    let mut tensors: HashMap<String, (Vec<i64>, Vec<f32>)> = HashMap::new();
    for t in &graph.initializer {
        tensors.insert(t.name.clone(), (t.dims.clone(), floats(t)?));
    }
    let mut spec: Vec<String> = Vec::new();
    // Per layer of the spec, its parameters (weights then bias) and running statistics.
    let mut params: Vec<Vec<f32>> = Vec::new();
    let mut state: Vec<Vec<f32>> = Vec::new();
    let mut current = INPUT.to_string();
    let mut ended = false;
    // The input of the last fully connected layer, and a doubt head being read: the second
    // `Gemm` of those features (its weights and bias) and the tensor its chain has reached
    // and how many of its `Neg`, then `Sigmoid` it has passed (exactly those two, in that
    // order: anything else computes another function), until the `Mul` that scales the scores.
    let mut gemm_input = String::new();
    let mut doubt: Option<(Vec<f32>, Vec<f32>, String, usize)> = None;
    // A doubt output beside the network ([`crate::net::SideDoubt`]) starts with a `Flatten` of
    // an earlier layer's output: that layer and the flattened tensor, until its `Gemm`; then
    // the same chain as above, and at its `Mul`, the side doubt read.
    let mut side: Option<(usize, String)> = None;
    let mut side_doubt: Option<crate::net::SideDoubt> = None;
    // Which layer of the spec made each tensor.
    let mut produced: HashMap<String, usize> = HashMap::new();
    let weight = |tensors: &HashMap<String, (Vec<i64>, Vec<f32>)>, input: Option<&String>| {
        input
            .and_then(|n| tensors.get(n).cloned())
            .ok_or_else(|| "a layer's weights are missing".to_string())
    };
    for (k, node) in graph.node.iter().enumerate() {
        let op = node.op_type.as_str();
        if op == "Cast" {
            // A float16 weight's cast to float32: its output is the same values.
            let (Some(src), Some(dst)) = (node.input.first(), node.output.first()) else {
                return Err(format!("node {k} (Cast) has no input or output"));
            };
            let t = tensors
                .get(src)
                .cloned()
                .ok_or_else(|| format!("node {k} casts {src}, which is not a weight"))?;
            tensors.insert(dst.clone(), t);
            continue;
        }
        if ended {
            return Err(format!("node {k} ({op}) comes after the softmax"));
        }
        // A doubt head ([`crate::export`]): folded back into one layer of eleven outputs, or
        // read as a doubt output beside the network.
        let digits_fc = spec.last().is_some_and(|l| *l == format!("fc{CLASSES}"));
        let input = node.input.first();
        let side_input = side.as_ref().map(|(_, t)| t);
        let in_doubt = doubt.is_some() || side.is_some();
        match (op, &mut doubt) {
            ("Flatten", None)
                if digits_fc
                    && side.is_none()
                    && side_doubt.is_none()
                    && input != Some(&current)
                    && input.is_some_and(|t| produced.contains_key(t)) =>
            {
                let layer = produced[input.expect("checked")];
                side = Some((layer, node.output.first().cloned().unwrap_or_default()));
                continue;
            }
            ("Gemm", None)
                if digits_fc
                    && side_doubt.is_none()
                    && (input == side_input || (side.is_none() && input == Some(&gemm_input))) =>
            {
                let (dims, w) = weight(&tensors, node.input.get(1))?;
                let (_, b) = weight(&tensors, node.input.get(2))?;
                if dims.first() != Some(&1) || attr(node, "transB").map(|a| a.i) != Some(1) {
                    return Err(format!("node {k} (Gemm) is not a doubt output"));
                }
                doubt = Some((w, b, node.output.first().cloned().unwrap_or_default(), 0));
                continue;
            }
            ("Neg", Some((_, _, at, passed @ 0))) | ("Sigmoid", Some((_, _, at, passed @ 1)))
                if node.input.first() == Some(at) =>
            {
                *at = node.output.first().cloned().unwrap_or_default();
                *passed += 1;
                continue;
            }
            ("Mul", Some((w, b, at, 2)))
                if node.input.first() == Some(&current) && node.input.get(1) == Some(at) =>
            {
                current = node.output.first().cloned().unwrap_or_default();
                if let Some((layer, _)) = side.take() {
                    let [bias] = b[..] else {
                        return Err(format!(
                            "node {k} (Mul): a doubt output of {} biases",
                            b.len()
                        ));
                    };
                    side_doubt = Some(crate::net::SideDoubt {
                        layer,
                        head: crate::net::Head {
                            weights: std::mem::take(w),
                            bias,
                        },
                    });
                    doubt = None;
                    continue;
                }
                let last = spec.len() - 1;
                spec[last] = format!("fc{}", CLASSES + 1);
                let inputs = w.len();
                let p = &params[last];
                let (wd, bd) = p.split_at(p.len() - CLASSES);
                if wd.len() != CLASSES * inputs {
                    return Err(format!(
                        "node {k} (Mul): a doubt output of {inputs} inputs after {} weights",
                        wd.len()
                    ));
                }
                params[last] = [wd, w.as_slice(), bd, b.as_slice()].concat();
                doubt = None;
                continue;
            }
            _ if in_doubt => {
                return Err(format!(
                    "node {k} ({op}) is inside a doubt output, which is a Gemm, Neg, Sigmoid and Mul, in that order"
                ));
            }
            _ => {}
        }
        if node.input.first() != Some(&current) {
            return Err(format!(
                "node {k} ({op}) does not follow the one before it: not a chain of layers"
            ));
        }
        match op {
            "Conv" => {
                let (dims, w) = weight(&tensors, node.input.get(1))?;
                let (_, b) = weight(&tensors, node.input.get(2))?;
                let [cout, _, kh, kw] = dims[..] else {
                    return Err(format!("node {k} (Conv): weights of dims {dims:?}"));
                };
                let pads = ints(node, "pads");
                let strides = ints(node, "strides");
                let pad = pads.first().copied().unwrap_or(0);
                if kh != kw
                    || pads.iter().any(|&p| p != pad)
                    || strides.iter().any(|&s| s != 1)
                    || ints(node, "dilations").iter().any(|&d| d != 1)
                    || attr(node, "group").is_some_and(|g| g.i != 1)
                {
                    return Err(format!(
                        "node {k} (Conv) is not a square, stride-1 convolution with even padding"
                    ));
                }
                spec.push(format!("conv{cout}k{kh}p{pad}"));
                params.push([w, b].concat());
                state.push(Vec::new());
            }
            "Gemm" => {
                let (dims, w) = weight(&tensors, node.input.get(1))?;
                let (_, b) = weight(&tensors, node.input.get(2))?;
                if attr(node, "transB").map(|a| a.i) != Some(1) || dims.len() != 2 {
                    return Err(format!("node {k} (Gemm) is not a fully connected layer"));
                }
                spec.push(format!("fc{}", dims[0]));
                params.push([w, b].concat());
                gemm_input = current.clone();
                state.push(Vec::new());
            }
            "BatchNormalization" => {
                let get = |i: usize| weight(&tensors, node.input.get(i)).map(|t| t.1);
                spec.push("bn".into());
                params.push([get(1)?, get(2)?].concat());
                state.push([get(3)?, get(4)?].concat());
            }
            "MaxPool" => {
                let kernel = ints(node, "kernel_shape");
                let strides = ints(node, "strides");
                match (&kernel[..], &strides[..]) {
                    ([a, b], [c, d]) if a == b && b == c && c == d => {
                        spec.push(format!("maxpool{a}"));
                    }
                    _ => return Err(format!("node {k} (MaxPool) is not KxK with stride K")),
                }
                params.push(Vec::new());
                state.push(Vec::new());
            }
            "Relu" | "Flatten" | "GlobalAveragePool" => {
                spec.push(
                    match op {
                        "Relu" => "relu",
                        "Flatten" => "flatten",
                        _ => "gap",
                    }
                    .into(),
                );
                params.push(Vec::new());
                state.push(Vec::new());
            }
            "Softmax" => ended = true,
            other => return Err(format!("node {k} is a {other}, which the trainer has not")),
        }
        current = node.output.first().cloned().unwrap_or_default();
        if !ended {
            produced.insert(current.clone(), spec.len() - 1);
        }
    }
    if !ended || current != OUTPUT {
        return Err(format!(
            "the graph does not end with a softmax named {OUTPUT}"
        ));
    }
    let spec = spec.join(",");
    let mut net = Network::new(&spec, 0).map_err(|e| format!("its layers ({spec}): {e}"))?;
    for (i, layer) in net.layers.clone().iter().enumerate() {
        let p = &params[i];
        if p.len() != layer.param_len {
            return Err(format!(
                "layer {} ({:?}) has {} weights, expected {}",
                i + 1,
                layer.op,
                p.len(),
                layer.param_len
            ));
        }
        net.params[layer.param_at..layer.param_at + p.len()].copy_from_slice(p);
        if layer.op == Op::BatchNorm {
            let s = &state[i];
            net.state[layer.state_at..layer.state_at + s.len()].copy_from_slice(s);
        }
    }
    if let Some(side) = side_doubt {
        let size = net.layers.get(side.layer).map_or(0, |l| l.output.size());
        if side.head.weights.len() != size {
            return Err(format!(
                "the doubt output reads {} values of layer {}, which gives {size}",
                side.head.weights.len(),
                side.layer + 1
            ));
        }
        net.side_doubt = Some(side);
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Weights, to_onnx};

    fn images(n: usize) -> Vec<f32> {
        (0..n * digits_core::PIXELS)
            .map(|i| ((i * 37 % 101) as f32 / 100.0).powi(3))
            .collect()
    }

    fn trained_like(spec: &str) -> Network {
        let mut net = Network::new(spec, 7).unwrap();
        // Batch-norm statistics that are not the identity, so folding shows.
        for (i, v) in net.state.iter_mut().enumerate() {
            *v = 0.5 + (i % 7) as f32 * 0.1;
        }
        net
    }

    #[test]
    fn an_exported_network_reads_back_with_the_same_answers() {
        for spec in [
            "conv4k3p1,bn,relu,maxpool2,conv8k3,relu,gap,fc10",
            "flatten,fc32,bn,relu,drop0.2,fc10",
            "conv4k5,relu,bn,maxpool2,flatten,fc10",
        ] {
            let net = trained_like(spec);
            let x = images(3);
            let want = net.predict(&x);
            let back = from_onnx(&to_onnx(&net, &[], Weights::F32), "m.onnx").unwrap();
            let got = back.predict(&x);
            for (a, b) in want.iter().zip(&got) {
                assert!((a - b).abs() < 1e-5, "{spec}: {a} vs {b}");
            }
            // float16 weights come back as their float32 values.
            let half = from_onnx(&to_onnx(&net, &[], Weights::F16), "m.onnx").unwrap();
            assert_eq!(half.spec, back.spec);
            for (a, b) in want.iter().zip(&half.predict(&x)) {
                assert!((a - b).abs() < 5e-3, "{spec} (f16): {a} vs {b}");
            }
        }
    }

    #[test]
    fn folded_batch_norm_stays_folded() {
        let net = trained_like("conv4k3p1,bn,relu,gap,fc10");
        let back = from_onnx(&to_onnx(&net, &[], Weights::F32), "m.onnx").unwrap();
        assert_eq!(back.spec, "conv4k3p1,relu,gap,flatten,fc10");
    }

    #[test]
    fn a_doubt_output_reads_back_as_eleven_outputs() {
        for spec in ["conv4k3p1,bn,relu,gap,fc11", "flatten,fc16,bn,relu,fc11"] {
            let net = trained_like(spec);
            assert!(net.has_doubt());
            let x = images(4);
            for (weights, tolerance) in [(Weights::F32, 1e-5), (Weights::F16, 5e-3)] {
                let back = from_onnx(&to_onnx(&net, &[], weights), "doubt.onnx").unwrap();
                assert!(back.has_doubt(), "{spec}: {}", back.spec);
                for (a, b) in net.predict(&x).iter().zip(back.predict(&x)) {
                    assert!((a - b).abs() < tolerance, "{spec}: {a} vs {b}");
                }
            }
        }
    }

    /// `net` with a doubt output beside it reading its maps ([`crate::doubt_head`]).
    fn with_side_doubt(net: &Network, bias: f32) -> Network {
        use crate::doubt_head::{Head, attach, maps_layer};
        let layer = maps_layer(net).unwrap();
        let mut rng = crate::rng::Rng::new(3);
        let head = Head {
            weights: (0..net.layers[layer].output.size())
                .map(|_| 0.05 * rng.normal())
                .collect(),
            bias,
        };
        attach(net, &head, layer).unwrap()
    }

    #[test]
    fn a_doubt_output_beside_the_network_reads_back() {
        for spec in [
            "conv4k3p1,bn,relu,maxpool2,conv8k3,relu,gap,fc10",
            "flatten,fc16,bn,relu,fc10",
        ] {
            let plain = trained_like(spec);
            let net = with_side_doubt(&plain, 0.3);
            let x = images(4);
            // The doubt matters: the probabilities are not the plain network's.
            assert_ne!(net.predict(&x), plain.predict(&x));
            for (weights, tolerance) in [(Weights::F32, 1e-5), (Weights::F16, 5e-3)] {
                let back = from_onnx(&to_onnx(&net, &[], weights), "side.onnx").unwrap();
                let side = back.side_doubt.as_ref().expect(spec);
                assert!(!back.has_doubt(), "{}", back.spec);
                let read = &net.side_doubt.as_ref().unwrap();
                assert_eq!(
                    back.layers[side.layer].output,
                    net.layers[read.layer].output
                );
                for (a, b) in net.predict(&x).iter().zip(back.predict(&x)) {
                    assert!((a - b).abs() < tolerance, "{spec}: {a} vs {b}");
                }
                // Written again, it reads back the same.
                let again = from_onnx(&to_onnx(&back, &[], weights), "again.onnx").unwrap();
                assert_eq!(again.side_doubt, back.side_doubt);
            }
        }
    }

    #[test]
    fn a_doubt_output_beside_the_network_must_be_flatten_gemm_neg_sigmoid_mul() {
        let net = with_side_doubt(&trained_like("conv4k3p1,relu,gap,fc10"), 0.0);
        let exported = to_onnx(&net, &[], Weights::F32);
        let mut model = ModelProto::decode(&exported[..]).unwrap();
        let g = model.graph.as_mut().unwrap();
        let gemm = g
            .node
            .iter_mut()
            .find(|n| n.op_type == "Gemm" && n.input[1] == "doubt.weight")
            .unwrap();
        gemm.op_type = "MatMul".into();
        let e = from_onnx(&model.encode_to_vec(), "x.onnx").unwrap_err();
        assert!(
            e.reason.contains("(MatMul) is inside a doubt output"),
            "{e}"
        );
        // Weights that do not fit the layer they read.
        let mut model = ModelProto::decode(&exported[..]).unwrap();
        let g = model.graph.as_mut().unwrap();
        let w = g
            .initializer
            .iter_mut()
            .find(|t| t.name == "doubt.weight")
            .unwrap();
        w.dims = vec![1, 2];
        w.raw_data.truncate(8);
        let e = from_onnx(&model.encode_to_vec(), "x.onnx").unwrap_err();
        assert!(e.reason.contains("the doubt output reads 2 values"), "{e}");
    }

    #[test]
    fn a_doubt_output_that_is_not_neg_then_sigmoid_is_refused() {
        let net = trained_like("flatten,fc16,relu,fc11");
        let exported = to_onnx(&net, &[], Weights::F32);
        // Without its Neg, the Sigmoid reads the doubt itself: another function.
        let mut model = ModelProto::decode(&exported[..]).unwrap();
        let g = model.graph.as_mut().unwrap();
        let at = g.node.iter().position(|n| n.op_type == "Neg").unwrap();
        let neg = g.node.remove(at);
        let sigmoid = g.node.iter_mut().find(|n| n.op_type == "Sigmoid").unwrap();
        sigmoid.input = neg.input.clone();
        let e = from_onnx(&model.encode_to_vec(), "x.onnx").unwrap_err();
        assert!(
            e.reason.contains("(Sigmoid) is inside a doubt output"),
            "{e}"
        );
        // Two Negs cancel: refused too, not read as the trainer's doubt.
        let mut model = ModelProto::decode(&exported[..]).unwrap();
        let g = model.graph.as_mut().unwrap();
        let at = g.node.iter().position(|n| n.op_type == "Neg").unwrap();
        let mut second = g.node[at].clone();
        let first_out = g.node[at].output[0].clone();
        second.input = vec![first_out.clone()];
        second.output = vec![format!("{first_out}.again")];
        let sigmoid = g.node.iter_mut().find(|n| n.op_type == "Sigmoid").unwrap();
        sigmoid.input = vec![format!("{first_out}.again")];
        g.node.insert(at + 1, second);
        let e = from_onnx(&model.encode_to_vec(), "x.onnx").unwrap_err();
        assert!(e.reason.contains("(Neg) is inside a doubt output"), "{e}");
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let e = from_onnx(b"not onnx", "x.onnx").unwrap_err();
        assert!(e.to_string().starts_with("x.onnx: not an ONNX file"), "{e}");
        let net = trained_like("flatten,fc10");
        let mut model = ModelProto::decode(&to_onnx(&net, &[], Weights::F32)[..]).unwrap();
        let g = model.graph.as_mut().unwrap();
        g.node
            .iter_mut()
            .find(|n| n.op_type == "Gemm")
            .unwrap()
            .op_type = "LSTM".into();
        let e = from_onnx(&model.encode_to_vec(), "x.onnx").unwrap_err();
        assert!(e.reason.contains("LSTM"), "{e}");
        let mut model = ModelProto::decode(&to_onnx(&net, &[], Weights::F32)[..]).unwrap();
        model.graph.as_mut().unwrap().initializer[0].raw_data.pop();
        assert!(from_onnx(&model.encode_to_vec(), "x.onnx").is_err());
    }
}
