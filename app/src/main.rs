//! The tablet's build (`/index.html`): panic hook, then mount the field app.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(closeloop_app::field_app);
}
