//! Small DOM helpers: find an element by id, move the keyboard focus, bring an element into view.

use wasm_bindgen::JsCast;
use web_sys::{FocusOptions, HtmlElement, ScrollBehavior, ScrollIntoViewOptions, ScrollLogicalPosition};

use crate::mail_test::input_id;

fn element(id: &str) -> Option<HtmlElement> {
    web_sys::window()?.document()?.get_element_by_id(id)?.dyn_into::<HtmlElement>().ok()
}

/// Moves the keyboard focus to the element with this id; false when it is not on the page.
pub fn focus(id: &str) -> bool {
    element(id).is_some_and(|el| el.focus().is_ok())
}

/// Moves the keyboard focus to the input of the first of `candidates` (form field names, or
/// element ids of inputs outside the form) that is on the page.
pub fn focus_first<'a>(candidates: impl IntoIterator<Item = &'a str>) {
    for field in candidates {
        if focus(&input_id(field)) {
            return;
        }
    }
}

fn reduced_motion() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-reduced-motion: reduce)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Scrolls the element into the middle of the window (smoothly, unless the user asked for less
/// motion) and gives it the keyboard focus. False when it is not on the page.
pub fn reveal(id: &str) -> bool {
    let Some(el) = element(id) else { return false };
    let options = ScrollIntoViewOptions::new();
    options.set_block(ScrollLogicalPosition::Center);
    options.set_behavior(if reduced_motion() { ScrollBehavior::Instant } else { ScrollBehavior::Smooth });
    el.scroll_into_view_with_scroll_into_view_options(&options);
    let focus = FocusOptions::new();
    focus.set_prevent_scroll(true);
    let _ = el.focus_with_options(&focus);
    true
}
