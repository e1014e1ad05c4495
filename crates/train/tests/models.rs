//! Models that are valid ONNX but not what the page and the command line expect, each run
//! through `digits eval` / `digits predict` as a user would: a clear error naming what is wrong,
//! or the right answer (issue 11).

mod common;

use common::{digits, fails_with, root, tmp};

use std::path::Path;
use std::process::Output;

use digits_core::onnx_pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto::Dimension, tensor_shape_proto::dimension,
    type_proto,
};
use prost::Message;

fn shipped() -> ModelProto {
    let bytes = std::fs::read(root().join("web/assets/model.onnx")).unwrap();
    ModelProto::decode(&bytes[..]).unwrap()
}

fn dim(v: i64) -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimValue(v)),
        ..Default::default()
    }
}

fn batch() -> Dimension {
    Dimension {
        value: Some(dimension::Value::DimParam("N".into())),
        ..Default::default()
    }
}

fn value_info(name: &str, elem: DataType, dims: Vec<Dimension>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: output.into(),
        op_type: op.into(),
        attribute,
        ..Default::default()
    }
}

fn axis(v: i64) -> AttributeProto {
    AttributeProto {
        name: "axis".into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn model(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 7,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// image `[N, c, side, side]` -> GlobalAveragePool -> Flatten -> Gemm to `classes` -> Softmax:
/// a valid model of a few hundred bytes.
fn tiny(c: i64, side: i64, classes: i64) -> ModelProto {
    let weights = TensorProto {
        name: "w".into(),
        dims: vec![c, classes],
        data_type: DataType::Float as i32,
        raw_data: (0..c * classes)
            .flat_map(|i| (i as f32 * 0.1).to_le_bytes())
            .collect(),
        ..Default::default()
    };
    model(GraphProto {
        name: "tiny".into(),
        node: vec![
            node("GlobalAveragePool", &["image"], "pooled", vec![]),
            node("Flatten", &["pooled"], "flat", vec![axis(1)]),
            node("Gemm", &["flat", "w"], "scores", vec![]),
            node("Softmax", &["scores"], "probabilities", vec![axis(1)]),
        ],
        initializer: vec![weights],
        input: vec![value_info(
            "image",
            DataType::Float,
            vec![batch(), dim(c), dim(side), dim(side)],
        )],
        output: vec![value_info(
            "probabilities",
            DataType::Float,
            vec![batch(), dim(classes)],
        )],
        ..Default::default()
    })
}

/// The page's end-to-end tests load these instead of the shipped model
/// (tests/e2e/fixtures/). Set DIGITS_WRITE_FIXTURES=1 to write them after changing the builder.
#[test]
fn the_e2e_fixture_models_are_what_the_builder_makes() {
    let dir = root().join("tests/e2e/fixtures");
    for (name, m) in [
        ("colour-32x32.onnx", tiny(3, 32, 10)),
        ("five-outputs.onnx", tiny(1, 28, 5)),
    ] {
        let bytes = m.encode_to_vec();
        let path = dir.join(name);
        if std::env::var_os("DIGITS_WRITE_FIXTURES").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{}: stale; run with DIGITS_WRITE_FIXTURES=1",
            path.display()
        );
        // And the command line says what the page must say.
        let expected = if name.starts_with("colour") {
            "expected [N,1,28,28]"
        } else {
            "expected [1, 10]"
        };
        fails_with(&eval(path.to_str().unwrap()), expected);
    }
}

fn write(dir: &Path, name: &str, m: &ModelProto) -> String {
    let path = dir.join(name);
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    path.to_str().unwrap().to_string()
}

fn eval(model: &str) -> Output {
    let data = common::data_dir();
    digits(&[
        "eval",
        "--json",
        "--model",
        model,
        "--data",
        data.to_str().unwrap(),
    ])
}

/// The shipped model's test accuracy, from its report.
fn shipped_accuracy() -> f64 {
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("web/assets/model.report.json")).unwrap(),
    )
    .unwrap();
    report["accuracy"].as_f64().unwrap()
}

fn accuracy(out: &Output) -> f64 {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["accuracy"].as_f64().unwrap()
}

#[test]
fn a_model_without_softmax_gets_one_and_says_so() {
    let dir = tmp("models-logits");
    let mut m = shipped();
    let graph = m.graph.as_mut().unwrap();
    let softmax = graph.node.pop().unwrap();
    assert_eq!(softmax.op_type, "Softmax");
    graph.output[0].name = softmax.input[0].clone();
    let logits = write(&dir, "logits.onnx", &m);
    let out = eval(&logits);
    assert!((accuracy(&out) - shipped_accuracy()).abs() < 1e-9);
    assert!(String::from_utf8_lossy(&out.stderr).contains("softmax is applied"));
    // `predict` shows a probability, never "7 (1515.7%)".
    let png = root().join("web/assets/icon-192.png");
    let out = digits(&[
        "predict",
        "--json",
        "--model",
        &logits,
        png.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p: Vec<f64> = v["probabilities"]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap()).collect())
        .unwrap_or_default();
    if !p.is_empty() {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{p:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_model_made_for_one_image_at_a_time_evaluates() {
    let dir = tmp("models-batch1");
    let mut m = shipped();
    let graph = m.graph.as_mut().unwrap();
    for io in graph.input.iter_mut().chain(graph.output.iter_mut()) {
        if let Some(type_proto::Value::TensorType(t)) =
            io.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            t.shape.as_mut().unwrap().dim[0] = dim(1);
        }
    }
    let one = write(&dir, "one.onnx", &m);
    assert!((accuracy(&eval(&one)) - shipped_accuracy()).abs() < 1e-9);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_model_that_asks_for_an_absurd_tensor_is_an_error_not_a_crash() {
    let dir = tmp("models-huge");
    let shape = TensorProto {
        name: "shape".into(),
        dims: vec![2],
        data_type: DataType::Int64 as i32,
        int64_data: vec![100_000, 100_000],
        ..Default::default()
    };
    let m = model(GraphProto {
        name: "huge".into(),
        node: vec![node("ConstantOfShape", &["shape"], "probabilities", vec![])],
        initializer: vec![shape],
        input: vec![value_info(
            "image",
            DataType::Float,
            vec![batch(), dim(1), dim(28), dim(28)],
        )],
        output: vec![value_info(
            "probabilities",
            DataType::Float,
            vec![dim(100_000), dim(100_000)],
        )],
        ..Default::default()
    });
    let huge = write(&dir, "huge.onnx", &m);
    let out = eval(&huge);
    fails_with(
        &out,
        "huge.onnx: not a usable ONNX digit model: tract failed on this model",
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    std::fs::remove_dir_all(dir).unwrap();
}
