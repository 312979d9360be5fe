// The customer's survey page at /s/<token>: no account, no head-office code.
// One question per screen; answers are kept in localStorage while typing, so
// a closed tab or a dropped connection loses nothing; the submit carries an
// id kept with them, so retries after a lost answer store it exactly once.
// The server checks every answer again (shared/src/survey/answers.rs); the
// display logic here mirrors Condition::holds there.
"use strict";

const token = location.pathname.split("/").pop();
const key = "closeloop.survey." + token;

const WORDS = {
  loading: ["正在打开问卷…", "Opening the survey…"],
  next: ["下一题", "Next"],
  back: ["上一题", "Back"],
  send: ["提交", "Send"],
  of: ["第 {n} 题，共 {m} 题", "Question {n} of {m}"],
  required: ["请先回答这一题。", "Please answer this question first."],
  answer_required: ["请先回答这一题。", "Please answer this question first."],
  answer_invalid: ["这个回答不在可选范围内，请重新选择。", "This answer is not one of the choices; please choose again."],
  answer_too_long: ["内容太长，请缩短一些。", "This is too long; please shorten it."],
  sending: ["正在提交…", "Sending…"],
  waiting: ["网络连接中断：您的回答已保存在本机，恢复连接后会自动提交。", "No connection: your answers are kept on this phone and will be sent automatically once you are back online."],
  used: ["这份问卷已经提交过了，谢谢！", "This survey has already been answered. Thank you!"],
  expired: ["这个问卷链接已过期。", "This survey link has expired."],
  unknown: ["这个问卷链接无效。", "This survey link is not valid."],
  offline: ["无法打开问卷：请检查网络后重试。", "Cannot open the survey: check your connection and try again."],
  retry: ["重试", "Try again"],
  busy: ["请求太频繁或服务器繁忙，请稍后重试。", "Too many attempts or the server is busy; please try again in a moment."],
  contact: ["如需帮助，请联系为您服务的门店或客服热线。", "If you need help, please contact the store or our service line."],
  chars: ["{n}/{m} 字", "{n}/{m} characters"],
};
const w = wordsOf(WORDS);
const text = (label) => (zh ? label.zh : label.en);
const main = document.getElementById("survey");

let state = load() || { answers: {}, step: 0, submission: null };
let survey = null;

function load() {
  try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
}
function save() {
  try { localStorage.setItem(key, JSON.stringify(state)); } catch { /* private mode: kept in memory */ }
}

function holds(c, answers) {
  const a = answers[c.question];
  if (c.when === "score_at_most") return typeof a === "number" && a <= c.score;
  if (c.when === "score_at_least") return typeof a === "number" && a >= c.score;
  if (c.when === "chose") return a === c.option || (Array.isArray(a) && a.includes(c.option));
  return false;
}

/** The questions asked given the answers so far (as SurveyDefinition::asked). */
function asked() {
  const shown = {};
  const list = [];
  for (const q of survey.questions) {
    if (!q.show_if || holds(q.show_if, shown)) {
      if (q.key in state.answers) shown[q.key] = state.answers[q.key];
      list.push(q);
    }
  }
  return list;
}

function answered(q) {
  const a = state.answers[q.key];
  if (a == null) return false;
  if (typeof a === "string") return a.trim() !== "";
  if (Array.isArray(a)) return a.length > 0;
  if (typeof a === "object") return Object.keys(a).length === q.kind.rows.length;
  return true;
}

function setAnswer(q, value) {
  state.answers[q.key] = value;
  save();
}

function scale(q, lo, hi, current, pick, label) {
  const buttons = [];
  for (let n = lo; n <= hi; n++) {
    buttons.push(el("button", {
      type: "button", "aria-pressed": String(current === n), "aria-label": `${n}`, "data-score": n,
      onclick: () => pick(n),
    }, String(n)));
  }
  return [
    el("div", { class: hi - lo > 4 ? "scale nps" : "scale", role: "group", "aria-label": label }, buttons),
    el("div", { class: "ends" }, el("span", {}, text(q.kind.low)), el("span", {}, text(q.kind.high))),
  ];
}

