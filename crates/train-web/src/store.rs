//! The model trained in the page, kept on the device (IndexedDB, database `digits`, store
//! `trained`, one record) across reloads until the user deletes it. Only a finished run is
//! written, in one transaction, so a closed tab never leaves half a model behind.

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DB: &str = "digits";
const STORE: &str = "trained";
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
    let req: IdbOpenDbRequest = factory.open_with_u32(DB, 1).map_err(|e| text(&e))?;
    let r = req.clone();
    let upgrade = Closure::once_into_js(move || {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>())
            && !db.object_store_names().contains(STORE)
        {
            let _ = db.create_object_store(STORE);
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
    let db = open().await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(|e| text(&e))?;
    let record = Object::new();
    let _ = Reflect::set(
        &record,
        &"onnx".into(),
        &Uint8Array::from(kept.onnx.as_slice()),
    );
    let _ = Reflect::set(&record, &"report".into(), &kept.report.as_str().into());
    let _ = Reflect::set(&record, &"saved".into(), &js_sys::Date::new_0());
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.put_with_key(&record, &KEY.into()))
        .map_err(|e| text(&e))?;
    done(&req).await?;
    db.close();
    Ok(())
}

/// The kept model, if there is one (and it is whole).
pub async fn load() -> Result<Option<Kept>, String> {
    let db = open().await?;
    let tx = db.transaction_with_str(STORE).map_err(|e| text(&e))?;
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.get(&KEY.into()))
        .map_err(|e| text(&e))?;
    let record = done(&req).await?;
    db.close();
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
    let db = open().await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(|e| text(&e))?;
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.delete(&KEY.into()))
        .map_err(|e| text(&e))?;
    done(&req).await?;
    db.close();
    Ok(())
}
