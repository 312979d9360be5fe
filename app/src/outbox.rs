//! Background senders (contacts, attachment files, the tombstone reader):
//! one run at a time per kind; a call during a run makes it go round once
//! more, and a run that held something back tries again after a pause
//! while the relay is connected (offline, the next connection starts one).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::repo::{Inner, SyncStatus};

/// Pause before sending what was held back again while online.
const RETRY_MS: i32 = 5_000;

/// Whether a sender runs, and whether to run it once more.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    running: Cell<bool>,
    again: Cell<bool>,
}

/// Starts `round` (or asks the running one to go round once more).
/// `round` returns whether it held something back for later.
pub(crate) fn kick<F, Fut>(this: &Rc<Inner>, runs: fn(&Inner) -> &Runs, round: F)
where
    F: Fn(Rc<Inner>) -> Fut + Copy + 'static,
    Fut: Future<Output = bool> + 'static,
{
    runs(this).again.set(true);
    if runs(this).running.replace(true) {
        return;
    }
    let this = this.clone();
    spawn_local(async move {
        let mut held_back = false;
        while runs(&this).again.replace(false) {
            held_back = round(this.clone()).await;
        }
        runs(&this).running.set(false);
        if held_back {
            retry(&this, runs, round);
        }
    });
}

fn retry<F, Fut>(this: &Rc<Inner>, runs: fn(&Inner) -> &Runs, round: F)
where
    F: Fn(Rc<Inner>) -> Fut + Copy + 'static,
    Fut: Future<Output = bool> + 'static,
{
    let weak = Rc::downgrade(this);
    let again = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(this) = weak.upgrade()
            && this.status.get_untracked() == SyncStatus::Online
        {
            kick(&this, runs, round);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w
            .set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), RETRY_MS);
    }
}
