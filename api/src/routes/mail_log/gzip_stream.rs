//! A gzip stream (RFC 1952) made of pieces compressed independently, so that the export can
//! compress each slice on the blocking thread that rendered it, two at a time, instead of
//! running one encoder on the HTTP worker.
//!
//! Each piece is raw DEFLATE from a fresh compressor, ended with a sync flush: non-final
//! blocks that end on a byte boundary and refer back only into the piece itself. Such
//! pieces can follow one another in one DEFLATE stream (as `pigz` does); the stream then
//! ends with an empty final block and the gzip trailer, whose CRC-32 is combined from the
//! pieces' own. The result is one ordinary gzip member that any decoder reads.

use flate2::{Compress, Compression, FlushCompress, Status};

/// Fast compression: the export streams a million rows at hundreds of thousands a second,
/// and CSV shrinks to a fifth or less even at level 1.
const LEVEL: u32 = 1;

/// The gzip header: deflate, no name or time, unknown OS.
pub const HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];

/// One slice, compressed, with what the trailer needs of it.
pub struct Piece {
    pub deflate: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
}

/// Compresses `data` into a piece that can be placed anywhere in the stream.
pub fn compress(data: &[u8]) -> std::io::Result<Piece> {
    let mut compressor = Compress::new(Compression::new(LEVEL), false);
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    loop {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        let status = compressor
            .compress_vec(&data[consumed.min(data.len())..], &mut out, FlushCompress::Sync)
            .map_err(std::io::Error::other)?;
        let all_in = compressor.total_in() == data.len() as u64;
        // zlib's rule: a flush is complete when it left output space unused.
        if all_in && out.len() < out.capacity() {
            break;
        }
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(4096));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    Ok(Piece { deflate: out, crc, len: data.len() as u64 })
}

/// Sums up the pieces in stream order; [`Trailer::finish`] ends the stream.
#[derive(Default)]
pub struct Trailer {
    crc: crc32fast::Hasher,
    len: u64,
}

impl Trailer {
    pub fn add(&mut self, piece: &Piece) {
        self.crc.combine(&piece.crc);
        self.len += piece.len;
    }

    /// An empty final block (fixed Huffman, end-of-block only), CRC-32 and length mod 2^32.
    pub fn finish(self) -> Vec<u8> {
        let mut out = vec![0x03, 0x00];
        out.extend_from_slice(&self.crc.finalize().to_le_bytes());
        out.extend_from_slice(&((self.len & 0xffff_ffff) as u32).to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gzip(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = HEADER.to_vec();
        let mut trailer = Trailer::default();
        for data in pieces {
            let piece = compress(data).unwrap();
            trailer.add(&piece);
            out.extend_from_slice(&piece.deflate);
        }
        out.extend(trailer.finish());
        out
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        // GzDecoder (not MultiGzDecoder): the stream must be one member.
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
        out
    }

    #[test]
    fn pieces_form_one_gzip_member_with_the_right_checksum() {
        let a = "id,created_at,status\r\n".repeat(2000);
        let b: String = (0..50_000).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let c = "üñí€\r\n".repeat(300);
        let bytes = gzip(&[a.as_bytes(), b"", b.as_bytes(), c.as_bytes()]);
        assert_eq!(gunzip(&bytes), [a.as_bytes(), b.as_bytes(), c.as_bytes()].concat());
        assert!(bytes.len() < (a.len() + b.len() + c.len()) / 3, "compressed to {} bytes", bytes.len());
    }

    #[test]
    fn an_empty_stream_is_valid() {
        assert_eq!(gunzip(&gzip(&[])), b"");
    }

    #[test]
    fn incompressible_data_needs_more_output_room_and_still_round_trips() {
        let mut x: u32 = 0x1234_5678;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(gunzip(&gzip(&[&noise, &noise[..10]])), [&noise[..], &noise[..10]].concat());
    }
}
