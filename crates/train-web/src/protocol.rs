//! The messages between the page's training run and its workers, and how they cross
//! `postMessage`: plain objects whose large arrays are typed arrays, moved (transferred), not
//! copied, where the sender has no further use for them.
//!
//! ```text
//! page -> worker   {kind: "data", arch, images, labels, testImages, testLabels}  -> {kind: "ready"}
//!                  {kind: "step", params, jobs: [{shard, idx, seed, step, scale}]} -> {kind: "shards", results}
//!                  {kind: "classify", params, state, set: "validation"|"test", start, end} -> {kind: "labels", labels}
//! worker -> page   {kind: "failed", message} in place of any answer
//! ```

use digits_train::train::ShardResult;
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array, Uint32Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// One shard of a step, as the worker needs it (the augmentation and label smoothing are the
/// trainer's defaults, [`crate::settings::Settings::config`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub shard: usize,
    pub idx: Vec<u32>,
    pub seed: u64,
    pub step: u64,
    pub scale: f32,
}

/// Which held-out images to classify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Set {
    Validation,
    Test,
}

pub enum Request {
    Data {
        arch: String,
        images: Vec<u8>,
        labels: Vec<u8>,
        test_images: Vec<u8>,
        test_labels: Vec<u8>,
    },
    Step {
        params: Vec<f32>,
        jobs: Vec<Job>,
    },
    Classify {
        params: Vec<f32>,
        state: Vec<f32>,
        set: Set,
        start: usize,
        end: usize,
    },
}

pub enum Reply {
    Ready,
    Shards(Vec<(usize, ShardResult)>),
    Labels(Vec<u8>),
    Failed(String),
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &key.into(), value);
}

fn get(obj: &JsValue, key: &str) -> Result<JsValue, String> {
    let v = Reflect::get(obj, &key.into()).map_err(|_| format!("no field '{key}'"))?;
    if v.is_undefined() {
        return Err(format!("a message without '{key}'"));
    }
    Ok(v)
}

fn number(obj: &JsValue, key: &str) -> Result<f64, String> {
    get(obj, key)?
        .as_f64()
        .ok_or_else(|| format!("'{key}' is not a number"))
}

fn bytes(obj: &JsValue, key: &str) -> Result<Vec<u8>, String> {
    get(obj, key)?
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("'{key}' is not a Uint8Array"))
}

fn floats(obj: &JsValue, key: &str) -> Result<Vec<f32>, String> {
    get(obj, key)?
        .dyn_into::<Float32Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("'{key}' is not a Float32Array"))
}

/// A message and the buffers it hands over.
pub struct Outgoing {
    pub message: JsValue,
    pub transfer: Array,
}

/// An empty message of `kind`, and its (empty) transfer list.
fn empty(kind: &str) -> (Object, Array) {
    let obj = Object::new();
    set(&obj, "kind", &kind.into());
    (obj, Array::new())
}

/// A typed array of `data`, its buffer listed for transfer.
fn moved_f32(data: &[f32], transfer: &Array) -> JsValue {
    let a = Float32Array::from(data);
    transfer.push(&a.buffer());
    a.into()
}

fn moved_u8(data: &[u8], transfer: &Array) -> JsValue {
    let a = Uint8Array::from(data);
    transfer.push(&a.buffer());
    a.into()
}

impl Request {
    pub fn to_js(&self) -> Outgoing {
        let (obj, transfer) = match self {
            Request::Data {
                arch,
                images,
                labels,
                test_images,
                test_labels,
            } => {
                let (obj, t) = empty("data");
                set(&obj, "arch", &arch.into());
                set(&obj, "images", &moved_u8(images, &t));
                set(&obj, "labels", &moved_u8(labels, &t));
                set(&obj, "testImages", &moved_u8(test_images, &t));
                set(&obj, "testLabels", &moved_u8(test_labels, &t));
                (obj, t)
            }
            Request::Step { params, jobs } => {
                let (obj, t) = empty("step");
                set(&obj, "params", &moved_f32(params, &t));
                let list = Array::new();
                for j in jobs {
                    let o = Object::new();
                    set(&o, "shard", &(j.shard as f64).into());
                    let idx = Uint32Array::from(j.idx.as_slice());
                    t.push(&idx.buffer());
                    set(&o, "idx", &idx.into());
                    // Seeds are 64-bit: as text, exactly.
                    set(&o, "seed", &j.seed.to_string().into());
                    set(&o, "step", &(j.step as f64).into());
                    set(&o, "scale", &(j.scale as f64).into());
                    list.push(&o);
                }
                set(&obj, "jobs", &list);
                (obj, t)
            }
            Request::Classify {
                params,
                state,
                set: which,
                start,
                end,
            } => {
                let (obj, t) = empty("classify");
                set(&obj, "params", &moved_f32(params, &t));
                set(&obj, "state", &moved_f32(state, &t));
                let name = match which {
                    Set::Validation => "validation",
                    Set::Test => "test",
                };
                set(&obj, "set", &name.into());
                set(&obj, "start", &(*start as f64).into());
                set(&obj, "end", &(*end as f64).into());
                (obj, t)
            }
        };
        Outgoing {
            message: obj.into(),
            transfer,
        }
    }

