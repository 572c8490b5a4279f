//! OpenSSL, as libpq uses it, must not clean itself up at process exit.
//!
//! libpq encrypts its connections with the system's OpenSSL (PostgreSQL on Debian offers TLS
//! even on loopback). OpenSSL's first initialisation registers an `atexit` cleanup that frees
//! its global state, while the writer threads and the pool's connections, which outlive
//! `main`, may still use it: glibc then aborts with "double free or corruption" as the
//! process ends (openssl/openssl#6214). The choice is made once per process, by whoever
//! initialises OpenSSL first, and libpq does not opt out. So this initialises it first, the
//! way rust-openssl does (`OPENSSL_INIT_NO_ATEXIT`); the OS frees the memory at exit anyway.

/// Call before the first PostgreSQL connection of the process; later calls do nothing.
pub fn init() {
    openssl_sys::init();
}
