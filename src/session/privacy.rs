//! Pseudonyms for shopper ids (the privacy switch): the display, the exports and the batch
//! file use the same one.

/// A stable pseudonym for a shopper id under a session salt.
pub fn pseudonym(id: &str, salt: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{salt}\u{1f}{id}").as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("shopper-{hex}")
}
