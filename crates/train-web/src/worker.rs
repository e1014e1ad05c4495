//! A training worker: `train-worker.js` boots this module in a Web Worker and hands every
//! message to [`on_message`]. The worker keeps the data and one workspace; each step it gets
//! the current weights and its shards, and sends back their gradients, computed by the
//! trainer's own [`digits_train::train::shard`] (the code that made the shipped model).

use std::cell::RefCell;

use digits_core::idx::{Images, Labelled};
use digits_core::input::to_input_into;
use digits_core::metrics::argmax;
use digits_train::augment::Augment;
use digits_train::net::{Mode, Network, Workspace};
use digits_train::rng::Rng;
use digits_train::train::{SHARD, ShardJob, shard};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

use crate::protocol::{Reply, Request, Set};
use crate::settings::{SMOOTHING, VALIDATION};

struct State {
    train: Labelled,
    test: Labelled,
    net: Network,
    ws: Workspace,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Answers one message from the page (a [`Request`]) with one [`Reply`].
#[wasm_bindgen]
pub fn on_message(message: JsValue) {
    let reply = Request::from_js(&message)
        .and_then(answer)
        .unwrap_or_else(Reply::Failed);
    let out = reply.to_js();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    if let Err(e) = scope.post_message_with_transfer(&out.message, &out.transfer) {
        web_sys::console::error_2(&"a training worker could not answer".into(), &e);
    }
}

fn labelled(pixels: Vec<u8>, labels: Vec<u8>, what: &str) -> Result<Labelled, String> {
    let count = labels.len();
    if pixels.len() != count * digits_core::PIXELS {
        return Err(format!(
            "{what}: {} pixels for {count} labels",
            pixels.len()
        ));
    }
    Ok(Labelled {
        images: Images {
            count,
            rows: digits_core::SIDE,
            cols: digits_core::SIDE,
            pixels,
        },
        labels,
    })
}

fn answer(request: Request) -> Result<Reply, String> {
    match request {
        Request::Data {
            arch,
            images,
            labels,
            test_images,
            test_labels,
        } => {
            let net = Network::new(&arch, 0).map_err(|e| e.to_string())?;
            let ws = Workspace::new(&net, SHARD);
            let state = State {
                train: labelled(images, labels, "training set")?,
                test: labelled(test_images, test_labels, "test set")?,
                net,
                ws,
            };
            STATE.with(|s| *s.borrow_mut() = Some(state));
            Ok(Reply::Ready)
        }
        Request::Step { params, jobs } => with_state(|st| {
            if params.len() != st.net.params.len() {
                return Err("the weights are for another network".into());
            }
            st.net.params = params;
            let augment = Augment::DEFAULT;
            let mut results = Vec::with_capacity(jobs.len());
            for j in &jobs {
                if j.idx.iter().any(|&i| i as usize >= st.train.len()) || j.idx.len() > SHARD {
                    return Err(format!("shard {}: images out of range", j.shard));
                }
                let job = ShardJob {
                    idx: &j.idx,
                    augment: &augment,
                    pen: None,
                    smoothing: SMOOTHING,
                    seed: j.seed,
                    step: j.step,
                    shard: j.shard,
                    scale: j.scale,
                };
                results.push((j.shard, shard(&mut st.ws, &st.net, &st.train, &job)));
            }
            Ok(Reply::Shards(results))
        }),
        Request::Classify {
            params,
            state,
            set,
            start,
            end,
        } => with_state(|st| {
            if params.len() != st.net.params.len() || state.len() != st.net.state.len() {
                return Err("the weights are for another network".into());
            }
            st.net.params = params;
            st.net.state = state;
            let (data, offset) = match set {
                Set::Validation => (&st.train, st.train.len().saturating_sub(VALIDATION)),
                Set::Test => (&st.test, 0),
            };
            let (a, b) = (offset + start, offset + end);
            if a > b || b > data.len() {
                return Err(format!("images {a}..{b} out of range"));
            }
            let pixels = &data.images.pixels[a * digits_core::PIXELS..b * digits_core::PIXELS];
            let mut labels = Vec::with_capacity(b - a);
            for group in pixels.chunks(SHARD * digits_core::PIXELS) {
                let n = group.len() / digits_core::PIXELS;
                to_input_into(group, st.ws.input_mut(n));
                st.ws.forward(&st.net, Mode::Eval, &mut Rng::new(0));
                labels.extend(st.ws.digit_logits().map(|l| argmax(l).unwrap_or(0) as u8));
            }
            Ok(Reply::Labels(labels))
        }),
    }
}

fn with_state(f: impl FnOnce(&mut State) -> Result<Reply, String>) -> Result<Reply, String> {
    STATE.with(|s| match s.borrow_mut().as_mut() {
        Some(st) => f(st),
        None => Err("the worker has no data yet".into()),
    })
}
