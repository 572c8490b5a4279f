//! Lower-case hex, as stored for token hashes and request fingerprints.

/// `bytes` as lower-case hex. One allocation: formatting each byte with `format!` cost a
/// string per byte on every authenticated request.
pub fn lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_become_two_lower_case_digits_each() {
        assert_eq!(super::lower(&[0x00, 0x0f, 0xa0, 0xff, 0x5c]), "000fa0ff5c");
        assert_eq!(super::lower(&[]), "");
    }
}
