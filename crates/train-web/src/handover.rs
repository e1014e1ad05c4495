//! Which model the pad reads with, as far as this module knows, and how it tells the page's
//! own module to switch: a `digits-use-model` event on the document whose `detail` is the ONNX
//! bytes (a model trained in the page), `{bytes, personal: true}` (a personal model) or null
//! (back to the shipped model). The page's "Back to the shipped model" button is heard too.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The ONNX bytes of the model handed over, `None` while the pad uses the shipped one.
    static CURRENT: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Hands `onnx` to the page's module (`None`: back to the shipped model).
pub fn hand_over(onnx: Option<&[u8]>, personal: bool) {
    CURRENT.with(|c| *c.borrow_mut() = onnx.map(<[u8]>::to_vec));
    let detail: JsValue = match onnx {
        None => JsValue::NULL,
        Some(bytes) => {
            let bytes: JsValue = js_sys::Uint8Array::from(bytes).into();
            if personal {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"bytes".into(), &bytes);
                let _ = js_sys::Reflect::set(&o, &"personal".into(), &true.into());
                o.into()
            } else {
                bytes
            }
        }
    };
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&detail);
    if let (Ok(event), Some(doc)) = (
        web_sys::CustomEvent::new_with_event_init_dict("digits-use-model", &init),
        web_sys::window().and_then(|w| w.document()),
    ) {
        let _ = doc.dispatch_event(&event);
    }
}

/// The bytes of the model the pad reads with, if this module handed it over.
pub fn current() -> Option<Vec<u8>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Hears the page's own "Back to the shipped model" (once per page).
pub fn watch(doc: &web_sys::Document) {
    thread_local! {
        static WATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if WATCHING.with(|w| w.replace(true)) {
        return;
    }
    if let Some(button) = doc.get_element_by_id("use-shipped") {
        let cb = Closure::<dyn FnMut()>::new(|| CURRENT.with(|c| *c.borrow_mut() = None));
        let _ = button.add_event_listener_with_callback("click", cb.as_ref().unchecked_ref());
        cb.forget();
    }
}
