// What the customer pages share (loaded before each page's own script):
// the language, the browser's first Chinese or English preference and
// Chinese by default; words looked up in a page's table; building elements.
"use strict";

const preferred = (navigator.languages || [navigator.language]).find((l) => /^(zh|en)/i.test(l));
const zh = !preferred || /^zh/i.test(preferred);
document.documentElement.lang = zh ? "zh-CN" : "en";

/** A lookup in `table` (key → [zh, en]) with `{name}` filled from `vars`. */
function wordsOf(table) {
  return (k, vars = {}) => table[k][zh ? 0 : 1].replace(/\{(\w+)\}/g, (_, v) => vars[v]);
}

/** An element: `on…` attributes are listeners, `true` an empty attribute, `false`/null none. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) e.append(c);
  return e;
}
