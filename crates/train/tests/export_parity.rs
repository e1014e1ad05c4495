//! The exported ONNX file gives the trainer's own outputs under tract.

mod common;

use digits_core::idx::Labelled;
use digits_core::model::Model;
use digits_core::{CLASSES, PIXELS};
use digits_train::export::{self, Weights};
use digits_train::net::{Mode, Network, Workspace};
use digits_train::rng::Rng;
use digits_train::spec::Op;
use digits_train::train;

fn max_diff(net: &Network, images: &[f32]) -> f32 {
    let bytes = export::to_onnx(net, &[("k".into(), "v".into())], Weights::F32);
    let model = Model::from_bytes(&bytes, "exported").unwrap();
    common::tract_difference(net, &model, images)
}

/// `arch` trained for one epoch on `data` (so batch-norm statistics are real).
fn briefly_trained(arch: &str, data: &Labelled) -> Network {
    let cfg = common::config(arch, 1, 2);
    train::train(
        &cfg,
        data,
        None,
        &Labelled::default(),
        &Labelled::default(),
        |_| {},
    )
    .unwrap()
    .net
}

/// Briefly trained networks (so batch-norm statistics are real) covering every layer type:
/// folded and stand-alone batch norm, padding, 1x1 convs, dropout, flatten and gap.
#[test]
fn tract_matches_trainer_on_200_test_images() {
    let data = common::train_set().slice(0..640);
    let test = common::test_set().slice(0..200);
    for arch in [
        digits_train::DEFAULT_ARCH,
        "conv8k3,relu,bn,conv8k1p0,bn,relu,maxpool2,drop0.25,flatten,fc32,bn,relu,drop0.5,fc10",
        "conv8k5p2,relu,maxpool3,conv10k1,gap",
        digits_train::MLP_ARCH,
    ] {
        let net = briefly_trained(arch, &data);
        let d = max_diff(&net, &test.inputs());
        assert!(d < 1e-5, "{arch}: max abs difference {d}");
        layers_match(&net, &test.inputs()[..3 * PIXELS], arch);
    }
}

/// A doubt output beside the network (`digits train --doubt-head`), reading the maps before
/// pooling: tract runs the exported graph's branch as the trainer computes it.
#[test]
fn a_doubt_output_beside_the_network_runs_alike_under_tract() {
    use digits_train::doubt_head::{Head, attach, maps_layer};
    let data = common::train_set().slice(0..640);
    let test = common::test_set().slice(0..200);
    let plain = briefly_trained(digits_train::DEFAULT_ARCH, &data);
    let layer = maps_layer(&plain).unwrap();
    let mut rng = Rng::new(4);
    let head = Head {
        weights: (0..plain.layers[layer].output.size())
            .map(|_| 0.02 * rng.normal())
            .collect(),
        bias: -1.0,
    };
    let net = attach(&plain, &head, layer).unwrap();
    assert_ne!(net.predict(&test.inputs()), plain.predict(&test.inputs()));
    let d = max_diff(&net, &test.inputs());
    assert!(d < 1e-5, "max abs difference {d}");
}

