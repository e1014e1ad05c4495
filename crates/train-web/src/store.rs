//! What the page keeps on the device, in IndexedDB (database `digits`), until the user deletes
//! it: the model trained in the page (store `trained`, one record), the personal samples (store
//! `samples`, one JSON record each, in the order kept) and the personal model (store
//! `personal`, one record). Each is written whole in one transaction, so a closed tab never
//! leaves half a model behind.

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbObjectStore, IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest,
    IdbTransactionMode,
};

const DB: &str = "digits";
/// Version 2 added the personal stores.
const VERSION: u32 = 2;
const STORE: &str = "trained";
pub const SAMPLES: &str = "samples";
pub const PERSONAL: &str = "personal";
const KEY: &str = "model";

/// A kept model: its ONNX bytes and its report's JSON text.
pub struct Kept {
    pub onnx: Vec<u8>,
    pub report: String,
}

fn text(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "IndexedDB failed".into())
}

/// Resolves with the request's result when it succeeds.
async fn done(req: &IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r = req.clone();
        let failed = Closure::once_into_js(move || {
            let e = r
                .error()
                .ok()
                .flatten()
                .map_or_else(|| "IndexedDB failed".to_string(), |e| e.message());
            let _ = reject.call1(&JsValue::NULL, &e.into());
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(failed.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|e| text(&e))
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .ok_or("no window")?
        .indexed_db()
        .map_err(|e| text(&e))?
        .ok_or("this browser keeps no data (IndexedDB is off)")?;
    let req: IdbOpenDbRequest = factory.open_with_u32(DB, VERSION).map_err(|e| text(&e))?;
    let r = req.clone();
    let upgrade = Closure::once_into_js(move || {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>()) {
            let names = db.object_store_names();
            for store in [STORE, PERSONAL] {
                if !names.contains(store) {
                    let _ = db.create_object_store(store);
                }
            }
            if !names.contains(SAMPLES) {
                let options = IdbObjectStoreParameters::new();
                options.set_auto_increment(true);
                let _ = db.create_object_store_with_optional_parameters(SAMPLES, &options);
            }
        }
    });
    req.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    done(&req)
        .await?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| "IndexedDB gave no database".into())
}

/// Keeps `kept` in place of any earlier model.
pub async fn save(kept: &Kept) -> Result<(), String> {
    let record = Object::new();
    let _ = Reflect::set(
        &record,
        &"onnx".into(),
        &Uint8Array::from(kept.onnx.as_slice()),
    );
    let _ = Reflect::set(&record, &"report".into(), &kept.report.as_str().into());
    let _ = Reflect::set(&record, &"saved".into(), &js_sys::Date::new_0());
    put(STORE, KEY, &record).await
}

/// The kept model, if there is one (and it is whole).
pub async fn load() -> Result<Option<Kept>, String> {
    let record = get(STORE, KEY).await?;
    if record.is_undefined() || record.is_null() {
        return Ok(None);
    }
    let onnx = Reflect::get(&record, &"onnx".into())
        .ok()
        .and_then(|v| v.dyn_into::<Uint8Array>().ok())
        .map(|a| a.to_vec());
    let report = Reflect::get(&record, &"report".into())
        .ok()
        .and_then(|v| v.as_string());
    match (onnx, report) {
        (Some(onnx), Some(report)) => Ok(Some(Kept { onnx, report })),
        _ => Err("the kept model is damaged".into()),
    }
}

/// Deletes the kept model.
pub async fn delete() -> Result<(), String> {
    remove(STORE, KEY).await
}

/// Deletes the record under `key` in `store`.
pub async fn remove(store: &str, key: &str) -> Result<(), String> {
    remove_key(store, &key.into()).await
}

/// Runs `f` on `store` in one transaction (`write`: read-write) and waits for its request.
async fn with_store(
    store: &str,
    write: bool,
    f: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue>,
) -> Result<JsValue, String> {
    let db = open().await?;
    let mode = if write {
        IdbTransactionMode::Readwrite
    } else {
        IdbTransactionMode::Readonly
    };
    let tx = db
        .transaction_with_str_and_mode(store, mode)
        .map_err(|e| text(&e))?;
    let req = tx
        .object_store(store)
        .and_then(|s| f(&s))
        .map_err(|e| text(&e))?;
    let out = done(&req).await;
    db.close();
    out
}

/// Adds a record to a store with keys of its own (`samples`): the key it got.
pub async fn add(store: &str, value: &JsValue) -> Result<JsValue, String> {
    with_store(store, true, |s| s.add(value)).await
}

/// Every key of `store`, in key order (as [`all`] gives the records).
pub async fn keys(store: &str) -> Result<js_sys::Array, String> {
    with_store(store, false, |s| s.get_all_keys())
        .await?
        .dyn_into::<js_sys::Array>()
        .map_err(|_| "IndexedDB gave no list of keys".into())
}

/// Deletes the record under `key` in `store` (a string, or a key [`add`] gave).
pub async fn remove_key(store: &str, key: &JsValue) -> Result<(), String> {
    with_store(store, true, |s| s.delete(key)).await.map(|_| ())
}

/// Every record of `store`, in key order.
pub async fn all(store: &str) -> Result<js_sys::Array, String> {
    with_store(store, false, |s| s.get_all())
        .await?
        .dyn_into::<js_sys::Array>()
        .map_err(|_| "IndexedDB gave no list".into())
}

/// Deletes every record of `store`.
pub async fn clear(store: &str) -> Result<(), String> {
    with_store(store, true, |s| s.clear()).await.map(|_| ())
}

/// Puts `value` under `key` in `store`.
pub async fn put(store: &str, key: &str, value: &JsValue) -> Result<(), String> {
    with_store(store, true, |s| s.put_with_key(value, &key.into()))
        .await
        .map(|_| ())
}

/// The record under `key` in `store` (undefined if none).
pub async fn get(store: &str, key: &str) -> Result<JsValue, String> {
    with_store(store, false, |s| s.get(&key.into())).await
}
