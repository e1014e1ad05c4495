//! The page's side of the training workers: one module worker per core (at most
//! [`MAX_WORKERS`]), each answering the page's requests one at a time, in order. A request is a
//! future of its reply; a worker that fails to load or crashes fails every request waiting on
//! it with a message that says so.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{Reply, Request};

/// Relative to the page, like every file of the site.
const WORKER_URL: &str = "train-worker.js";
pub const MAX_WORKERS: usize = 4;

/// One per core the browser reports, at most [`MAX_WORKERS`].
pub fn worker_count() -> usize {
    web_sys::window().map_or(1, |w| {
        (w.navigator().hardware_concurrency() as usize).clamp(1, MAX_WORKERS)
    })
}

type Waiting = Rc<RefCell<VecDeque<(Function, Function)>>>;

struct Member {
    worker: Worker,
    waiting: Waiting,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

pub struct Pool {
    members: Vec<Member>,
}

impl Pool {
    pub fn spawn(count: usize) -> Result<Pool, String> {
        let mut members = Vec::with_capacity(count);
        for k in 0..count {
            let options = WorkerOptions::new();
            options.set_type(WorkerType::Module);
            let worker = Worker::new_with_options(WORKER_URL, &options)
                .map_err(|e| format!("could not start training worker {k}: {e:?}"))?;
            let waiting: Waiting = Rc::default();
            let w = waiting.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Some((resolve, _)) = w.borrow_mut().pop_front() {
                    let _ = resolve.call1(&JsValue::NULL, &e.data());
                }
            });
            let w = waiting.clone();
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                let text = js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "it could not load".into());
                let reason = JsValue::from_str(&format!("a training worker failed: {text}"));
                for (_, reject) in w.borrow_mut().drain(..) {
                    let _ = reject.call1(&JsValue::NULL, &reason);
                }
                e.prevent_default();
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            members.push(Member {
                worker,
                waiting,
                _on_message: on_message,
                _on_error: on_error,
            });
        }
        Ok(Pool { members })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Sends `request` to worker `k`; the returned future is its reply.
    pub fn send(
        &self,
        k: usize,
        request: &Request,
    ) -> impl Future<Output = Result<Reply, String>> + use<> {
        let m = &self.members[k];
        let waiting = m.waiting.clone();
        let promise = Promise::new(&mut |resolve, reject| {
            waiting.borrow_mut().push_back((resolve, reject));
        });
        let out = request.to_js();
        let sent = m
            .worker
            .post_message_with_transfer(&out.message, &out.transfer)
            .map_err(|e| format!("could not reach a training worker: {e:?}"));
        if sent.is_err() {
            m.waiting.borrow_mut().pop_back();
        }
        async move {
            sent?;
            let reply = JsFuture::from(promise).await.map_err(|e| {
                e.as_string()
                    .unwrap_or_else(|| "a training worker failed".into())
            })?;
            match Reply::from_js(&reply)? {
                Reply::Failed(message) => Err(format!("a training worker failed: {message}")),
                r => Ok(r),
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for m in &self.members {
            m.worker.terminate();
        }
    }
}
