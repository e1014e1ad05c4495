//! Pixels as a model takes them: bytes 0..=255 (0 = paper) to floats 0.0..=1.0 (0 = background,
//! 1 = ink). Shared by the runtime (`model`), the data sets and the trainer.

/// Converts bytes 0..=255 to the model's 0.0..=1.0 input scale.
pub fn to_input(pixels: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; pixels.len()];
    to_input_into(pixels, &mut out);
    out
}

/// [`to_input`] into a buffer of the same length.
pub fn to_input_into(pixels: &[u8], out: &mut [f32]) {
    debug_assert_eq!(pixels.len(), out.len());
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = p as f32 / 255.0;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_become_the_unit_interval() {
        assert_eq!(super::to_input(&[0, 51, 255]), vec![0.0, 0.2, 1.0]);
    }
}
