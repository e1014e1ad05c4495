//! The in-browser check's messages between the page and its module workers, decoded in this one
//! place: the page sends each worker a [`Request::Load`] (the compiled module and the model) as
//! soon as the check begins, so that the workers boot while the test set downloads, then a
//! [`Request::Classify`] (its slice of the test images); the worker answers with [`Reply`]s. How
//! the test set is cut into slices is here too. `web/eval-worker.js` knows only the `module`
//! field, to boot the module.

use std::ops::Range;

use digits_core::PIXELS;

/// What the page asks of a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Load the ONNX `model` (the first message; the worker keeps it for what follows).
    Load { model: Vec<u8> },
    /// Classify `images` (28x28 bytes each, 0 = paper) with the loaded model, reporting progress
    /// every `progress_every` images.
    Classify {
        images: Vec<u8>,
        progress_every: usize,
    },
}

/// What a worker says back.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `done` images of its slice are classified.
    Progress { done: usize },
    /// The predicted digit of every image of its slice, in order.
    Done { labels: Vec<u8> },
    /// It could not do its job, and why.
    Failed { message: String },
}

/// The images of a [`Request::Classify`] in groups of `progress_every` (the last may be
/// shorter).
pub fn groups(images: &[u8], progress_every: usize) -> impl Iterator<Item = &[u8]> {
    images.chunks(progress_every.max(1) * PIXELS)
}

impl Request {
    /// The request, if its images are whole 28x28 images.
    pub fn check(self) -> Result<Request, String> {
        if let Request::Classify { images, .. } = &self
            && !images.len().is_multiple_of(PIXELS)
        {
            return Err(format!(
                "the check's request holds {} image bytes, not a whole number of {PIXELS}-pixel images",
                images.len()
            ));
        }
        Ok(self)
    }
}

/// Cuts `total` images into `workers` consecutive slices of nearly equal size, in order.
pub fn slices(total: usize, workers: usize) -> Vec<Range<usize>> {
    let workers = workers.max(1);
    (0..workers)
        .map(|i| i * total / workers..(i + 1) * total / workers)
        .collect()
}

#[cfg(target_arch = "wasm32")]
mod js {
    //! The messages as JavaScript objects (structured-cloned by `postMessage`).
    use js_sys::{Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};

    use super::{Reply, Request};

    fn object(fields: &[(&str, JsValue)]) -> Object {
        let o = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
        o
    }

    fn field(v: &JsValue, key: &str) -> JsValue {
        Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn bytes(v: &JsValue, key: &str) -> Result<Vec<u8>, String> {
        let f = field(v, key);
        if !f.is_instance_of::<Uint8Array>() {
            return Err(format!("the check's message has no byte array `{key}`"));
        }
        Ok(Uint8Array::new(&f).to_vec())
    }

    impl Request {
        /// The message for a worker; `module` is the compiled wasm module it boots (sent with
        /// every message: booting is done once, and a worker may get any message first).
        pub fn to_js(&self, module: &JsValue) -> JsValue {
            match self {
                Request::Load { model } => object(&[
                    ("module", module.clone()),
                    ("type", "load".into()),
                    ("model", Uint8Array::from(&model[..]).into()),
                ]),
                Request::Classify {
                    images,
                    progress_every,
                } => object(&[
                    ("module", module.clone()),
                    ("type", "classify".into()),
                    ("images", Uint8Array::from(&images[..]).into()),
                    ("progressEvery", (*progress_every as f64).into()),
                ]),
            }
            .into()
        }

        pub fn from_js(v: &JsValue) -> Result<Request, String> {
            match field(v, "type").as_string().as_deref() {
                Some("load") => Ok(Request::Load {
                    model: bytes(v, "model")?,
                }),
                Some("classify") => Request::Classify {
                    images: bytes(v, "images")?,
                    progress_every: field(v, "progressEvery").as_f64().unwrap_or(0.0) as usize,
                }
                .check(),
                _ => Err("the check's message is neither `load` nor `classify`".into()),
            }
        }
    }

    impl Reply {
        pub fn to_js(&self) -> JsValue {
            match self {
                Reply::Progress { done } => {
                    object(&[("type", "progress".into()), ("done", (*done as f64).into())])
                }
                Reply::Done { labels } => object(&[
                    ("type", "done".into()),
                    ("labels", Uint8Array::from(&labels[..]).into()),
                ]),
                Reply::Failed { message } => {
                    object(&[("type", "failed".into()), ("message", message.into())])
                }
            }
            .into()
        }

        pub fn from_js(v: &JsValue) -> Reply {
            match field(v, "type").as_string().as_deref() {
                Some("progress") => Reply::Progress {
                    done: field(v, "done").as_f64().unwrap_or(0.0) as usize,
                },
                Some("done") => match bytes(v, "labels") {
                    Ok(labels) => Reply::Done { labels },
                    Err(message) => Reply::Failed { message },
                },
                Some("failed") => Reply::Failed {
                    message: field(v, "message")
                        .as_string()
                        .unwrap_or_else(|| "the worker failed".into()),
                },
                _ => Reply::Failed {
                    message: "the worker sent a message the page does not know".into(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_everything_once_in_order() {
        for (total, workers) in [(10_000, 2), (10_000, 3), (7, 4), (0, 2), (5, 0)] {
            let s = slices(total, workers);
            assert_eq!(s.len(), workers.max(1));
            assert_eq!(s.first().unwrap().start, 0);
            assert_eq!(s.last().unwrap().end, total);
            for w in s.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            let (min, max) = (
                s.iter().map(|r| r.len()).min().unwrap(),
                s.iter().map(|r| r.len()).max().unwrap(),
            );
            assert!(max - min <= 1, "{s:?}");
        }
    }

    #[test]
    fn requests_group_whole_images_and_refuse_partial_ones() {
        let r = Request::Classify {
            images: vec![0; 5 * PIXELS],
            progress_every: 2,
        }
        .check()
        .unwrap();
        let Request::Classify {
            images,
            progress_every,
        } = &r
        else {
            unreachable!()
        };
        let sizes: Vec<usize> = groups(images, *progress_every)
            .map(|g| g.len() / PIXELS)
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        let e = Request::Classify {
            images: vec![0; PIXELS + 1],
            progress_every: 2,
        }
        .check()
        .unwrap_err();
        assert!(e.contains("785 image bytes"), "{e}");
        // A model to load has no images to check.
        let load = Request::Load { model: vec![1, 2] };
        assert_eq!(load.clone().check(), Ok(load));
    }
}
