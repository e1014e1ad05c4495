//! The MNIST training and test sets for a run in the page: downloaded (gzip-compressed IDX,
//! files of the site, cached by the service worker the first time) with progress, inflated,
//! and refused unless each file has the published SHA-256 that `scripts/fetch-mnist.sh`
//! checks too.

use digits_core::idx::{Labelled, inflate, parse_labelled};
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

/// A file of the data set: where it is beside the page, and the SHA-256 of its inflated bytes.
pub struct File {
    pub url: &'static str,
    pub sha256: &'static str,
}

pub const TRAIN_IMAGES: File = File {
    url: "train-images-idx3-ubyte.gz",
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
};
pub const TRAIN_LABELS: File = File {
    url: "train-labels-idx1-ubyte.gz",
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
};
pub const TEST_IMAGES: File = File {
    url: "t10k-images-idx3-ubyte.gz",
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
};
pub const TEST_LABELS: File = File {
    url: "t10k-labels-idx1-ubyte.gz",
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

fn js_text(e: &wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Downloads `url`, calling `progress(bytes so far, total if known)` as chunks arrive.
pub async fn download(url: &str, progress: &dyn Fn(f64, Option<f64>)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| {
            format!(
                "{url}: network error ({}); are you offline before the data was ever downloaded?",
                js_text(&e)
            )
        })?;
    let resp: Response = resp
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok());
    let body = resp
        .body()
        .ok_or_else(|| format!("{url}: an empty response"))?;
    let reader: ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| format!("{url}: the response cannot be read"))?;
    let mut out = Vec::with_capacity(total.unwrap_or(0.0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: the download was interrupted ({})", js_text(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
            let bytes: Uint8Array = value.unchecked_into();
            let at = out.len();
            out.resize(at + bytes.length() as usize, 0);
            bytes.copy_to(&mut out[at..]);
        }
        progress(out.len() as f64, total);
    }
    Ok(out)
}

/// The SHA-256 of `data` in lowercase hex, by the browser's Web Crypto.
async fn sha256(data: &[u8]) -> Result<String, String> {
    let crypto = web_sys::window()
        .ok_or("no window")?
        .crypto()
        .map_err(|_| "this browser has no Web Crypto")?;
    let copy = Uint8Array::from(data);
    let digest = crypto
        .subtle()
        .digest_with_str_and_buffer_source("SHA-256", &copy)
        .map_err(|e| js_text(&e))?;
    let buf = JsFuture::from(digest).await.map_err(|e| js_text(&e))?;
    Ok(Uint8Array::new(&buf)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A downloaded file inflated and checked against its published SHA-256.
pub async fn verified(file: &File, compressed: &[u8]) -> Result<Vec<u8>, String> {
    let raw = inflate(compressed, file.url).map_err(|e| e.to_string())?;
    let hash = sha256(&raw).await?;
    if hash != file.sha256 {
        return Err(format!(
            "{}: the download is damaged (its SHA-256 is {hash}, expected {})",
            file.url, file.sha256
        ));
    }
    Ok(raw)
}

/// Images and labels, downloaded (`progress(share done 0..1)` over both), verified and parsed.
pub async fn load(
    images: &File,
    labels: &File,
    progress: &dyn Fn(f64, String),
) -> Result<Labelled, String> {
    let got = |done: f64, total: Option<f64>| {
        let mb = done / 1e6;
        match total {
            Some(t) if t > 0.0 => progress(done / t, format!("{mb:.1} of {:.1} MB", t / 1e6)),
            _ => progress(0.0, format!("{mb:.1} MB")),
        }
    };
    let img = download(images.url, &got).await?;
    let lab = download(labels.url, &got).await?;
    progress(1.0, "checking".into());
    let img = verified(images, &img).await?;
    let lab = verified(labels, &lab).await?;
    parse_labelled((&img, images.url), (&lab, labels.url)).map_err(|e| e.to_string())
}
