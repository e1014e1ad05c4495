//! Export of a trained [`Network`] to a standard ONNX file (opset 13, standard ops only).
//!
//! Graph contract: input `image` float32 `[N,1,28,28]` (0 = background, 1 = ink), output
//! `probabilities` float32 `[N,10]` (softmax inside the graph; a network with a "not one
//! digit" output, an `fc11` or one beside it reading earlier maps, scales the ten scores by it
//! first). Batch norm that follows a conv
//! or fully connected layer is folded into it; dropout disappears (identity at inference).
//! With [`Weights::F16`], conv and fully connected weights are stored as float16, each followed
//! by a `Cast` to float32: the file is half the size and runtimes compute in float32 as before.

use digits_core::onnx_pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto::Dimension, tensor_shape_proto::dimension,
    type_proto,
};
use digits_core::{CLASSES, SIDE};
use half::f16;
use prost::Message;

use crate::net::{BN_EPS, Network};
use crate::spec::Op;

pub const OPSET: i64 = 13;
/// IR version 7 goes with opset 13.
pub const IR_VERSION: i64 = 7;
pub const INPUT: &str = "image";
pub const OUTPUT: &str = "probabilities";

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: v,
        ..Default::default()
    }
}

/// How the weights of conv and fully connected layers are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Weights {
    /// float32, exactly as trained.
    F32,
    /// float16 (rounded to nearest), each followed by a `Cast` to float32: half the bytes.
    /// Biases and stand-alone batch norm stay float32.
    F16,
}

fn tensor(name: &str, dims: &[usize], data: &[f32], half: bool) -> TensorProto {
    assert_eq!(dims.iter().product::<usize>(), data.len(), "{name}");
    let (data_type, raw_data) = if half {
        let bytes = data.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes());
        (DataType::Float16, bytes.collect())
    } else {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes());
        (DataType::Float, bytes.collect())
    };
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: data_type as i32,
        raw_data,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Dimension]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim: dims.to_vec() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dim(v: i64) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimValue(v)),
        ..Default::default()
    }
}

fn batch_dim() -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimParam("N".into())),
        ..Default::default()
    }
}

struct Builder {
    graph: GraphProto,
    current: String,
    count: usize,
    weights: Weights,
}

impl Builder {
    fn node(&mut self, op: &str, extra_inputs: Vec<String>, attrs: Vec<AttributeProto>) {
        self.count += 1;
        let name = format!("{}_{}", op.to_lowercase(), self.count);
        let mut input = vec![self.current.clone()];
        input.extend(extra_inputs);
        self.graph.node.push(NodeProto {
            input,
            output: vec![name.clone()],
            name: name.clone(),
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        });
        self.current = name;
    }

    fn init(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        self.graph
            .initializer
            .push(tensor(&name, dims, data, false));
        name
    }

    /// A layer's weights, stored as [`Builder::weights`] says; the name of the float32 tensor.
    fn weight(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        if self.weights == Weights::F32 {
            return self.init(name, dims, data);
        }
        let stored = format!("{name}.f16");
        self.graph
            .initializer
            .push(tensor(&stored, dims, data, true));
        self.graph.node.push(NodeProto {
            input: vec![stored],
            output: vec![name.clone()],
            name: format!("{name}.cast"),
            op_type: "Cast".into(),
            attribute: vec![int("to", DataType::Float as i64)],
            ..Default::default()
        });
        name
    }
}

/// Folds batch norm (gamma, beta, running mean, running var) into the weights and bias of the
/// layer before it: `w' = w * a`, `b' = (b - mean) * a + beta` with `a = gamma / sqrt(var + eps)`.
fn fold_bn(w: &mut [f32], b: &mut [f32], gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32]) {
    let per = w.len() / b.len();
    for c in 0..b.len() {
        let a = gamma[c] / (var[c] + BN_EPS).sqrt();
        w[c * per..(c + 1) * per].iter_mut().for_each(|v| *v *= a);
        b[c] = (b[c] - mean[c]) * a + beta[c];
    }
}

