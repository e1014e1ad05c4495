//! Random input never panics the command line's own parsers: the architecture spec and the
//! picture decoder (issue 11's property tests).

use digits_train::predict::decode;
use digits_train::spec;
use proptest::prelude::*;

/// Spec-like strings: real tokens, numbers of any size, and noise, joined by commas.
fn spec_string() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("bn".to_string()),
        Just("relu".to_string()),
        Just("flatten".to_string()),
        Just("gap".to_string()),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(c, k, p)| format!(
            "conv{c}k{}p{}",
            k % 40,
            p % 40
        )),
        (1u64..5000, 1u64..8).prop_map(|(c, k)| format!("conv{c}k{k}")),
        any::<u64>().prop_map(|n| format!("fc{n}")),
        (1u64..5000).prop_map(|n| format!("fc{n}")),
        any::<u64>().prop_map(|k| format!("maxpool{}", k % 30)),
        any::<f32>().prop_map(|p| format!("drop{p}")),
        "[a-z0-9.+-]{0,12}",
    ];
    proptest::collection::vec(token, 0..12).prop_map(|t| t.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn specs_never_panic(spec in spec_string()) {
        if let Ok(layers) = spec::parse(&spec) {
            // Whatever parses is within the limits, so building it is safe.
            let params: usize = layers.iter().map(|&(op, input, _)| spec::param_len(op, input).unwrap()).sum();
            prop_assert!(params <= spec::MAX_PARAMETERS);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn damaged_pictures_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..10),
        png in any::<bool>(),
    ) {
        let img = image::GrayImage::from_fn(40, 30, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
        let mut bytes = Vec::new();
        let format = if png { image::ImageFormat::Png } else { image::ImageFormat::Jpeg };
        img.write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
        for (at, v) in edits {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        let _ = decode(&bytes);
    }
}
