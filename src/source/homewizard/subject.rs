//! The subject CN of a certificate, read from the DER of its subject name
//! (webpki hands out the raw name but does not read CNs).
//!
//! A Name is a SEQUENCE of SETs of SEQUENCE { OID, value }; webpki gives
//! the SEQUENCE's contents. Only definite lengths of up to four bytes are
//! read (DER allows nothing else here); anything malformed gives `None`.

/// The OID 2.5.4.3 (commonName), DER-encoded.
const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_OID: u8 = 0x06;
/// UTF8String, PrintableString, IA5String: the string types a CN is
/// written in.
const TEXT_TAGS: &[u8] = &[0x0c, 0x13, 0x16];

/// The first CN in `name` (the contents of a DER Name), if it is text.
pub fn common_name(name: &[u8]) -> Option<&str> {
    let mut rest = name;
    while !rest.is_empty() {
        let (tag, set, after) = tlv(rest)?;
        rest = after;
        if tag != TAG_SET {
            return None;
        }
        let mut attrs = set;
        while !attrs.is_empty() {
            let (tag, attr, after) = tlv(attrs)?;
            attrs = after;
            if tag != TAG_SEQUENCE {
                return None;
            }
            let (oid_tag, oid, value) = tlv(attr)?;
            if oid_tag == TAG_OID && oid == CN_OID {
                let (vtag, text, _) = tlv(value)?;
                return TEXT_TAGS
                    .contains(&vtag)
                    .then(|| std::str::from_utf8(text).ok())
                    .flatten();
            }
        }
    }
    None
}

/// One tag-length-value: the tag, the contents and what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    Some((tag, contents, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SET { SEQUENCE { OID, UTF8String value } } for `oid`.
    fn attr(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let mut seq = vec![TAG_OID, oid.len() as u8];
        seq.extend_from_slice(oid);
        seq.extend_from_slice(&[tag, value.len() as u8]);
        seq.extend_from_slice(value);
        let mut set = vec![TAG_SEQUENCE, seq.len() as u8];
        set.extend_from_slice(&seq);
        let mut out = vec![TAG_SET, set.len() as u8];
        out.extend_from_slice(&set);
        out
    }

    #[test]
    fn finds_the_cn_among_other_attributes() {
        let mut name = attr(&[0x55, 0x04, 0x06], 0x13, b"NL");
        name.extend(attr(CN_OID, 0x0c, b"appliance/p1dongle/5c2fafaabbcc"));
        assert_eq!(common_name(&name), Some("appliance/p1dongle/5c2fafaabbcc"));
    }

    #[test]
    fn malformed_or_missing_gives_none_without_panicking() {
        let name = attr(CN_OID, 0x0c, b"x");
        for cut in 0..name.len() {
            assert_eq!(common_name(&name[..cut]), None);
        }
        assert_eq!(common_name(&attr(&[0x55, 0x04, 0x0a], 0x0c, b"org")), None);
        assert_eq!(common_name(&attr(CN_OID, 0x04, b"bytes")), None);
        assert_eq!(common_name(&[TAG_SET, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(common_name(&[TAG_SET, 0x80]), None);
    }
}
