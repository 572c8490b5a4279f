//! The ids made for every accepted message: its id and its Message-ID.
//!
//! uuid draws the random bits of each id from the operating system (a `getrandom` system
//! call apiece) unless its `fast-rng` feature adds another copy of `rand`. These take them
//! from rand's thread-local generator instead (ChaCha, seeded and periodically reseeded
//! from the operating system), which this crate uses already: two system calls fewer per
//! message. Neither id is a secret; both only need to be unique.

use rand::RngCore;
use uuid::Uuid;

/// A time-ordered id (UUIDv7): new rows append to the primary-key index instead of landing
/// on random pages of it. Ids made within the same millisecond are in random order.
pub fn time_ordered() -> Uuid {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// A random id (UUIDv4).
pub fn random() -> Uuid {
    let mut random = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut random);
    uuid::Builder::from_random_bytes(random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_well_formed_unique_and_ordered_by_time() {
        let first = time_ordered();
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(random().get_version_num(), 4);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = time_ordered();
        assert!(first.to_string() < later.to_string(), "{first} is not before {later}");
        let ids: std::collections::HashSet<Uuid> = (0..10_000).map(|_| time_ordered()).collect();
        assert_eq!(ids.len(), 10_000);
        let ids: std::collections::HashSet<Uuid> = (0..10_000).map(|_| random()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
