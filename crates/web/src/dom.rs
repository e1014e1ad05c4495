//! Small helpers over web-sys.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, EventTarget};

pub fn document() -> Document {
    web_sys::window()
        .expect("a window")
        .document()
        .expect("a document")
}

/// Adds a listener that lives as long as the page.
pub fn listen<E: JsCast + 'static>(
    target: &EventTarget,
    name: &str,
    mut f: impl FnMut(E) + 'static,
) -> Result<(), JsValue> {
    let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        f(e.unchecked_into::<E>())
    });
    target.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref())?;
    cb.forget();
    Ok(())
}

/// A number property of a JS object (`clientX` is fractional on high-DPI screens).
pub fn number(obj: &JsValue, key: &str) -> f64 {
    js_sys::Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN)
}

/// A string property of a JS object.
pub fn string(obj: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

/// Calls `f(on_screen)` whenever `el` comes into view or leaves it, for as long as the page lives.
pub fn on_visibility(
    el: &web_sys::Element,
    mut f: impl FnMut(bool) + 'static,
) -> Result<(), JsValue> {
    let cb = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let seen = entries
            .iter()
            .filter_map(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
            .any(|e| e.is_intersecting());
        f(seen)
    });
    web_sys::IntersectionObserver::new(cb.as_ref().unchecked_ref())?.observe(el);
    cb.forget();
    Ok(())
}
