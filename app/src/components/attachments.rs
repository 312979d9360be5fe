//! Photos, video and screenshots on a form and on a record: chosen with
//! the tablet's camera or gallery (the file input offers both), kept on
//! this device at once (see `crate::attachments`) and shown as
//! thumbnails read from there, so they show offline; a file this device
//! does not hold comes from the server.

use closeloop_shared::record::{ATTACHMENT_TYPES, Attachment};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::i18n::{lang, t, tr};
use crate::repo::Repo;
use crate::upload;

/// A file input adding to `files`, with the files as removable thumbnails.
#[component]
pub fn AttachmentPicker(files: RwSignal<Vec<Attachment>>) -> impl IntoView {
    let remove = Callback::new(move |sha: String| files.update(|f| f.retain(|a| a.sha256 != sha)));
    view! {
        <div class="attachments picker" data-testid="attachment-picker">
            <span class="label">{move || t("record.attachments")} " " <small class="optional">{move || t("capture.optional")}</small></span>
            <AddFiles on_kept=Callback::new(move |a: Attachment| files.update(|f| {
                if !f.iter().any(|x| x.sha256 == a.sha256) {
                    f.push(a);
                }
            })) />
            <ul>
                <For each=move || files.get() key=|a| a.sha256.clone() let:a>
                    <AttachmentThumb attachment=a on_remove=remove />
                </For>
            </ul>
        </div>
    }
}

/// The "add photo or video" button: each chosen file is kept on this
/// device, then handed to `on_kept`; what cannot be kept is said.
#[component]
pub fn AddFiles(on_kept: Callback<Attachment>) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let l = lang();
    let problem = RwSignal::new(None::<String>);
    let keeping = RwSignal::new(0usize);
    let on_change = move |ev: web_sys::Event| {
        let lang = l.get_untracked();
        problem.set(None);
        let chosen = match upload::chosen(&ev, lang) {
            Ok(files) => files,
            Err(why) => {
                problem.set(Some(why));
                return;
            }
        };
        // Cleared afterwards, so the same file may be chosen again later.
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        let repo = repo.clone();
        keeping.update(|k| *k += chosen.len());
        spawn_local(async move {
            for file in chosen {
                match repo.keep_file(lang, &file).await {
                    Ok(a) => on_kept.run(a),
                    Err(why) => problem.set(Some(why)),
                }
                keeping.update(|k| *k = k.saturating_sub(1));
            }
            if let Some(input) = input {
                input.set_value("");
            }
        });
    };
    view! {
        <label class="button secondary add-files">
            <span>{move || t("attach.add")}</span>
            <input
                type="file"
                multiple
                class="visually-hidden"
                data-testid="attach-files"
                accept=ATTACHMENT_TYPES.join(",")
                on:change=on_change
            />
        </label>
        <small class="hint">{move || t("attach.hint")}</small>
        <Show when=move || { keeping.get() > 0 }>
            <p role="status" class="hint" data-testid="attach-keeping">{move || t("attach.keeping")}</p>
        </Show>
        <p role="alert" class="problem" data-testid="attach-problem">{move || problem.get()}</p>
    }
}

/// One file as a thumbnail (an image) or its name, from this device if
/// it holds it; with `on_remove`, a button to take it off the form.
#[component]
pub fn AttachmentThumb(
    attachment: Attachment,
    #[prop(optional)] on_remove: Option<Callback<String>>,
) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let server = format!("/api/attachments/{}", attachment.sha256);
    let src = RwSignal::new(None::<String>);
    {
        let sha = attachment.sha256.clone();
        let server = server.clone();
        spawn_local(async move {
            src.set(Some(repo.local_file_url(&sha).await.unwrap_or(server)));
        });
    }
    on_cleanup(move || {
        if let Some(url) = src.try_get_untracked().flatten()
            && url.starts_with("blob:")
        {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
    let image = attachment.media_type.starts_with("image/");
    let name = attachment.name.clone();
    let size = format!("{:.1} KB", attachment.size as f64 / 1024.0);
    let sha = attachment.sha256.clone();
    view! {
        <li data-testid="attachment" data-sha256=attachment.sha256.clone()>
            <a href=move || src.get().unwrap_or_default() target="_blank" rel="noopener">
                {if image {
                    let alt = name.clone();
                    view! { <img src=move || src.get() alt=alt /> }.into_any()
                } else {
                    view! { <span class="file-icon" aria-hidden="true">"▶"</span> }.into_any()
                }}
            </a>
            <small>{name.clone()} " · " {size}</small>
            {on_remove.map(|cb| {
                let sha = sha.clone();
                view! {
                    <button type="button" class="secondary small" data-testid="attachment-remove"
                        on:click=move |_| cb.run(sha.clone())>
                        {move || tr(lang().get(), "attach.remove")}
                    </button>
                }
            })}
        </li>
    }
}
