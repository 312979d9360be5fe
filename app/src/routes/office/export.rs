//! The inbox's export (S002 §7): the filtered list as CSV or XLSX. The file
//! is read as it streams in, with the rows (CSV) or bytes (XLSX) so far on
//! screen, then saved; a million rows take a while and the user sees them
//! come.

use closeloop_shared::api::RecordQuery;
use js_sys::{Array, Reflect, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, HtmlAnchorElement, ReadableStreamDefaultReader, Response, Url,
};

use crate::i18n::{Lang, lang, tr};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Progress {
    Idle,
    /// Asked; the server prepares the file (an XLSX is complete before it
    /// is sent).
    Preparing,
    Receiving {
        csv: bool,
        rows: u64,
        bytes: u64,
        total: Option<u64>,
        length: Option<u64>,
    },
    Done(u64),
    Failed(&'static str),
}

/// `12,345`: thousands apart, as both languages read them.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn words(l: Lang, p: Progress) -> String {
    match p {
        Progress::Idle => String::new(),
        Progress::Preparing => tr(l, "export.preparing").into(),
        Progress::Receiving {
            csv: true,
            rows,
            total,
            ..
        } => {
            let total = total.map_or("?".into(), grouped);
            format!("{} {} / {total}", tr(l, "export.rows"), grouped(rows))
        }
        Progress::Receiving { bytes, length, .. } => match length {
            Some(n) if n > 0 => format!("{} {} %", tr(l, "export.downloading"), bytes * 100 / n),
            _ => format!("{} {} KB", tr(l, "export.downloading"), bytes / 1024),
        },
        Progress::Done(n) => format!("{} {}", tr(l, "export.done"), grouped(n)),
        Progress::Failed(k) => tr(l, k).into(),
    }
}

/// Export buttons and the progress of the running export.
#[component]
pub fn Export(query: RwSignal<RecordQuery>) -> impl IntoView {
    let progress = RwSignal::new(Progress::Idle);
    let running = move || {
        matches!(
            progress.get(),
            Progress::Preparing | Progress::Receiving { .. }
        )
    };
    let start = move |kind: &'static str| {
        if running() {
            return;
        }
        let mut q = query.get_untracked();
        (q.page, q.per_page) = (None, None);
        let path = format!("/api/records/export.{kind}?{}", q.to_query_string());
        progress.set(Progress::Preparing);
        spawn_local(async move {
            progress.set(match download(&path, kind, progress).await {
                Ok(n) => Progress::Done(n),
                Err(k) => Progress::Failed(k),
            });
        });
    };
    let fraction = move || match progress.get() {
        Progress::Receiving {
            csv: true,
            rows,
            total: Some(t),
            ..
        } if t > 0 => Some(rows as f64 / t as f64),
        Progress::Receiving {
            csv: false,
            bytes,
            length: Some(n),
            ..
        } if n > 0 => Some(bytes as f64 / n as f64),
        Progress::Done(_) => Some(1.0),
        _ => None,
    };
    view! {
        <div class="export" data-testid="export">
            <button class="secondary" data-testid="export-csv" disabled=running on:click=move |_| start("csv")>
                {move || tr(lang().get(), "export.csv")}
            </button>
            <button class="secondary" data-testid="export-xlsx" disabled=running on:click=move |_| start("xlsx")>
                {move || tr(lang().get(), "export.xlsx")}
            </button>
            {move || (progress.get() != Progress::Idle).then(|| view! {
                {move || match fraction() {
                    Some(f) => view! { <progress max="1" value=f></progress> }.into_any(),
                    None => view! { <progress></progress> }.into_any(),
                }}
                <span class:problem=matches!(progress.get(), Progress::Failed(_)) data-testid="export-progress" aria-live="polite">
                    {move || words(lang().get(), progress.get())}
                </span>
            })}
        </div>
    }
}

/// Fetches the export, reporting as it arrives, and saves it; the number
/// of records it held.
async fn download(
    path: &str,
    kind: &str,
    progress: RwSignal<Progress>,
) -> Result<u64, &'static str> {
    const FAILED: &str = "export.failed";
    let window = web_sys::window().ok_or(FAILED)?;
    let resp: Response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|_| "export.offline")?
        .dyn_into()
        .map_err(|_| FAILED)?;
    if !resp.ok() {
        return Err(if matches!(resp.status(), 401 | 403) {
            "export.forbidden"
        } else {
            FAILED
        });
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (total, length, csv) = (
        header("x-total-count"),
        header("content-length"),
        kind == "csv",
    );
    let reader: ReadableStreamDefaultReader = resp
        .body()
        .ok_or(FAILED)?
        .get_reader()
        .dyn_into()
        .map_err(|_| FAILED)?;
    let parts = Array::new();
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| FAILED)?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            != Some(false)
        {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|_| FAILED)?
            .dyn_into()
            .map_err(|_| FAILED)?;
        bytes += u64::from(value.length());
        if csv {
            lines += value.to_vec().iter().filter(|b| **b == b'\n').count() as u64;
        }
        parts.push(&value);
        // The heading is a line too; a description with line breaks
        // counts more than once until the end corrects it.
        let rows = lines.saturating_sub(1).min(total.unwrap_or(u64::MAX));
        progress.set(Progress::Receiving {
            csv,
            rows,
            bytes,
            total,
            length,
        });
    }
    let bag = BlobPropertyBag::new();
    bag.set_type(if csv {
        "text/csv"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    });
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &bag).map_err(|_| FAILED)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|_| FAILED)?;
    let a: HtmlAnchorElement = window
        .document()
        .and_then(|d| d.create_element("a").ok())
        .and_then(|e| e.dyn_into().ok())
        .ok_or(FAILED)?;
    a.set_href(&url);
    a.set_download(&format!("closeloop-records.{kind}"));
    a.click();
    let _ = Url::revoke_object_url(&url);
    Ok(total.unwrap_or(lines.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
