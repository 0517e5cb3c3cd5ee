//! The browser entry point: the pages arrive rendered; only their islands hydrate.

/// Called by the generated JavaScript once the WASM module has loaded, before the islands
/// on the page hydrate.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::start_islands();
}
