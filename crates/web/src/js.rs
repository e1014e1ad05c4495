//! The few things the page needs from the browser's JavaScript side, behind plain Rust
//! signatures: downloads, error text, the clock, yielding to the event loop, console warnings.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Milliseconds since the page started (`performance.now()`), or 0 where there is no clock.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The message of a JavaScript error (or the value itself, as text).
pub fn js_error(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

pub fn warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

pub fn error(message: &str) {
    web_sys::console::error_1(&message.into());
}

/// Downloads `url` (relative to the page). `fresh` asks the network (and the service worker) for
/// a new copy instead of a cached one: after a corrupt download, and on Retry.
pub async fn fetch_bytes(url: &str, fresh: bool) -> Result<Vec<u8>, String> {
    read_fetch(begin_fetch(url, fresh)?, url).await
}

/// Starts downloading `url` (as [`fetch_bytes`]) without waiting: several downloads begun one
/// after the other run at once. [`read_fetch`] gives the bytes.
pub fn begin_fetch(url: &str, fresh: bool) -> Result<js_sys::Promise, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    if fresh {
        init.set_cache(web_sys::RequestCache::Reload);
    }
    Ok(window.fetch_with_str_and_init(url, &init))
}

/// The bytes of a download begun with [`begin_fetch`] (`url` for the errors).
pub async fn read_fetch(pending: js_sys::Promise, url: &str) -> Result<Vec<u8>, String> {
    let resp = JsFuture::from(pending)
        .await
        .map_err(|e| format!("network error ({})", js_error(&e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    if !resp.ok() {
        return Err(format!("HTTP {} for {url}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| format!("download interrupted ({})", js_error(&e)))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// Lets the browser handle input and paint before the caller goes on (a zero-delay timeout).
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Median milliseconds of `iterations` calls of `f`.
pub fn median_ms(iterations: u32, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..iterations.max(1))
        .map(|_| {
            let t0 = now();
            f();
            now() - t0
        })
        .collect();
    times.sort_by(|x, y| x.total_cmp(y));
    times[times.len() / 2]
}