    pub fn from_js(msg: &JsValue) -> Result<Request, String> {
        let kind = get(msg, "kind")?.as_string().unwrap_or_default();
        match kind.as_str() {
            "data" => Ok(Request::Data {
                arch: get(msg, "arch")?.as_string().ok_or("'arch' is not text")?,
                images: bytes(msg, "images")?,
                labels: bytes(msg, "labels")?,
                test_images: bytes(msg, "testImages")?,
                test_labels: bytes(msg, "testLabels")?,
            }),
            "step" => {
                let list: Array = get(msg, "jobs")?
                    .dyn_into()
                    .map_err(|_| "'jobs' is not an array")?;
                let mut jobs = Vec::with_capacity(list.length() as usize);
                for o in list.iter() {
                    let idx: Uint32Array = get(&o, "idx")?
                        .dyn_into()
                        .map_err(|_| "'idx' is not a Uint32Array")?;
                    jobs.push(Job {
                        shard: number(&o, "shard")? as usize,
                        idx: idx.to_vec(),
                        seed: get(&o, "seed")?
                            .as_string()
                            .and_then(|s| s.parse().ok())
                            .ok_or("'seed' is not a whole number")?,
                        step: number(&o, "step")? as u64,
                        scale: number(&o, "scale")? as f32,
                    });
                }
                Ok(Request::Step {
                    params: floats(msg, "params")?,
                    jobs,
                })
            }
            "classify" => Ok(Request::Classify {
                params: floats(msg, "params")?,
                state: floats(msg, "state")?,
                set: match get(msg, "set")?.as_string().as_deref() {
                    Some("validation") => Set::Validation,
                    Some("test") => Set::Test,
                    _ => return Err("'set' is neither validation nor test".into()),
                },
                start: number(msg, "start")? as usize,
                end: number(msg, "end")? as usize,
            }),
            other => Err(format!("unknown message kind '{other}'")),
        }
    }
}

impl Reply {
    pub fn to_js(&self) -> Outgoing {
        let (obj, transfer) = match self {
            Reply::Ready => empty("ready"),
            Reply::Shards(results) => {
                let (obj, t) = empty("shards");
                let list = Array::new();
                for (shard, r) in results {
                    let o = Object::new();
                    set(&o, "shard", &(*shard as f64).into());
                    set(&o, "grads", &moved_f32(&r.grads, &t));
                    set(&o, "bn", &moved_f32(&r.bn, &t));
                    set(&o, "loss", &r.loss.into());
                    set(&o, "correct", &(r.correct as f64).into());
                    list.push(&o);
                }
                set(&obj, "results", &list);
                (obj, t)
            }
            Reply::Labels(labels) => {
                let (obj, t) = empty("labels");
                set(&obj, "labels", &moved_u8(labels, &t));
                (obj, t)
            }
            Reply::Failed(message) => {
                let (obj, t) = empty("failed");
                set(&obj, "message", &message.into());
                (obj, t)
            }
        };
        Outgoing {
            message: obj.into(),
            transfer,
        }
    }

    pub fn from_js(msg: &JsValue) -> Result<Reply, String> {
        let kind = get(msg, "kind")?.as_string().unwrap_or_default();
        match kind.as_str() {
            "ready" => Ok(Reply::Ready),
            "shards" => {
                let list: Array = get(msg, "results")?
                    .dyn_into()
                    .map_err(|_| "'results' is not an array")?;
                list.iter()
                    .map(|o| {
                        Ok((
                            number(&o, "shard")? as usize,
                            ShardResult {
                                grads: floats(&o, "grads")?,
                                bn: floats(&o, "bn")?,
                                loss: number(&o, "loss")?,
                                correct: number(&o, "correct")? as usize,
                            },
                        ))
                    })
                    .collect::<Result<_, String>>()
                    .map(Reply::Shards)
            }
            "labels" => Ok(Reply::Labels(bytes(msg, "labels")?)),
            "failed" => Ok(Reply::Failed(
                get(msg, "message")?.as_string().unwrap_or_default(),
            )),
            other => Err(format!("unknown reply kind '{other}'")),
        }
    }
}
