//! The notification bell: unread count in the header, the latest
//! notifications in a list; opening one marks it read and opens its
//! record. Re-read whenever the server pushes a stored change (an
//! escalation is one).

use closeloop_shared::api::{NotificationItem, Notifications};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::i18n::{format_time, t};
use crate::repo::Repo;
use crate::routes::office::live::Push;
use crate::session::{self, Session};

#[component]
pub fn Bell() -> impl IntoView {
    let session = expect_context::<Repo>().session;
    let push = expect_context::<Push>();
    let list = RwSignal::new(None::<Notifications>);
    let open = RwSignal::new(false);
    let reload = move || {
        spawn_local(async move {
            if let Ok((200, body)) = session::call("GET", "/api/notifications", None).await {
                list.set(serde_json::from_str(&body).ok());
            }
        })
    };
    Effect::new(move |_| {
        push.track();
        if matches!(session.get(), Session::SignedIn { .. }) {
            reload();
        }
    });
    let unread = move || list.with(|l| l.as_ref().map_or(0, |l| l.unread));
    let navigate = use_navigate();
    let open_item = Callback::new(move |n: NotificationItem| {
        let navigate = navigate.clone();
        open.set(false);
        spawn_local(async move {
            if !n.read {
                let _ =
                    session::call("POST", &format!("/api/notifications/{}/read", n.id), None).await;
            }
            reload();
            navigate(&format!("/records/{}", n.record_id), Default::default());
        });
    });
    view! {
        <Show when=move || matches!(session.get(), Session::SignedIn { .. })>
            <div class="bell">
                <button class="bell-button" data-testid="bell" aria-expanded=move || open.get().to_string()
                    aria-label=move || format!("{} {}", t("bell.title"), unread())
                    on:click=move |_| open.update(|o| *o = !*o)>
                    {move || t("bell.title")}
                    <span class="bell-count" data-unread=move || unread().to_string()
                        class:zero=move || unread() == 0>{unread}</span>
                </button>
                <Show when=move || open.get()>
                    <div class="bell-list" role="dialog" aria-label=move || t("bell.title")>
                        <div class="bell-head">
                            <strong>{move || t("bell.title")}</strong>
                            <button class="secondary" data-testid="bell-read-all" on:click=move |_| {
                                spawn_local(async move {
                                    let _ = session::call("POST", "/api/notifications/read-all", None).await;
                                    reload();
                                });
                            }>{move || t("bell.read_all")}</button>
                        </div>
                        {
                            move || {
                                let items = list.with(|l| l.as_ref().map(|l| l.items.clone()).unwrap_or_default());
                                if items.is_empty() {
                                    return view! { <p class="empty">{move || t("bell.empty")}</p> }.into_any();
                                }
                                view! {
                                    <ul>
                                        {items.into_iter().map(|n| {
                                            let item = n.clone();
                                            let kind = n.kind.clone();
                                            view! {
                                                <li class:unread=!n.read data-notification=n.id>
                                                    <button class="link" on:click=move |_| open_item.run(item.clone())>
                                                        <strong>{move || t(&format!("bell.kind.{kind}"))}</strong>
                                                        <span>{n.customer.clone().unwrap_or_default()} " · " {n.description.clone().unwrap_or_default()}</span>
                                                        <small>{format_time(n.created_at)}</small>
                                                    </button>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }
                        }
                    </div>
                </Show>
            </div>
        </Show>
    }
}
