//! Postamt's admin page: a Leptos client-side-rendered app, built to wasm32 by
//! `scripts/build-frontend` and served by the `postamt` binary at `/`.

mod api;
mod app;
mod components;
mod dates;
mod dom;
mod fault;
mod form;
mod i18n;
mod json;
mod mail_test;
mod pages;
mod state;
mod validate;

// The page is built with panic=immediate-abort (see scripts/build-frontend): a panic traps
// the module without running a panic hook, so boot.js, which catches the trap, tells the
// admin to reload.

fn main() {
    // The "loading" note from index.html gives way to the app.
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
