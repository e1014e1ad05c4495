//! The page's side of the parallel check: splits the test set across module workers
//! (`eval-worker.js`, one per core, at most [`MAX_WORKERS`]), each running this same wasm module
//! (sent already compiled) with the page's model, and gathers their answers in order.

use std::cell::RefCell;
use std::rc::Rc;

use digits_core::PIXELS;
use digits_core::idx::Labelled;
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::app::{js_error, model_bytes};

/// Relative to the page, like every other file of the site.
const WORKER_URL: &str = "eval-worker.js";
const MAX_WORKERS: usize = 4;
/// Images between two progress messages of a worker.
const PROGRESS_EVERY: u32 = 500;

/// A worker's message and error callbacks, which must live as long as it works.
type Callbacks = (
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(web_sys::Event)>,
);

/// One worker and its answer to come.
struct Job {
    worker: Worker,
    answer: Promise,
    _callbacks: Callbacks,
}

/// How many workers to use: one per core the browser reports, at most [`MAX_WORKERS`].
pub fn worker_count() -> usize {
    web_sys::window().map_or(1, |w| {
        (w.navigator().hardware_concurrency() as usize).clamp(1, MAX_WORKERS)
    })
}

/// Classifies every image of `test` in `workers` workers; `progress(done)` follows the total.
/// Errors (no worker support, a worker that fails to start or to load the model) are returned
/// for the caller to fall back to the main thread.
pub async fn classify(
    test: &Labelled,
    workers: usize,
    progress: impl Fn(usize) + 'static,
) -> Result<Vec<u8>, String> {
    let model = model_bytes().ok_or("the model is not loaded")?;
    let total = test.len();
    let progress = Rc::new(progress);
    let done = Rc::new(RefCell::new(vec![0usize; workers]));
    let mut jobs = Vec::with_capacity(workers);
    for i in 0..workers {
        let (start, end) = (i * total / workers, (i + 1) * total / workers);
        let job = start_job(
            i,
            &model,
            &test.images.pixels[start * PIXELS..end * PIXELS],
            done.clone(),
            progress.clone(),
        );
        match job {
            Ok(job) => jobs.push(job),
            Err(e) => {
                jobs.iter().for_each(|j| j.worker.terminate());
                return Err(e);
            }
        }
    }
    let mut predicted = Vec::with_capacity(total);
    let mut failure = None;
    for job in &jobs {
        match JsFuture::from(job.answer.clone()).await {
            Ok(labels) => predicted.extend(Uint8Array::new(&labels).to_vec()),
            Err(e) => {
                failure = Some(js_error(&e));
                break;
            }
        }
    }
    jobs.iter().for_each(|j| j.worker.terminate());
    match failure {
        Some(e) => Err(e),
        None if predicted.len() != total => Err(format!(
            "the workers answered for {} of {total} images",
            predicted.len()
        )),
        None => Ok(predicted),
    }
}

fn start_job(
    index: usize,
    model: &[u8],
    pixels: &[u8],
    done: Rc<RefCell<Vec<usize>>>,
    progress: Rc<dyn Fn(usize)>,
) -> Result<Job, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(WORKER_URL, &options).map_err(|e| js_error(&e))?;
    let mut callbacks = None;
    let answer = Promise::new(&mut |resolve, reject| {
        let fail = reject.clone();
        let (done, progress) = (done.clone(), progress.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            let field = |k: &str| Reflect::get(&data, &k.into()).unwrap_or(JsValue::UNDEFINED);
            match field("type").as_string().as_deref() {
                Some("progress") => {
                    done.borrow_mut()[index] = field("done").as_f64().unwrap_or(0.0) as usize;
                    let sum = done.borrow().iter().sum();
                    progress(sum);
                }
                Some("done") => {
                    let _ = resolve.call1(&JsValue::NULL, &field("labels"));
                }
                _ => {
                    let _ = reject.call1(&JsValue::NULL, &field("message"));
                }
            }
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            let _ = fail.call1(
                &JsValue::NULL,
                &"the evaluation worker could not start".into(),
            );
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        callbacks = Some((on_message, on_error));
    });
    let message = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&message, &k.into(), v).map(|_| ());
    set("module", &wasm_bindgen::module())
        .and_then(|_| set("model", &Uint8Array::from(model).into()))
        .and_then(|_| set("images", &Uint8Array::from(pixels).into()))
        .and_then(|_| set("chunk", &PROGRESS_EVERY.into()))
        .and_then(|_| worker.post_message(&message))
        .map_err(|e| {
            worker.terminate();
            js_error(&e)
        })?;
    Ok(Job {
        worker,
        answer,
        _callbacks: callbacks.expect("the promise executor runs at once"),
    })
}