/// Serializes `net` as an ONNX model with the given metadata properties, its weights stored as
/// `weights` says.
pub fn to_onnx(net: &Network, metadata: &[(String, String)], weights: Weights) -> Vec<u8> {
    build(net, metadata, weights).0.encode_to_vec()
}

/// For each layer of `net`, the ONNX tensor [`to_onnx`] writes its output to: `None` for a
/// convolution or fully connected layer whose batch norm is folded into it (the graph has
/// only the normalized output, the batch norm layer's), a dropout's input tensor (it is the
/// identity at inference). What lets tests set the trainer's activations beside tract's.
pub fn layer_tensors(net: &Network) -> Vec<Option<String>> {
    build(net, &[], Weights::F32).1
}

fn build(
    net: &Network,
    metadata: &[(String, String)],
    weights: Weights,
) -> (ModelProto, Vec<Option<String>>) {
    let mut tensors = vec![None; net.layers.len()];
    let mut b = Builder {
        graph: GraphProto {
            name: "digits".into(),
            ..Default::default()
        },
        current: INPUT.into(),
        count: 0,
        weights,
    };
    let mut flat = false;
    let mut i = 0;
    while i < net.layers.len() {
        let l = &net.layers[i];
        let (w, bias) = l.split(&net.params);
        let (mut w, mut bias) = (w.to_vec(), bias.to_vec());
        let next_bn = net.layers.get(i + 1).filter(|n| n.op == Op::BatchNorm);
        if matches!(l.op, Op::Conv { .. } | Op::Linear { .. })
            && let Some(bn) = next_bn
        {
            let (gamma, beta) = bn.split(&net.params);
            let c = bn.input.c;
            let st = &net.state[bn.state_at..bn.state_at + 2 * c];
            fold_bn(&mut w, &mut bias, gamma, beta, &st[..c], &st[c..]);
        }
        let folded = next_bn.is_some() && matches!(l.op, Op::Conv { .. } | Op::Linear { .. });
        match l.op {
            Op::Conv { cout, k, pad } => {
                let wn = b.weight(format!("conv{i}.weight"), &[cout, l.input.c, k, k], &w);
                let bn = b.init(format!("conv{i}.bias"), &[cout], &bias);
                let p = pad as i64;
                let attrs = vec![
                    ints("kernel_shape", &[k as i64, k as i64]),
                    ints("pads", &[p, p, p, p]),
                    ints("strides", &[1, 1]),
                ];
                b.node("Conv", vec![wn, bn], attrs);
            }
            Op::Linear { .. } if net.has_doubt() && i + 1 == net.layers.len() => {
                if !flat {
                    b.node("Flatten", vec![], vec![int("axis", 1)]);
                    flat = true;
                }
                doubt_head(&mut b, i, l.input.c, &w, &bias);
            }
            Op::Linear { dout } => {
                if !flat {
                    b.node("Flatten", vec![], vec![int("axis", 1)]);
                    flat = true;
                }
                let wn = b.weight(format!("fc{i}.weight"), &[dout, l.input.c], &w);
                let bn = b.init(format!("fc{i}.bias"), &[dout], &bias);
                b.node("Gemm", vec![wn, bn], vec![int("transB", 1)]);
            }
            Op::BatchNorm => {
                let c = l.input.c;
                let st = &net.state[l.state_at..l.state_at + 2 * c];
                let names = vec![
                    b.init(format!("bn{i}.scale"), &[c], &w),
                    b.init(format!("bn{i}.bias"), &[c], &bias),
                    b.init(format!("bn{i}.mean"), &[c], &st[..c]),
                    b.init(format!("bn{i}.var"), &[c], &st[c..]),
                ];
                b.node("BatchNormalization", names, vec![float("epsilon", BN_EPS)]);
            }
            Op::Relu => b.node("Relu", vec![], vec![]),
            Op::MaxPool { k } => {
                let k = k as i64;
                b.node(
                    "MaxPool",
                    vec![],
                    vec![ints("kernel_shape", &[k, k]), ints("strides", &[k, k])],
                );
            }
            Op::Dropout { .. } => {}
            Op::Flatten => {
                b.node("Flatten", vec![], vec![int("axis", 1)]);
                flat = true;
            }
            Op::Gap => b.node("GlobalAveragePool", vec![], vec![]),
        }
        let done = if folded { i + 1 } else { i };
        // (A doubt head's eleven outputs are no one tensor of the graph.)
        if !(net.has_doubt() && done + 1 == net.layers.len()) {
            tensors[done] = Some(b.current.clone());
        }
        i = done + 1;
    }
    if !flat {
        b.node("Flatten", vec![], vec![int("axis", 1)]);
    }
    // (A layer whose output the graph does not hold, a conv with its batch norm folded in, has
    // no doubt output to read: `doubt_head::attach` refuses it.)
    if let Some(side) = &net.side_doubt
        && let Some(Some(maps)) = tensors.get(side.layer)
    {
        side_doubt(&mut b, maps, &side.head.weights, side.head.bias);
    }
    b.node("Softmax", vec![], vec![int("axis", 1)]);
    // Name the last tensor `probabilities`.
    let last = b.graph.node.last_mut().expect("graph has a softmax");
    last.output = vec![OUTPUT.into()];
    b.graph.input = vec![value_info(
        INPUT,
        &[batch_dim(), dim(1), dim(SIDE as i64), dim(SIDE as i64)],
    )];
    b.graph.output = vec![value_info(OUTPUT, &[batch_dim(), dim(CLASSES as i64)])];
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "digits-train".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(b.graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        ..Default::default()
    };
    (model, tensors)
}

