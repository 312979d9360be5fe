// The website's feedback form at /feedback: no account, no head-office code.
// What is typed is kept in localStorage until it is accepted, so a closed
// tab or a dropped connection loses nothing; a send that cannot reach the
// server is tried again every few seconds. The server checks everything
// again; `website` is a honeypot people never see.
"use strict";

const key = "closeloop.feedback";
const MAX = 2000;

const WORDS = {
  title: ["意见反馈", "Send us your feedback"],
  intro: ["告诉我们发生了什么，我们会尽快处理。无需注册。", "Tell us what happened and we will look into it. No account needed."],
  description: ["发生了什么？", "What happened?"],
  order: ["订单号（选填）", "Order number (optional)"],
  nickname: ["怎么称呼您（选填）", "Your name or nickname (optional)"],
  send: ["提交", "Send"],
  sending: ["正在提交…", "Sending…"],
  description_empty: ["请写下发生了什么。", "Please tell us what happened."],
  description_too_long: ["内容太长，请缩短到 2000 字以内。", "This is too long; please keep it under 2,000 characters."],
  nickname_too_long: ["称呼太长，请缩短。", "The name is too long; please shorten it."],
  feedback_invalid: ["有内容不符合要求，请检查后再提交。", "Something is not right; please check and send again."],
  waiting: ["网络连接中断：内容已保存在本机，恢复连接后会自动提交。", "No connection: what you wrote is kept on this device and will be sent once you are back online."],
  busy: ["提交太频繁或服务器繁忙，请稍后再试。", "Too many attempts or the server is busy; please try again later."],
  thanks: ["谢谢！我们已收到您的反馈。", "Thank you! We have your feedback."],
  reference: ["您的反馈编号：", "Your reference: "],
  next: ["我们会在 1 个工作日内查看并处理。", "We will look at it within one working day."],
  chars: ["{n}/{m} 字", "{n}/{m} characters"],
};
const w = wordsOf(WORDS);
const main = document.getElementById("feedback");

let form = (() => { try { return JSON.parse(localStorage.getItem(key)); } catch { return null; } })() ||
  { description: "", order_number: "", nickname: "", pending: false };
const keep = () => { try { localStorage.setItem(key, JSON.stringify(form)); } catch { /* kept in memory */ } };

function field(name, label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

let retry = null;
function render(problem, waiting) {
  const count = el("p", { class: "note" }, w("chars", { n: form.description.length, m: MAX }));
  const text = (name, attrs = {}) => el("input", {
    type: "text", name, value: form[name] || "", maxlength: 64, ...attrs,
    oninput: (e) => { form[name] = e.target.value; keep(); },
  });
  main.replaceChildren(
    el("h1", {}, w("title")),
    el("p", { class: "note" }, w("intro")),
    el("form", { class: "card", novalidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
      field("description", w("description"), el("textarea", {
        name: "description", maxlength: MAX, required: true, "aria-invalid": problem ? "true" : false,
        oninput: (e) => {
          form.description = e.target.value;
          keep();
          count.textContent = w("chars", { n: e.target.value.length, m: MAX });
          // What was wrong is being fixed: the message goes.
          e.target.removeAttribute("aria-invalid");
          main.querySelector(".problem[role=alert]")?.remove();
        },
      }, form.description)),
      count,
      field("order_number", w("order"), text("order_number")),
      field("nickname", w("nickname"), text("nickname", { autocomplete: "nickname" })),
      // The honeypot: out of sight and out of the tab order.
      el("label", { class: "trap", "aria-hidden": "true" }, "Website",
        el("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off" })),
      problem ? el("p", { class: waiting ? "waiting" : "problem", role: "alert" }, problem) : null,
      el("div", { class: "nav" }, el("button", { type: "submit", class: "primary", "data-testid": "send" }, w("send"))),
    ),
  );
}

async function send() {
  clearTimeout(retry);
  if (!form.description.trim()) return render(w("description_empty"));
  form.pending = true;
  keep();
  const trap = main.querySelector('input[name="website"]')?.value || "";
  main.querySelector("[data-testid=send]")?.setAttribute("disabled", "");
  let resp;
  try {
    resp = await fetch("/api/feedback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ description: form.description, order_number: form.order_number, nickname: form.nickname, website: trap }),
    });
  } catch {
    render(w("waiting"), true);
    retry = setTimeout(send, 3000);
    return;
  }
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) {
    try { localStorage.removeItem(key); } catch { /* nothing kept */ }
    main.replaceChildren(el("section", { class: "card", "data-testid": "thanks" },
      el("h1", {}, w("thanks")),
      el("p", {}, w("reference"), el("strong", { "data-testid": "reference" }, body.reference)),
      el("p", { class: "note" }, w("next"))));
    return;
  }
  if (resp.status === 400 && WORDS[body.code]) {
    form.pending = false;
    keep();
    return render(w(body.code));
  }
  render(w("busy"), true);
  const wait = Number(resp.headers.get("retry-after")) || 5;
  retry = setTimeout(send, Math.min(wait, 60) * 1000);
}

window.addEventListener("online", () => { if (retry) send(); });
render();
if (form.pending) send();
