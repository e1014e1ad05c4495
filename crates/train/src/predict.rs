//! `digits predict`: decode a PNG or JPEG, preprocess it exactly as the page does, classify it
//! as one digit and read it as a number (`digits_core::segment`).

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result};
use digits_core::model::{Model, Prediction};
use digits_core::preprocess::{Ink, to_mnist};
use digits_core::segment::{Digit, Priors, Reader};

/// Larger files or pictures are refused rather than decoded.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
pub const MAX_SIDE: u32 = 12_000;
/// 50 megapixels: a phone's largest photos; checked from the header, before decoding.
pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_ALLOC: u64 = 512 << 20;

/// 8-bit luminance of a decoded picture; transparent pixels count as white paper.
pub fn luminance(img: &image::DynamicImage) -> (usize, usize, Vec<u8>) {
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let luma = rgba
        .pixels()
        .map(|p| {
            let [r, g, b, a] = p.0;
            let y = 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
            let alpha = a as f32 / 255.0;
            (y * alpha + 255.0 * (1.0 - alpha)).round() as u8
        })
        .collect();
    (w as usize, h as usize, luma)
}

/// Decodes PNG or JPEG bytes with size limits, turned upright as its EXIF orientation says (a
/// phone stores a portrait photo sideways and says so there).
pub fn decode(bytes: &[u8]) -> Result<image::DynamicImage> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .context("cannot read the image")?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        _ => anyhow::bail!("not a PNG or JPEG image"),
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let too_large = || {
        anyhow::anyhow!(
            "image is too large (at most {MAX_SIDE}x{MAX_SIDE} pixels, {} megapixels and {} MiB decoded)",
            MAX_PIXELS / 1_000_000,
            MAX_ALLOC >> 20
        )
    };
    let failed = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => too_large(),
        other => anyhow::anyhow!("cannot decode the image: {other}"),
    };
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(too_large().context(format!("the file declares {w}x{h} pixels")));
    }
    let orientation = decoder.orientation().map_err(failed)?;
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(failed)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// A picture read: as one digit (the whole picture, as before numbers) and as a number.
#[derive(Clone, Debug)]
pub struct Reading {
    /// The whole picture read as one digit.
    pub whole: Prediction,
    /// The digits found, left to right (boxes in the picture's pixels), each with the model's
    /// answer taken apart ([`Digit::prediction`]).
    pub digits: Vec<Digit>,
}

/// Reads the digit or number in an image file; `None` if the picture is blank.
pub fn read_file(model: &Model, path: &Path) -> Result<Option<Reading>> {
    let bytes = digits_core::files::read_regular(path, MAX_FILE_BYTES)?;
    let img = decode(&bytes)?;
    let (w, h, luma) = luminance(&img);
    let ink = Ink::from_luma(w, h, &luma);
    let Some(input) = to_mnist(&ink) else {
        return Ok(None);
    };
    let Some(whole) = model.predictions(&input)?.first().copied() else {
        return Ok(None);
    };
    let mut failed = None;
    let mut classify = |x: &[f32]| match model.predictions(x) {
        Ok(p) => p.first().copied(),
        Err(e) => {
            failed = Some(e);
            None
        }
    };
    let digits = Reader::new(Priors::pictures()).ink(&ink, &mut classify);
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(Some(Reading { whole, digits }))
}
