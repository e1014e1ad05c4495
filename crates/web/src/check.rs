//! Runs a model (the page's, or the plain network it is compared with) on every image of a test
//! set: in module workers (`eval-worker.js`, one
//! per core, at most [`MAX_WORKERS`]), each booting this same wasm module (sent already compiled)
//! with the page's model and a slice of the images; or, where workers are missing or fail, on the
//! main thread in slices with a yield between them, so drawing and scrolling stay smooth.

use std::cell::RefCell;
use std::rc::Rc;

use digits_core::PIXELS;
use digits_core::idx::Labelled;
use digits_core::metrics::argmax;
use digits_core::model::{Model, to_input};
use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::js::{js_error, warn, yield_now};
use crate::model_file;
use crate::protocol::{Reply, Request, slices};
use crate::report_text::workers as workers_text;

/// Relative to the page, like every other file of the site.
const WORKER_URL: &str = "eval-worker.js";
const MAX_WORKERS: usize = 4;
/// Images between two progress messages of a worker.
const PROGRESS_EVERY: usize = 500;
/// Images per slice of main-thread work between two yields to the browser.
const MAIN_THREAD_SLICE: usize = 100;

/// The predicted digit of every image of `test` by the model in `bytes` (`name` in errors), and
/// where they were computed ("2 workers", "main thread"). `progress(done)` follows the count.
pub async fn classify(
    bytes: Rc<[u8]>,
    name: &str,
    test: &Labelled,
    progress: impl Fn(usize) + 'static,
) -> Result<(Vec<u8>, String), String> {
    let progress = Rc::new(progress);
    let workers = worker_count();
    match in_workers(&bytes, test, workers, progress.clone()).await {
        Ok(p) => Ok((p, workers_text(workers))),
        Err(e) => {
            warn(&format!(
                "checking on the main thread: the workers failed ({e})"
            ));
            let model = model_file::load_named(&bytes, name).map_err(|e| e.to_string())?;
            let p = on_main_thread(&model, test, &*progress).await?;
            Ok((p, "main thread".to_string()))
        }
    }
}

/// One per core the browser reports, at most [`MAX_WORKERS`].
fn worker_count() -> usize {
    web_sys::window().map_or(1, |w| {
        (w.navigator().hardware_concurrency() as usize).clamp(1, MAX_WORKERS)
    })
}

/// A worker, its answer to come, and the callbacks that must live as long as it works.
struct Job {
    worker: Worker,
    answer: Promise,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

async fn in_workers(
    model: &[u8],
    test: &Labelled,
    workers: usize,
    progress: Rc<dyn Fn(usize)>,
) -> Result<Vec<u8>, String> {
    let total = test.len();
    let done = Rc::new(RefCell::new(vec![0usize; workers]));
    let mut jobs = Vec::with_capacity(workers);
    for (i, range) in slices(total, workers).into_iter().enumerate() {
        let request = Request {
            model: model.to_vec(),
            images: test.images.pixels[range.start * PIXELS..range.end * PIXELS].to_vec(),
            progress_every: PROGRESS_EVERY,
        };
        let report = {
            let (done, progress) = (done.clone(), progress.clone());
            move |n: usize| {
                done.borrow_mut()[i] = n;
                let sum = done.borrow().iter().sum();
                progress(sum);
            }
        };
        match start(&request, report) {
            Ok(job) => jobs.push(job),
            Err(e) => {
                jobs.iter().for_each(|j| j.worker.terminate());
                return Err(e);
            }
        }
    }
    // All answers at once: the first failure ends the wait, and the others' are handled too.
    let answers: Array = jobs
        .iter()
        .map(|j| JsValue::from(j.answer.clone()))
        .collect();
    let result = JsFuture::from(Promise::all(&answers)).await;
    jobs.iter().for_each(|j| j.worker.terminate());
    let labels = result.map_err(|e| js_error(&e))?;
    let predicted: Vec<u8> = Array::from(&labels)
        .iter()
        .flat_map(|l| js_sys::Uint8Array::new(&l).to_vec())
        .collect();
    if predicted.len() != total {
        return Err(format!(
            "the workers answered for {} of {total} images",
            predicted.len()
        ));
    }
    Ok(predicted)
}

/// Starts a worker on `request`; its answer resolves to its labels (a `Uint8Array`).
fn start(request: &Request, progress: impl Fn(usize) + 'static) -> Result<Job, String> {
    let progress = Rc::new(progress);
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(WORKER_URL, &options).map_err(|e| js_error(&e))?;
    let mut callbacks = None;
    let answer = Promise::new(&mut |resolve, reject| {
        let (fail, progress) = (reject.clone(), progress.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            match Reply::from_js(&e.data()) {
                Reply::Progress { done } => progress(done),
                Reply::Done { labels } => {
                    let labels = js_sys::Uint8Array::from(&labels[..]);
                    let _ = resolve.call1(&JsValue::NULL, &labels);
                }
                Reply::Failed { message } => {
                    let _ = reject.call1(&JsValue::NULL, &message.into());
                }
            }
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let why = crate::dom::string(&e, "message")
                .unwrap_or_else(|| "the check worker could not start".into());
            let _ = fail.call1(&JsValue::NULL, &why.into());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        callbacks = Some((on_message, on_error));
    });
    let (on_message, on_error) = callbacks.expect("the promise executor runs at once");
    if let Err(e) = worker.post_message(&request.to_js(&wasm_bindgen::module())) {
        worker.terminate();
        return Err(js_error(&e));
    }
    Ok(Job {
        worker,
        answer,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// The check on the main thread, in slices with a yield between them: for browsers without
/// module workers.
async fn on_main_thread(
    model: &Model,
    test: &Labelled,
    progress: &dyn Fn(usize),
) -> Result<Vec<u8>, String> {
    let total = test.len();
    let mut predicted = Vec::with_capacity(total);
    for slice in test.images.pixels.chunks(MAIN_THREAD_SLICE * PIXELS) {
        let probs = model.predict(&to_input(slice)).map_err(|e| e.to_string())?;
        predicted.extend(probs.iter().map(|p| argmax(p).unwrap_or(0) as u8));
        progress(predicted.len());
        yield_now().await;
    }
    Ok(predicted)
}
