//! Small helpers over web-sys.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, EventTarget};

pub fn document() -> Document {
    web_sys::window()
        .expect("a window")
        .document()
        .expect("a document")
}

/// The element with `id`, cast to `T`, or an error naming the id.
pub fn by_id<T: JsCast>(id: &str) -> Result<T, JsValue> {
    document()
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("the page has no element #{id}")))?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("#{id} is not the expected kind of element")))
}

pub fn set_text(id: &str, text: &str) {
    if let Ok(e) = by_id::<Element>(id) {
        e.set_text_content(Some(text));
    }
}

pub fn set_html(id: &str, html: &str) {
    if let Ok(e) = by_id::<Element>(id) {
        e.set_inner_html(html);
    }
}

pub fn set_attr(id: &str, name: &str, value: &str) {
    if let Ok(e) = by_id::<Element>(id) {
        let _ = e.set_attribute(name, value);
    }
}

pub fn set_hidden(id: &str, hidden: bool) {
    if let Ok(e) = by_id::<web_sys::HtmlElement>(id) {
        e.set_hidden(hidden);
    }
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
