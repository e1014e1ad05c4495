//! Fits the "not one digit" output of `digits train --doubt-head` again onto a model file's
//! network, without training it again (ten minutes): for measuring the fit and its offset.
//! The file's own doubt output, if any (beside the network, or an `fc11`'s eleventh row), is
//! dropped first. The network is the file's as the importer reads it (batch norm folded into
//! the convolutions), so its features equal the trained network's to float rounding.
//!
//! ```sh
//! cargo run --release -p digits-train --example refit_doubt -- web/assets/model.onnx refit.onnx
//! cargo run --release -p digits-train -- eval --numbers --model refit.onnx
//! ```
use anyhow::{Context, Result, bail};
use digits_core::idx::{self, Split};
use digits_train::export::{self, Weights};
use digits_train::net::{CLASSES, Network};
use digits_train::spec::Op;
use digits_train::{doubt_head, import, traces};
use std::path::Path;

/// `net` without its doubt output: ten scores from its last layer, nothing beside it.
fn plain(net: &Network) -> Result<Network> {
    let mut net = net.clone();
    net.side_doubt = None;
    if !net.has_doubt() {
        return Ok(net);
    }
    let spec = net
        .spec
        .replace(&format!("fc{}", CLASSES + 1), &format!("fc{CLASSES}"));
    let mut out = Network::new(&spec, 0)?;
    out.state.copy_from_slice(&net.state);
    for (to, from) in out.layers.clone().iter().zip(&net.layers) {
        let (w, b) = from.split(&net.params);
        let (tw, tb) = to.split_mut(&mut out.params);
        tw.copy_from_slice(&w[..tw.len()]);
        tb.copy_from_slice(&b[..tb.len()]);
    }
    if out.layers.last().map(|l| l.op) != Some(Op::Linear { dout: CLASSES }) {
        bail!("{spec}: not a network ending with ten scores");
    }
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: refit_doubt IN.onnx OUT.onnx");
    };
    let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let net = plain(&import::from_onnx(&bytes, input)?)?;
    let data = Path::new("data/mnist");
    let train = idx::load_split(data, Split::Train)?;
    let tr = traces::load_or_trace(data, &train.images.pixels, 2)?;
    // The seed of the shipped command (`digits train`'s default).
    let seed = 1;
    let net = doubt_head::fit_on_training(&net, &train, &tr, seed, 2)?;
    let meta = export::metadata(&bytes)?;
    std::fs::write(output, export::to_onnx(&net, &meta, Weights::F16))
        .with_context(|| format!("writing {output}"))?;
    Ok(())
}
