//! `digits predict` on real PNG and JPEG files: any size, either polarity; a blank picture has
//! no digit; unreadable files and absurdly large images are clear per-file errors.

mod common;

use common::tmp;

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{GrayImage, Luma};

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
    let dir = tmp("predict-files");
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
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let out = predict_shipped(&paths);
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

/// `digits predict --json` with the shipped model on `paths`.
fn predict_shipped(paths: &[impl AsRef<std::ffi::OsStr>]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_digits"))
        .arg("predict")
        .arg("--model")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/assets/model.onnx"
        ))
        .arg("--json")
        .args(paths)
        .output()
        .unwrap()
}

/// The JSON line of each of `paths`.
fn predict_json(paths: &[&Path]) -> Vec<serde_json::Value> {
    let out = predict_shipped(paths);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn jpeg(img: &GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    bytes
}

/// A JPEG whose EXIF says "rotate 90 degrees clockwise to show it", as a phone writes for a
/// portrait photo stored sideways.
fn with_exif_orientation_6(jpeg: &[u8]) -> Vec<u8> {
    // APP1 "Exif": a big-endian TIFF header, IFD0 with one entry: Orientation (0x0112) = 6.
    let mut app1 = vec![0xff, 0xe1, 0x00, 0x22];
    app1.extend_from_slice(b"Exif\0\0MM\0\x2a\0\0\0\x08");
    app1.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    assert_eq!(app1.len(), 2 + 0x22);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn pictures_as_phones_and_scanners_make_them() {
    let dir = tmp("predict-phones");
    let test = common::test_set();
    assert_eq!(test.labels[0], 7, "MNIST's first test digit is a 7");
    // A clean 7 on white paper inside a thin black frame.
    let mut framed = picture(0, 300, 300, 10, 10, 10, true);
    for (x, y, p) in framed.enumerate_pixels_mut() {
        if x < 3 || y < 3 || x >= 297 || y >= 297 {
            *p = Luma([0]);
        }
    }
    framed.save(dir.join("framed.png")).unwrap();
    // The same 7 stored sideways, with the EXIF orientation that turns it upright.
    let upright = picture(0, 280, 280, 0, 0, 10, true);
    let sideways = image::imageops::rotate270(&upright);
    std::fs::write(
        dir.join("portrait.jpg"),
        with_exif_orientation_6(&jpeg(&sideways)),
    )
    .unwrap();
    // A few KB of JPEG whose header declares 12000x12000 pixels.
    let mut huge = jpeg(&GrayImage::from_pixel(16, 16, Luma([200])));
    let sof = huge
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline JPEG");
    huge[sof + 5..sof + 9].copy_from_slice(&[0x2e, 0xe0, 0x2e, 0xe0]);
    std::fs::write(dir.join("huge.jpg"), &huge).unwrap();

    let started = std::time::Instant::now();
    let lines = predict_json(&[
        &dir.join("framed.png"),
        &dir.join("portrait.jpg"),
        &dir.join("huge.jpg"),
    ]);
    assert_eq!(lines[0]["digit"], 7, "framed: {}", lines[0]);
    assert_eq!(lines[1]["digit"], 7, "portrait: {}", lines[1]);
    let e = lines[2]["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("declares 12000x12000 pixels") && e.contains("too large"),
        "{}",
        lines[2]
    );
    // Refused from the header, not after decoding 144 megapixels.
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    std::fs::remove_dir_all(dir).unwrap();
}

/// MNIST test digits `indices` side by side, each `scale` times larger, their 28-pixel fields
/// `step` pixels apart (less than 28: the fields overlap, the digits come closer), light on
/// dark or dark on light.
fn number_picture(indices: &[usize], scale: u32, step: u32, dark_on_light: bool) -> GrayImage {
    let test = common::test_set();
    let (w, h) = ((indices.len() as u32 - 1) * step + 28 + 16, 28 + 16);
    let mut img = GrayImage::new(w * scale, h * scale);
    for (k, &i) in indices.iter().enumerate() {
        let digit = test.input(i);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (sx, sy) = (x / scale, y / scale);
            let ox = 8 + k as u32 * step;
            if sx >= ox && sx < ox + 28 && (8..36).contains(&sy) {
                let v = (digit[((sy - 8) * 28 + sx - ox) as usize] * 255.0) as u8;
                p.0[0] = p.0[0].max(v);
            }
        }
    }
    if dark_on_light {
        image::imageops::invert(&mut img);
    }
    img
}

#[test]
fn pictures_of_numbers_are_read_digit_by_digit_with_boxes() {
    let dir = tmp("predict-numbers");
    let test = common::test_set();
    // Test digits 0..4 and 10..13: 7, 2, 1, 0 and 0, 6, 9, 0 in MNIST's order.
    let first: Vec<usize> = (0..4).collect();
    let second: Vec<usize> = (10..14).collect();
    let truth = |ix: &[usize]| -> String {
        ix.iter()
            .map(|&i| (b'0' + test.labels[i]) as char)
            .collect()
    };
    number_picture(&first, 3, 24, true)
        .save(dir.join("a.png"))
        .unwrap();
    number_picture(&second, 2, 22, false)
        .save(dir.join("b.png"))
        .unwrap();
    picture(0, 200, 200, 40, 40, 4, true)
        .save(dir.join("one.png"))
        .unwrap();
    let lines = predict_json(&[&dir.join("a.png"), &dir.join("b.png"), &dir.join("one.png")]);
    assert_eq!(lines[0]["number"], truth(&first), "{}", lines[0]);
    assert_eq!(lines[1]["number"], truth(&second), "{}", lines[1]);
    let digits = lines[0]["digits"].as_array().unwrap();
    assert_eq!(digits.len(), 4);
    // Boxes in the picture's pixels, left to right, each with its ten probabilities.
    let boxes: Vec<Vec<f64>> = digits
        .iter()
        .map(|d| {
            d["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    for (k, b) in boxes.iter().enumerate() {
        let field = (8.0 + 24.0 * k as f64) * 3.0;
        assert!(
            b[0] >= field - 12.0 && b[0] + b[2] <= field + 84.0 + 12.0,
            "{k}: {b:?}"
        );
        assert!(b[3] > 20.0 * 3.0 * 0.5, "{k}: {b:?}");
        assert_eq!(digits[k]["probabilities"].as_array().unwrap().len(), 10);
        // The shipped model's doubt output: how sure it is that this is one digit.
        let one = digits[k]["one_digit"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&one), "{k}: {one}");
    }
    // One digit: the number is that digit, read exactly as the whole picture.
    assert_eq!(lines[2]["number"], "7");
    assert_eq!(
        lines[2]["digits"][0]["probabilities"],
        lines[2]["probabilities"]
    );
    assert_eq!(lines[2]["digits"][0]["one_digit"], lines[2]["one_digit"]);
    // The plain output prints the number.
    let out = Command::new(env!("CARGO_BIN_EXE_digits"))
        .current_dir(common::root())
        .args(["predict"])
        .arg(dir.join("a.png"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(": {} (4 digits: ", truth(&first))),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
