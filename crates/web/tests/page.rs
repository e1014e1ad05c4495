//! The typed page in a real browser: every element the code uses resolves on index.html's own
//! markup, and a missing or mistyped element is a clear error naming it (run by
//! wasm-bindgen-test-runner in headless Chromium, like the parity test).

#![cfg(target_arch = "wasm32")]

use digits_web::page::Page;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

const INDEX: &str = include_str!("../../../index.html");

/// Puts index.html's body markup into the test runner's document, in a container of its own
/// (the runner reports through elements of its own in the body), replacing any earlier one.
fn load_index_body() -> web_sys::Document {
    let doc = web_sys::window().unwrap().document().unwrap();
    if let Some(old) = doc.get_element_by_id("index-body") {
        old.remove();
    }
    let start = INDEX.find("<body>").unwrap() + "<body>".len();
    let end = INDEX.find("</body>").unwrap();
    let container = doc.create_element("div").unwrap();
    container.set_id("index-body");
    container.set_inner_html(&INDEX[start..end]);
    doc.body().unwrap().append_child(&container).unwrap();
    doc
}

#[wasm_bindgen_test]
fn every_element_resolves_on_index_html() {
    let doc = load_index_body();
    let page = Page::resolve(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.draw.pad.id(), "pad");
    assert_eq!(page.report.samples.id(), "samples-container");
}

#[wasm_bindgen_test]
fn a_missing_or_mistyped_element_is_named() {
    let doc = load_index_body();
    doc.get_element_by_id("eval-status").unwrap().remove();
    let e = Page::resolve(&doc).err().unwrap();
    assert_eq!(e, "the page has no element #eval-status");

    let doc = load_index_body();
    let retry = doc.get_element_by_id("retry").unwrap();
    let div = doc.create_element("div").unwrap();
    div.set_id("retry");
    retry.replace_with_with_node_1(&div).unwrap();
    let e = Page::resolve(&doc).err().unwrap();
    assert_eq!(e, "#retry is a <div>, expected an HtmlButtonElement");
}
