//! Runs a model (the page's, or the plain network it is compared with) on every image of a test
//! set: in module workers (`eval-worker.js`, one per core, at most [`MAX_WORKERS`]), each booting
//! this same wasm module (sent already compiled) with the page's model as soon as the check
//! begins ([`Check::start`]), then given a slice of the images once they are there; or, where
//! workers are missing or fail, on the main thread in slices with a yield between them, so
//! drawing and scrolling stay smooth.

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

/// Where the workers' progress goes: the caller's callback, set once it has the images.
type ProgressSlot = Rc<RefCell<Option<Rc<dyn Fn(usize)>>>>;

/// A check begun: its workers (one per core, at most [`MAX_WORKERS`]) booting with the model
/// while the caller fetches the images. Dropped unused, it stops them.
pub struct Check {
    bytes: Rc<[u8]>,
    name: String,
    /// The workers, or why they could not be started.
    workers: Result<Vec<Job>, String>,
    /// Where the workers report how far they are.
    progress: ProgressSlot,
}

impl Check {
    /// Starts the workers on the model in `bytes` (`name` in errors): they load it now, so that
    /// their start-up overlaps the caller's download of the images.
    pub fn start(bytes: Rc<[u8]>, name: &str) -> Check {
        let workers = worker_count();
        let progress: ProgressSlot = Rc::new(RefCell::new(None));
        let done = Rc::new(RefCell::new(vec![0usize; workers]));
        let mut jobs = Vec::with_capacity(workers);
        let mut failed = None;
        for i in 0..workers {
            let report = {
                let (done, progress) = (done.clone(), progress.clone());
                move |n: usize| {
                    done.borrow_mut()[i] = n;
                    let sum = done.borrow().iter().sum();
                    if let Some(progress) = progress.borrow().as_ref() {
                        progress(sum);
                    }
                }
            };
            match start(&bytes, report) {
                Ok(job) => jobs.push(job),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let workers = match failed {
            Some(e) => {
                jobs.iter().for_each(|j| j.worker.terminate());
                Err(e)
            }
            None => Ok(jobs),
        };
        Check {
            bytes,
            name: name.to_string(),
            workers,
            progress,
        }
    }

    /// The predicted digit of every image of `test`, and where they were computed ("2
    /// workers", "main thread": where the workers are missing or fail). `progress(done)` follows
    /// the count.
    pub async fn classify(
        mut self,
        test: &Labelled,
        progress: impl Fn(usize) + 'static,
    ) -> Result<(Vec<u8>, String), String> {
        let progress: Rc<dyn Fn(usize)> = Rc::new(progress);
        *self.progress.borrow_mut() = Some(progress.clone());
        let workers = std::mem::replace(&mut self.workers, Ok(Vec::new()));
        let result = match workers {
            Ok(jobs) => {
                let n = jobs.len();
                let answer = in_workers(&jobs, test).await;
                jobs.iter().for_each(|j| j.worker.terminate());
                answer.map(|p| (p, workers_text(n)))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(answer) => Ok(answer),
            Err(e) => {
                warn(&format!(
                    "checking on the main thread: the workers failed ({e})"
                ));
                let model =
                    model_file::load_named(&self.bytes, &self.name).map_err(|e| e.to_string())?;
                let p = on_main_thread(&model, test, &*progress).await?;
                Ok((p, "main thread".to_string()))
            }
        }
    }
}

impl Drop for Check {
    fn drop(&mut self) {
        if let Ok(jobs) = &self.workers {
            jobs.iter().for_each(|j| j.worker.terminate());
        }
    }
}

/// The predicted digit of every image of `test` by the model in `bytes` (`name` in errors), and
/// where they were computed: [`Check::start`] and [`Check::classify`] at once.
pub async fn classify(
    bytes: Rc<[u8]>,
    name: &str,
    test: &Labelled,
    progress: impl Fn(usize) + 'static,
) -> Result<(Vec<u8>, String), String> {
    Check::start(bytes, name).classify(test, progress).await
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
    _on_early_failure: Closure<dyn FnMut(JsValue)>,
}

/// Sends each booted worker its slice of `test` and gathers their labels in order.
async fn in_workers(jobs: &[Job], test: &Labelled) -> Result<Vec<u8>, String> {
    let total = test.len();
    for (job, range) in jobs.iter().zip(slices(total, jobs.len())) {
        let request = Request::Classify {
            images: test.images.pixels[range.start * PIXELS..range.end * PIXELS].to_vec(),
            progress_every: PROGRESS_EVERY,
        };
        job.worker
            .post_message(&request.to_js(&wasm_bindgen::module()))
            .map_err(|e| js_error(&e))?;
    }
    // All answers at once: the first failure ends the wait, and the others' are handled too.
    let answers: Array = jobs
        .iter()
        .map(|j| JsValue::from(j.answer.clone()))
        .collect();
    let labels = JsFuture::from(Promise::all(&answers))
        .await
        .map_err(|e| js_error(&e))?;
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

/// Starts a worker and sends it the model to load; its answer (to the images sent later)
/// resolves to its labels (a `Uint8Array`), or rejects as soon as it fails, loading included.
fn start(model: &[u8], progress: impl Fn(usize) + 'static) -> Result<Job, String> {
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
    // A worker can fail before the page has its images (loading the model): that failure is
    // handled here as it comes, so the browser does not report it as unhandled; `in_workers`
    // reads it from the same promise later.
    let on_early_failure = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let _ = answer.catch(&on_early_failure);
    let load = Request::Load {
        model: model.to_vec(),
    };
    if let Err(e) = worker.post_message(&load.to_js(&wasm_bindgen::module())) {
        worker.terminate();
        return Err(js_error(&e));
    }
    Ok(Job {
        worker,
        answer,
        _on_message: on_message,
        _on_error: on_error,
        _on_early_failure: on_early_failure,
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
