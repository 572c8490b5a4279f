//! How a message waits in the outbox (`messages.content`): its JSON, compressed.
//!
//! Every accepted message is written to the database and deleted again after delivery. On
//! SQLite each uncompressed body of a couple of kilobytes took a page of its own, written
//! twice (insert, delete) and copied again by the WAL checkpoint: the bodies were nearly half
//! of what the outbox wrote. Text and HTML compress several-fold with LZ4, at a few
//! microseconds per message, so several bodies share a page. On PostgreSQL a compressed body
//! also stays under the size at which the server would compress it itself (TOAST), at the
//! cost of its CPU.
//!
//! Format: the byte [`LZ4`], then an LZ4 block with its decompressed size prepended. Content
//! stored before compression was introduced is plain JSON (an object, so it starts with `{`)
//! and is still read.

use super::OutgoingMessage;
use anyhow::{bail, Context};

/// First byte of compressed content; plain JSON starts with `{`.
const LZ4: u8 = 0x01;

/// A decompressed size beyond this is a damaged row, not a message (the size limit is far
/// lower): refusing it keeps a bad length from allocating gigabytes.
const MAX_DECOMPRESSED: usize = 1 << 30;

/// LZ4 expands a block at most about 255-fold: a length beyond that for the bytes at hand
/// is damaged too, and is refused before its buffer is allocated.
const MAX_RATIO: usize = 255;

/// The bytes to store for `message`.
///
/// Both buffers are sized up front: the JSON grew by doubling, and LZ4 compressed into a
/// zeroed vector of its own that was then shrunk (a copy) and copied into this one, on
/// every accepted message.
pub fn encode(message: &OutgoingMessage) -> anyhow::Result<Vec<u8>> {
    // The text parts and attachments, plus room for the addresses and the JSON around them.
    let mut json = Vec::with_capacity(message.size() + 1024);
    serde_json::to_writer(&mut json, message).context("serialising the message")?;
    let size = u32::try_from(json.len()).context("the message is too large to store")?;
    let mut stored = vec![0; HEADER + lz4_flex::block::get_maximum_output_size(json.len())];
    stored[0] = LZ4;
    stored[1..HEADER].copy_from_slice(&size.to_le_bytes());
    let compressed = lz4_flex::block::compress_into(&json, &mut stored[HEADER..]).context("compressing the message")?;
    stored.truncate(HEADER + compressed);
    Ok(stored)
}

/// The format byte and the decompressed size (`u32`, little-endian) before the LZ4 block.
const HEADER: usize = 5;

/// The message stored as `bytes` (compressed, or plain JSON from before compression).
pub fn decode(bytes: &[u8]) -> anyhow::Result<OutgoingMessage> {
    match bytes.first() {
        Some(&LZ4) => {
            let block = &bytes[1..];
            let size = block.get(..4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize);
            match size {
                Some(size) if size <= MAX_DECOMPRESSED && size <= block.len().saturating_mul(MAX_RATIO) => {}
                _ => bail!("the stored message has an invalid length"),
            }
            let json = lz4_flex::block::decompress_size_prepended(block).context("decompressing the message")?;
            serde_json::from_slice(&json).context("parsing the message")
        }
        Some(b'{') => serde_json::from_slice(bytes).context("parsing the message"),
        _ => bail!("the stored message is in an unknown format"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outgoing::MessageLimits;
    use postamt_wire::{MailboxInput, SendMessageRequest};

    fn message(text: &str) -> OutgoingMessage {
        let request = SendMessageRequest {
            category: "finance".into(),
            to: vec![MailboxInput::Text("Erika <erika@example.org>".into())],
            subject: "Rechnung 2026-117".into(),
            text: Some(text.into()),
            ..Default::default()
        };
        OutgoingMessage::parse(request, MessageLimits { max_message_bytes: 1 << 20, max_recipients: 10 }, "example.org")
            .unwrap()
    }

    #[test]
    fn a_message_comes_back_as_it_was_stored_and_smaller() {
        let text = "Guten Tag, anbei die Rechnung für März. Grüße aus dem Büro.\n".repeat(40);
        let msg = message(&text);
        let stored = encode(&msg).unwrap();
        assert_eq!(decode(&stored).unwrap(), msg);
        let json = serde_json::to_vec(&msg).unwrap();
        assert!(stored.len() * 3 < json.len(), "{} bytes stored for {} bytes of JSON", stored.len(), json.len());
    }

    /// The layout is fixed: rows stored by earlier versions must read, and so must these.
    #[test]
    fn the_bytes_are_the_format_byte_and_a_size_prepended_lz4_block() {
        let msg = message(&"Zeile mit Umlauten: äöü\n".repeat(100));
        let mut expected = vec![LZ4];
        expected.extend_from_slice(&lz4_flex::block::compress_prepend_size(&serde_json::to_vec(&msg).unwrap()));
        assert_eq!(encode(&msg).unwrap(), expected);
    }

    #[test]
    fn content_stored_as_plain_json_is_still_read() {
        let msg = message("Hallo");
        assert_eq!(decode(&serde_json::to_vec(&msg).unwrap()).unwrap(), msg);
    }

    #[test]
    fn damaged_content_is_an_error_not_a_panic_or_a_huge_allocation() {
        let stored = encode(&message("Hallo")).unwrap();
        assert!(decode(&stored[..stored.len() - 3]).is_err(), "truncated");
        let mut huge = vec![LZ4];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(b"garbage");
        assert!(decode(&huge).is_err(), "absurd length");
        let mut inflated = vec![LZ4];
        inflated.extend_from_slice(&(100u32 << 20).to_le_bytes());
        inflated.extend_from_slice(b"garbage");
        assert!(decode(&inflated).is_err(), "100 MiB claimed for 11 bytes");
        let big = message(&"x".repeat(200_000));
        assert_eq!(decode(&encode(&big).unwrap()).unwrap(), big, "highly compressed content still reads");
        assert!(decode(b"").is_err());
        assert!(decode(b"\x07abc").is_err(), "unknown format");
    }
}
