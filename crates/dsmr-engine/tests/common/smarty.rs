//! Smarty frames built here, for the deframer tests and the Smarty source
//! tests alike.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};

/// Seals `plaintext` as a Smarty frame (general-glo-ciphering, AES-128-GCM,
/// 12-byte tag) with aes-gcm, independently of the deframer under test. The
/// length takes the shortest form, so short frames test those forms too.
pub fn encrypt(
    key: [u8; 16],
    auth: Option<[u8; 16]>,
    title: [u8; 8],
    counter: u32,
    plaintext: &[u8],
) -> Vec<u8> {
    let cipher = AesGcm::<Aes128, U12, U12>::new(&GenericArray::from(key));
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&title);
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    let mut aad = Vec::new();
    if let Some(a) = auth {
        aad.push(0x30);
        aad.extend_from_slice(&a);
    }
    let mut body = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&GenericArray::from(nonce), &aad, &mut body)
        .expect("encrypt");
    let len = 1 + 4 + body.len() + tag.len();
    let mut frame = vec![0xDB, 8];
    frame.extend_from_slice(&title);
    match len {
        0..=0x7F => frame.push(len as u8),
        0x80..=0xFF => frame.extend_from_slice(&[0x81, len as u8]),
        _ => frame.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    frame.push(0x30);
    frame.extend_from_slice(&counter.to_be_bytes());
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&tag);
    frame
}