/// The last layer of a network with a doubt output ([`Network::has_doubt`]), `inputs` wide:
/// the ten digits' scores and the doubt as two `Gemm`s of the same features, then the scores
/// times `sigmoid(-doubt)` for the final softmax ([`crate::layers::doubt_probabilities`]).
fn doubt_head(b: &mut Builder, i: usize, inputs: usize, w: &[f32], bias: &[f32]) {
    let features = b.current.clone();
    let (w_digits, w_doubt) = w.split_at(CLASSES * inputs);
    let (b_digits, b_doubt) = bias.split_at(CLASSES);
    let wn = b.weight(format!("fc{i}.weight"), &[CLASSES, inputs], w_digits);
    let bn = b.init(format!("fc{i}.bias"), &[CLASSES], b_digits);
    b.node("Gemm", vec![wn, bn], vec![int("transB", 1)]);
    let scores = b.current.clone();
    b.current = features;
    doubt_row(b, &format!("fc{i}.doubt"), w_doubt, b_doubt, scores);
}

/// A doubt row (`Gemm` of the current tensor to one value, weights and bias named after
/// `name`), then `scores` times `sigmoid(-doubt)`.
fn doubt_row(b: &mut Builder, name: &str, w: &[f32], bias: &[f32], scores: String) {
    let wn = b.weight(format!("{name}.weight"), &[1, w.len()], w);
    let bn = b.init(format!("{name}.bias"), &[1], bias);
    b.node("Gemm", vec![wn, bn], vec![int("transB", 1)]);
    b.node("Neg", vec![], vec![]);
    b.node("Sigmoid", vec![], vec![]);
    let keep = b.current.clone();
    b.current = scores;
    b.node("Mul", vec![keep], vec![]);
}

/// A doubt output beside the network ([`crate::net::SideDoubt`]) reading the tensor `maps`:
/// its `Flatten`, one `Gemm` row, then the scores (the current tensor) times
/// `sigmoid(-doubt)`, as [`doubt_head`] writes them.
fn side_doubt(b: &mut Builder, maps: &str, w: &[f32], bias: f32) {
    let scores = b.current.clone();
    b.current = maps.to_string();
    b.node("Flatten", vec![], vec![int("axis", 1)]);
    doubt_row(b, "doubt", w, &[bias], scores);
}

/// Reads the metadata properties back from ONNX bytes.
pub fn metadata(bytes: &[u8]) -> Result<Vec<(String, String)>, prost::DecodeError> {
    let m = ModelProto::decode(bytes)?;
    Ok(m.metadata_props
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect())
}
