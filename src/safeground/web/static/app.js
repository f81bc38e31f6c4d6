/* Safeground: what every page shares. Plain JavaScript, no build step, no CDN. */
"use strict";
const SG = (() => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  /** fetch JSON; a change carries the session's CSRF token. Throws the error envelope (or
   *  fetch's own error, e.g. an AbortError when ``extra.signal`` is aborted). */
  async function api(method, url, body, extra) {
    const opts = {method, headers: {"Accept": "application/json"}, credentials: "same-origin",
                  ...(extra || {})};
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(url, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = (data && data.error) || {code: "HTTP_" + res.status, message: res.statusText};
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function say(box, text, kind) {
    if (!box) return;
    box.textContent = text;
    box.className = "message " + (kind || "");
  }

  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    try { await api("POST", "/logout"); } catch (e) { /* the session may be gone already */ }
    window.location = "/login";
  });
  // the language switcher: a signed-in user's choice is kept on the user too, then the link
  // sets this browser's language cookie and comes back to the page
  for (const a of document.querySelectorAll("#languages a[data-lang]")) {
    if (!csrf) break;
    a.addEventListener("click", async (ev) => {
      ev.preventDefault();
      try { await api("POST", "/api/v1/me/language", {language: a.dataset.lang}); }
      catch (e) { /* the cookie alone still switches this browser */ }
      window.location = a.href;
    });
  }
  return {api, el, say, csrf};
})();
