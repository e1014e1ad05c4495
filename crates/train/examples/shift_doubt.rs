//! A copy of a model file with its "not one digit" output's bias moved by DELTA (the doubt
//! output beside the network, or an `fc11`'s eleventh row), to choose `doubt_head::OFFSET` on
//! numbers of the held-out training digits without fitting again:
//!
//! ```sh
//! cargo run --release -p digits-train --example shift_doubt -- web/assets/model.onnx m.onnx -1
//! cargo run --release -p digits-train --example tune_numbers -- drawn 4000 --model m.onnx
//! ```
//!
//! The copy is written as the importer reads the file back (batch norm folded, float16 weights
//! as the shipped file has them), with the file's metadata.
use anyhow::{Context, Result, bail};
use digits_train::export::{self, Weights};
use digits_train::import;
use digits_train::net::CLASSES;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, delta] = args.as_slice() else {
        bail!("usage: shift_doubt IN.onnx OUT.onnx DELTA");
    };
    let delta: f32 = delta.parse().context("DELTA: a number")?;
    let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let mut net = import::from_onnx(&bytes, input)?;
    if let Some(side) = net.side_doubt.as_mut() {
        side.head.bias += delta;
    } else if net.has_doubt() {
        let last = net
            .layers
            .last()
            .expect("a network with a doubt has layers")
            .clone();
        let (_, bias) = last.split_mut(&mut net.params);
        bias[CLASSES] += delta;
    } else {
        bail!("{input} has no \"not one digit\" output");
    }
    let meta = export::metadata(&bytes)?;
    std::fs::write(output, export::to_onnx(&net, &meta, Weights::F16))
        .with_context(|| format!("writing {output}"))?;
    Ok(())
}
