//! Head office's build (`/office/index.html`): panic hook, then mount the
//! app with every page.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(closeloop_app::office_app);
}