/// What the page shows of every layer ([`Model::layers`], the exported graph's inner tensors
/// run by tract) equals the trainer's own forward pass, layer by layer, within 1e-5.
fn layers_match(net: &Network, images: &[f32], arch: &str) {
    let bytes = export::to_onnx(net, &[], Weights::F32);
    let model = Model::from_bytes_with_layers(&bytes, "exported").unwrap();
    let tensors = export::layer_tensors(net);
    let mut ws = Workspace::new(net, 1);
    for image in images.chunks(PIXELS) {
        ws.input_mut(1).copy_from_slice(image);
        ws.forward(net, Mode::Eval, &mut Rng::new(0));
        let views = model.layers(image).unwrap();
        let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
        // The input, every activation and pooling layer, the scores and the probabilities.
        let shown = net
            .layers
            .iter()
            .filter(|l| matches!(l.op, Op::Relu | Op::MaxPool { .. } | Op::Gap))
            .count();
        assert_eq!(views.len(), shown + 3, "{arch}: {names:?}");
        assert_eq!(views[0].name, "image");
        assert_eq!(views[0].values, image);
        let mut probs = vec![0.0; CLASSES];
        digits_train::layers::softmax(1, CLASSES, ws.logits(), &mut probs);
        for view in &views[1..] {
            let theirs = match tensors
                .iter()
                .position(|t| t.as_deref() == Some(&view.name))
            {
                Some(i) => {
                    let l = &net.layers[i];
                    let shape = (l.output.c, l.output.h, l.output.w);
                    assert_eq!((view.channels, view.height, view.width), shape, "{arch}");
                    ws.activation(i)
                }
                None if view.op == "Softmax" => &probs,
                // The scores: a `Gemm`'s output, or a `Flatten` after a gap.
                None => ws.logits(),
            };
            let d = view
                .values
                .iter()
                .zip(theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert_eq!(view.values.len(), theirs.len(), "{arch}: {}", view.name);
            assert!(
                d < 1e-5,
                "{arch}: {} ({}) differs by {d}",
                view.name,
                view.op
            );
        }
        assert_eq!(views.last().unwrap().name, "probabilities");
        assert_eq!(views[views.len() - 2].channels, CLASSES);
    }
}

#[test]
fn pytorch_example_network_exports() {
    let net = Network::new(digits_train::PYTORCH_ARCH, 1).unwrap();
    let test = common::test_set().slice(0..20);
    let d = max_diff(&net, &test.inputs());
    assert!(d < 1e-5, "max abs difference {d}");
}

#[test]
fn graph_is_standard_onnx_with_metadata() {
    use digits_core::onnx_pb::ModelProto;
    use prost::Message;
    let net = Network::new(digits_train::DEFAULT_ARCH, 1).unwrap();
    let bytes = export::to_onnx(&net, &[("dataset".into(), "mnist".into())], Weights::F16);
    let m = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(m.opset_import[0].version, 13);
    assert!(m.opset_import[0].domain.is_empty());
    let g = m.graph.unwrap();
    assert_eq!(g.input.len(), 1);
    assert_eq!(g.input[0].name, "image");
    assert_eq!(g.output[0].name, "probabilities");
    let standard = [
        "Conv",
        "Relu",
        "MaxPool",
        "Gemm",
        "Flatten",
        "GlobalAveragePool",
        "Softmax",
        "BatchNormalization",
        "Cast",
    ];
    for n in &g.node {
        assert!(standard.contains(&n.op_type.as_str()), "{}", n.op_type);
        assert!(n.domain.is_empty());
    }
    // Batch norm after conv is folded away.
    assert!(g.node.iter().all(|n| n.op_type != "BatchNormalization"));
    assert_eq!(g.node.last().unwrap().op_type, "Softmax");
    assert_eq!(
        export::metadata(&bytes).unwrap(),
        vec![("dataset".to_string(), "mnist".to_string())]
    );
    // Any batch size.
    let model = Model::from_bytes(&bytes, "m").unwrap();
    for n in [1, 3, 17] {
        assert_eq!(model.predict(&vec![0.3; n * 784]).unwrap().len(), n);
    }
}

/// With float16 weights the file is about half as large, every weight is its float32 value
/// rounded to float16, and the answers stay those of the float32 file within float16's rounding.
#[test]
fn f16_weights_are_the_f32_ones_rounded_and_answer_alike() {
    use digits_core::onnx_pb::{ModelProto, TensorProto, tensor_proto::DataType};
    use half::f16;
    use prost::Message;
    let data = common::train_set().slice(0..640);
    let test = common::test_set().slice(0..200);
    let cfg = common::config(digits_train::DEFAULT_ARCH, 1, 2);
    let empty = Labelled::default();
    let net = train::train(&cfg, &data, None, &empty, &empty, |_| {})
        .unwrap()
        .net;
    let full = export::to_onnx(&net, &[], Weights::F32);
    let half = export::to_onnx(&net, &[], Weights::F16);
    assert!(
        half.len() * 10 < full.len() * 6,
        "{} vs {} bytes",
        half.len(),
        full.len()
    );

    let initializers = |bytes: &[u8]| {
        ModelProto::decode(bytes)
            .unwrap()
            .graph
            .unwrap()
            .initializer
    };
    let floats = |t: &TensorProto| -> Vec<f32> {
        match DataType::try_from(t.data_type).unwrap() {
            DataType::Float => t
                .raw_data
                .chunks(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            DataType::Float16 => t
                .raw_data
                .chunks(2)
                .map(|b| f16::from_le_bytes(b.try_into().unwrap()).to_f32())
                .collect(),
            other => panic!("{}: {other:?}", t.name),
        }
    };
    let (full_init, half_init) = (initializers(&full), initializers(&half));
    let mut weights = 0;
    for f in &full_init {
        let h = half_init
            .iter()
            .find(|h| h.name == f.name || h.name == format!("{}.f16", f.name))
            .unwrap_or_else(|| panic!("{} is missing", f.name));
        let stored_half = h.data_type == DataType::Float16 as i32;
        assert_eq!(stored_half, f.name.ends_with(".weight"), "{}", h.name);
        weights += usize::from(stored_half);
        let rounded: Vec<f32> = floats(f)
            .iter()
            .map(|&v| {
                if stored_half {
                    f16::from_f32(v).to_f32()
                } else {
                    v
                }
            })
            .collect();
        assert_eq!(rounded, floats(h), "{}", h.name);
    }
    assert_eq!(weights, 5, "four convs and one fully connected layer");

    let run = |bytes: &[u8]| {
        Model::from_bytes(bytes, "exported")
            .unwrap()
            .predict(&test.inputs())
            .unwrap()
    };
    let (a, b) = (run(&full), run(&half));
    let worst = a
        .iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(worst < 5e-3, "max abs difference {worst}");
}