function input(q) {
  const k = q.kind;
  const a = state.answers[q.key];
  const rerender = () => render();
  if (k.type === "csat" || k.type === "nps") {
    const [lo, hi] = k.type === "csat" ? [1, 5] : [0, 10];
    return scale(q, lo, hi, a, (n) => { setAnswer(q, n); rerender(); }, text(q.text));
  }
  if (k.type === "single" || k.type === "multiple") {
    const many = k.type === "multiple";
    return k.options.map((o) => el("label", { class: "option" },
      el("input", {
        type: many ? "checkbox" : "radio", name: q.key, value: o.key,
        checked: many ? (a || []).includes(o.key) : a === o.key,
        onchange: (e) => {
          if (!many) return setAnswer(q, o.key);
          const set = new Set(a || []);
          e.target.checked ? set.add(o.key) : set.delete(o.key);
          setAnswer(q, [...set]);
          rerender();
        },
      }), text(o.text)));
  }
  if (k.type === "matrix") {
    return k.rows.map((r) => el("div", { class: "matrix-row" }, el("p", {}, text(r.text)),
      scale(q, 1, 5, (a || {})[r.key], (n) => {
        setAnswer(q, { ...(state.answers[q.key] || {}), [r.key]: n });
        rerender();
      }, text(r.text))));
  }
  const count = el("p", { class: "note" }, w("chars", { n: (a || "").length, m: k.max_chars }));
  return [
    el("textarea", {
      maxlength: k.max_chars, "aria-label": text(q.text),
      oninput: (e) => { setAnswer(q, e.target.value); count.textContent = w("chars", { n: e.target.value.length, m: k.max_chars }); },
    }, a || ""),
    count,
  ];
}

function render(problem) {
  const list = asked();
  state.step = Math.min(state.step, list.length - 1);
  const q = list[state.step];
  const last = state.step === list.length - 1;
  const move = (by) => {
    if (by > 0 && q.required && !answered(q)) return render(w("required"));
    if (by > 0 && last) return send();
    state.step += by;
    save();
    render();
  };
  show(
    state.step === 0 ? el("h1", {}, text(survey.title)) : null,
    state.step === 0 ? el("p", { class: "note" }, text(survey.intro)) : null,
    el("p", { class: "progress", "data-testid": "progress" }, w("of", { n: state.step + 1, m: list.length })),
    el("section", { class: "card", "data-question": q.key },
      el("h2", { id: "q" }, text(q.text)),
      input(q),
      problem ? el("p", { class: "problem", role: "alert" }, problem) : null,
      el("div", { class: "nav" },
        state.step > 0 ? el("button", { type: "button", class: "secondary", onclick: () => move(-1) }, w("back")) : null,
        el("button", { type: "button", class: "primary", "data-testid": last ? "send" : "next", onclick: () => move(1) },
          last ? w("send") : w("next"))),
    ),
  );
}

/** Replaces the page's content (leaving out what is not shown). */
function show(...parts) {
  main.replaceChildren(...parts.filter((p) => p != null));
}

function page(message, testid) {
  main.replaceChildren(el("section", { class: "card", "data-testid": testid },
    el("h1", {}, message), el("p", { class: "note" }, w("contact"))));
}

let retry = null;
async function send() {
  clearTimeout(retry);
  if (!state.submission) {
    state.submission = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
    save();
  }
  main.querySelector("[data-testid=send]")?.setAttribute("disabled", "");
  let resp;
  try {
    resp = await fetch("/api/s/" + token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ submission: state.submission, answers: state.answers }),
    });
  } catch {
    render(w("waiting"));
    main.querySelector("[role=alert]").className = "waiting";
    retry = setTimeout(send, 3000);
    return;
  }
  if (resp.ok) {
    state = { done: true };
    save();
    return thanks();
  }
  const err = await resp.json().catch(() => ({}));
  if (resp.status === 410) return page(w(err.code === "survey_link_expired" ? "expired" : "used"), "closed");
  if (resp.status === 404) return page(w("unknown"), "closed");
  if (resp.status === 400 && WORDS[err.code]) {
    const at = asked().findIndex((q) => err.message && err.message.includes("`" + q.key + "`"));
    if (at >= 0) state.step = at;
    return render(w(err.code));
  }
  // Too many requests or a server fault: kept here, tried again later.
  render(w(resp.status === 429 || resp.status >= 500 ? "busy" : "waiting"));
  const wait = Number(resp.headers.get("retry-after")) || 3;
  retry = setTimeout(send, Math.min(wait, 60) * 1000);
}

function thanks() {
  main.replaceChildren(el("section", { class: "card", "data-testid": "thanks" },
    el("h1", {}, survey ? text(survey.thanks) : w("used"))));
}

window.addEventListener("online", () => { if (retry) send(); });

async function open() {
  if (state.done) return page(w("used"), "closed");
  main.replaceChildren(el("p", { class: "note" }, w("loading")));
  let resp;
  try {
    resp = await fetch("/api/s/" + token);
  } catch {
    main.replaceChildren(el("section", { class: "card" }, el("p", { class: "problem" }, w("offline")),
      el("button", { type: "button", class: "primary", onclick: open }, w("retry"))));
    return;
  }
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 429 || resp.status >= 500) {
    main.replaceChildren(el("section", { class: "card" }, el("p", { class: "problem" }, w("busy")),
      el("button", { type: "button", class: "primary", onclick: open }, w("retry"))));
    return;
  }
  if (resp.status === 410) return page(w(body.code === "survey_link_expired" ? "expired" : "used"), "closed");
  if (!resp.ok) return page(w("unknown"), "closed");
  survey = body.survey;
  document.title = text(survey.title);
  if (state.submission) return send();
  render();
}

open();
