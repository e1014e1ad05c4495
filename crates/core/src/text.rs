//! How the page writes numbers in its prose (the page and its training section alike).

/// An integer with a comma between groups of three digits, as the page's prose writes counts:
/// 10,000.
pub fn grouped(n: impl Into<u64>) -> String {
    let n: u64 = n.into();
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0u8), "0");
        assert_eq!(grouped(999u16), "999");
        assert_eq!(grouped(1000u32), "1,000");
        assert_eq!(grouped(9956u32), "9,956");
        assert_eq!(grouped(10_000u64), "10,000");
        assert_eq!(grouped(1_234_567u64), "1,234,567");
    }
}
