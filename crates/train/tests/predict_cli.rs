//! `digits predict` on real PNG and JPEG files: any size, either polarity; a blank picture has
//! no digit; unreadable files and absurdly large images are clear per-file errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{GrayImage, Luma};

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("digits-predict-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// MNIST test image `i` drawn `scale` times larger at (`ox`, `oy`) on a `w` x `h` picture.
fn picture(
    i: usize,
    w: u32,
    h: u32,
    ox: u32,
    oy: u32,
    scale: u32,
    dark_on_light: bool,
) -> GrayImage {
    let test = common::test_set();
    let img = test.input(i);
    GrayImage::from_fn(w, h, |x, y| {
        let (sx, sy) = (x.wrapping_sub(ox) / scale, y.wrapping_sub(oy) / scale);
        let v = if x >= ox && y >= oy && sx < 28 && sy < 28 {
            (img[(sy * 28 + sx) as usize] * 255.0) as u8
        } else {
            0
        };
        Luma([if dark_on_light { 255 - v } else { v }])
    })
}

/// A PNG whose header claims `w` x `h` pixels (valid CRC), with no pixel data to speak of.
fn huge_png(path: &Path, w: u32, h: u32) {
    let mut bytes = Vec::new();
    GrayImage::new(4, 4)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    // IHDR data starts at byte 16 (8 signature + 4 length + 4 type).
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn predicts_pictures_and_reports_bad_files() {
    let dir = tmp();
    let labels = common::test_set().labels;
    picture(0, 640, 480, 100, 60, 12, true)
        .save(dir.join("a.png"))
        .unwrap();
    picture(1, 300, 700, 150, 400, 5, false)
        .save(dir.join("b.jpg"))
        .unwrap();
    GrayImage::from_pixel(200, 100, Luma([240]))
        .save(dir.join("blank.png"))
        .unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    huge_png(&dir.join("huge.png"), 100_000, 100_000);
    let files = [
        "a.png",
        "b.jpg",
        "blank.png",
        "notes.txt",
        "huge.png",
        "missing.png",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_digits"))
        .arg("predict")
        .arg("--model")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/assets/model.onnx"
        ))
        .arg("--json")
        .args(files.iter().map(|f| dir.join(f)))
        .output()
        .unwrap();
    assert!(!out.status.success(), "three files cannot be read");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len(), "{stdout}");
    for (line, f) in lines.iter().zip(files) {
        assert!(line["file"].as_str().unwrap().ends_with(f));
    }
    assert_eq!(lines[0]["digit"], labels[0] as u64, "{}", lines[0]);
    assert_eq!(lines[1]["digit"], labels[1] as u64, "{}", lines[1]);
    let p: Vec<f64> = lines[0]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(p.len(), 10);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    assert!(lines[2]["digit"].is_null() && lines[2]["probabilities"].is_null());
    assert!(
        lines[3]["error"]
            .as_str()
            .unwrap()
            .contains("not a PNG or JPEG"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4]["error"].as_str().unwrap().contains("too large"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5]["error"].as_str().unwrap().contains("cannot read"),
        "{}",
        lines[5]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 of 6 files"));

    let text = Command::new(env!("CARGO_BIN_EXE_digits"))
        .args(["predict", "--model"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/assets/model.onnx"
        ))
        .arg(dir.join("a.png"))
        .output()
        .unwrap();
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains(&format!("a.png: {}", labels[0])));
    std::fs::remove_dir_all(dir).unwrap();
}
