//! Random and damaged input never panics the loaders the page and the command line share: IDX
//! files (raw and gzip), ONNX models and the report. Each either loads or is an error naming the
//! file (issue 11's property tests).

use std::io::Write;

use digits_core::idx::parse_labelled;
use digits_core::model::Model;
use digits_core::report::ModelReport;
use proptest::prelude::*;

const MODEL: &[u8] = include_bytes!("../../../web/assets/model.onnx");
const REPORT: &[u8] = include_bytes!("../../../web/assets/model.report.json");

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An IDX header (magic with `dims` dimensions, then the sizes) followed by `data`.
fn idx(kind: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, kind];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// `bytes` with the byte at each position of `edits` replaced (positions wrap around).
fn damaged(bytes: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(at, v) in edits {
        let n = out.len();
        out[at % n] = v;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn idx_files_never_panic(
        count in 0u32..5,
        rows in 0u32..40,
        cols in 0u32..40,
        labels in proptest::collection::vec(any::<u8>(), 0..6),
        data in proptest::collection::vec(any::<u8>(), 0..4000),
        big in any::<u32>(),
        zipped in any::<bool>(),
    ) {
        let mut images = idx(3, &[count, rows, cols], &data);
        if big % 3 == 0 {
            // Absurd declared sizes must not overflow or allocate.
            images = idx(3, &[big, big, big], &data);
        }
        let labels = idx(1, &[labels.len() as u32], &labels);
        let (images, labels) = if zipped { (gzip(&images), gzip(&labels)) } else { (images, labels) };
        if let Err(e) = parse_labelled((&images, "imgs"), (&labels, "labs")) {
            let e = e.to_string();
            prop_assert!(e.starts_with("imgs") || e.starts_with("labs"), "{}", e);
        }
    }

    #[test]
    fn random_bytes_are_never_a_model(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let e = Model::from_bytes(&bytes, "random.onnx").err();
        prop_assert!(e.is_some_and(|e| e.to_string().starts_with("random.onnx: ")));
    }

    #[test]
    fn damaged_reports_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        if let Err(e) = ModelReport::from_json(&damaged(REPORT, &edits), "r.json") {
            prop_assert!(e.to_string().starts_with("r.json: "));
        }
    }
}

proptest! {
    // Each case optimizes a model with tract: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn damaged_models_load_or_fail_cleanly(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        match Model::from_bytes_for_batch(&damaged(MODEL, &edits), "damaged.onnx", 1) {
            Ok(m) => {
                // Whatever loads answers with one row of probabilities per image.
                let p = m.predict(&vec![0.5; digits_core::PIXELS]).unwrap();
                prop_assert_eq!(p.len(), 1);
            }
            Err(e) => prop_assert!(e.to_string().starts_with("damaged.onnx: ")),
        }
    }
}
