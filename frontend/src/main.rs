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
mod mail_test;
mod pages;
mod state;
mod validate;

/// A panic stops the wasm module for good: say so on the page instead of leaving a dead form.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
        let Some(body) = doc.body() else { return };
        if let Ok(el) = doc.create_element("div") {
            el.set_class_name("fatal");
            el.set_attribute("role", "alert").ok();
            el.set_text_content(Some(
                "Interner Fehler – bitte laden Sie die Seite neu. / Internal error – please reload the page.",
            ));
            let _ = body.prepend_with_node_1(&el);
        }
    }));
}

fn main() {
    install_panic_hook();
    // The "loading" note from index.html gives way to the app.
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
