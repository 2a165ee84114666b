// The textbot web chat: one conversation per tab, typing notices while you type, live controls and timeline.
"use strict";

const TYPING_EVERY_MS = 2500; // repeat "I'm typing" this often while keys are pressed (the server's TTL is 4 s)
const $ = (id) => document.getElementById(id);

function randomId(prefix) {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const tab = sessionStorage.getItem("textbot.tab") || randomId("t");
sessionStorage.setItem("textbot.tab", tab);
// A WEB_TOKEN given as ?token= was turned into an HttpOnly cookie by the server, which the socket and
// assets carry from now on; drop it from the address bar so it is not bookmarked or shared by accident.
if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname);
const pending = new Map(); // message id -> text, until the server says it was received
const notSent = new Map(); // message id -> [text, why]: refused by the server; shown with a retry button

let ws = null;
let retryMs = 500;
let lastTypingSent = 0;
let typingLapse = null;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = location.pathname.replace(/[^/]*$/, "");
  return `${scheme}://${location.host}${base}ws?tab=${encodeURIComponent(tab)}`;
}

function setStatus(state, text) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = text;
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(message));
    return true;
  }
  return false;
}

function connect() {
  setStatus("connecting", "connecting…");
  ws = new WebSocket(socketUrl());
  ws.onopen = () => { retryMs = 500; setStatus("open", "connected"); };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = () => {
    setStatus("closed", "disconnected, retrying…");
    showTyping(false);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 8000);
  };
}

// ----- chat -------------------------------------------------------------------------------------

function timeLabel(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function addBubble(item, state) {
  const box = $("messages");
  if (item.id && box.querySelector(`[data-id="${CSS.escape(item.id)}"]`)) return;
  const el = document.createElement("div");
  el.className = `msg ${item.role}` + (state ? ` ${state}` : "");
  el.dataset.id = item.id || "";
  el.dataset.at = item.at || Date.now();
  fillBubble(el, item.text);
  if (item.unsent) showUnsent(el);
  else if (item.edited) showEdited(el, item.text);
  box.insertBefore(el, $("typing"));
  if (item.role === "bot") showTyping(false);
  scrollChat();
}

function fillBubble(el, text, mark) {
  el.dataset.text = text;
  el.textContent = text;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (mark ? `${mark} · ` : "") + timeLabel(Number(el.dataset.at));
  el.appendChild(meta);
}

function showEdited(el, text) {
  // As messengers do: the new text in place, with a small "edited" beside the time.
  el.classList.add("edited");
  fillBubble(el, text, "edited");
}

function showUnsent(el) {
  // The text is gone; a small grey note keeps its place, so the conversation still reads in order.
  el.classList.remove("edited");
  el.classList.add("unsent");
  fillBubble(el, "");
  el.firstChild.before(`${$("persona-name").textContent} unsent a message`);
}

function scrollChat() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function showTyping(on, ttl) {
  $("typing").hidden = !on;
  const presence = $("presence");
  presence.textContent = on ? "typing…" : "online";
  presence.classList.toggle("typing", on);
  clearTimeout(typingLapse);
  // Like a real platform, "typing…" lapses unless refreshed; the server also says when it stops.
  if (on) typingLapse = setTimeout(() => showTyping(false), (ttl || 5) * 3000);
  if (on) scrollChat();
}

function sendMessage(text) {
  const id = randomId("m");
  pending.set(id, text);
  addBubble({ role: "human", text, id, at: Date.now() }, "pending");
  send({ type: "message", id, text });
  lastTypingSent = 0; // the next keystroke starts a new typing spell at once
}

function bubbleOf(id) {
  return $("messages").querySelector(`[data-id="${CSS.escape(id)}"]`);
}

function markNotSent(id, why) {
  // The server did not take this message (too fast, or it could not be saved): say so, offer a retry.
  const el = bubbleOf(id);
  const text = pending.get(id) ?? (el ? el.dataset.text : undefined);
  pending.delete(id);
  if (text === undefined) return;
  notSent.set(id, [text, why]);
  if (!el) return;
  el.classList.remove("pending", "delivered");
  el.classList.add("not-sent");
  let retry = el.querySelector(".retry");
  if (!retry) {
    retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.addEventListener("click", () => resend(id));
    el.appendChild(retry);
  }
  retry.textContent = `${why} · retry`;
  scrollChat();
}

function resend(id) {
  const entry = notSent.get(id);
  if (!entry) return;
  notSent.delete(id);
  pending.set(id, entry[0]);
  const el = bubbleOf(id);
  if (el) {
    el.classList.replace("not-sent", "pending");
    el.querySelector(".retry")?.remove();
  }
  send({ type: "message", id, text: entry[0] });
}

function onInput() {
  const now = Date.now();
  if ($("input").value.trim() && now - lastTypingSent >= TYPING_EVERY_MS) {
    if (send({ type: "typing" })) lastTypingSent = now;
  }
}

// ----- controls ---------------------------------------------------------------------------------

function note(field, ok, text) {
  const el = document.querySelector(`[data-note="${CSS.escape(field)}"]`) || document.querySelector('[data-note=""]');
  el.className = `note ${ok ? "ok" : "bad"}`;
  el.textContent = text;
  const input = document.querySelector(`input[data-field="${CSS.escape(field)}"]`);
  if (input) input.classList.toggle("invalid", !ok);
  clearTimeout(el._fade);
  if (ok) el._fade = setTimeout(() => { el.textContent = ""; }, 4000);
}

function buildControls(fields, choices) {
  const box = $("fields");
  box.textContent = "";
  for (const f of fields) {
    const row = document.createElement("div");
    row.className = "field";
    row.title = f.help;
    row.innerHTML = `<label for="f-${f.name}"></label><input id="f-${f.name}" type="number">` +
      `<span><span class="unit"></span><span class="source"></span></span><div class="note"></div>`;
    row.querySelector("label").textContent = f.name;
    const input = row.querySelector("input");
    Object.assign(input, { min: f.low, max: f.high, step: f.step });
    input.dataset.field = f.name;
    input.addEventListener("change", () => send({ type: "set_timing", field: f.name, value: input.value }));
    row.querySelector(".unit").textContent = f.unit;
    row.querySelector(".source").dataset.source = f.name;
    row.querySelector(".note").dataset.note = f.name;
    box.appendChild(row);
  }
  for (const kind of ["turn", "interrupt", "persona"]) {
    const select = $(kind);
    select.textContent = "";
    for (const name of choices[kind]) select.add(new Option(name, name));
  }
}

function applySettings(s) {
  for (const [name, value] of Object.entries(s.timing)) {
    const input = document.querySelector(`input[data-field="${name}"]`);
    if (input && document.activeElement !== input) input.value = value;
    if (input) input.classList.remove("invalid");
    const source = document.querySelector(`[data-source="${name}"]`);
    if (source) {
      const override = s.sources[name] === "override";
      source.textContent = override ? "set here" : "default";
      source.classList.toggle("override", override);
    }
  }
  for (const kind of ["turn", "interrupt", "persona"]) {
    const select = $(kind);
    if (![...select.options].some((o) => o.value === s[kind])) select.add(new Option(s[kind], s[kind]));
    select.value = s[kind];
  }
  setPersona(s.persona);
}

function setPersona(name) {
  $("persona-name").textContent = name;
  $("avatar").textContent = name.slice(0, 1);
}

// ----- timeline ---------------------------------------------------------------------------------

function setTimeline(svg) {
  const box = $("timeline");
  const atEnd = box.scrollLeft + box.clientWidth >= box.scrollWidth - 40;
  box.innerHTML = svg;
  // Follow the newest events unless the person scrolled back to look at older ones.
  if (!box.querySelector(".mark")) box.scrollLeft = 0;
  else if (atEnd) box.scrollLeft = box.scrollWidth;
}

// ----- messages from the server -----------------------------------------------------------------

function handle(msg) {
  switch (msg.type) {
    case "welcome": {
      for (const el of [...$("messages").querySelectorAll(".msg:not(.typing)")]) el.remove();
      buildControls(msg.fields, msg.choices);
      applySettings(msg.settings);
      $("model").textContent = msg.model ? `model: ${msg.model}` : "";
      for (const item of msg.transcript) addBubble(item, item.role === "human" ? "delivered" : "");
      // What the server has not taken yet stays on the page: sent again if pending, offered again if refused.
      for (const [id, text] of pending) addBubble({ role: "human", text, id }, "pending");
      for (const [id, [text, why]] of notSent) {
        addBubble({ role: "human", text, id }, "");
        markNotSent(id, why);
      }
      showTyping(msg.typing, 5);
      setTimeline(msg.svg);
      for (const [id, text] of pending) send({ type: "message", id, text }); // sent while offline
      break;
    }
    case "bubble": addBubble(msg, msg.role === "human" ? "delivered" : ""); break;
    case "ack": {
      pending.delete(msg.id);
      notSent.delete(msg.id);
      const el = bubbleOf(msg.id);
      if (el) {
        el.classList.remove("pending", "not-sent");
        el.classList.add("delivered");
        el.querySelector(".retry")?.remove();
      }
      break;
    }
    case "edit": { const el = bubbleOf(msg.id); if (el && !el.classList.contains("unsent")) showEdited(el, msg.text); break; }
    case "unsend": { const el = bubbleOf(msg.id); if (el) showUnsent(el); break; }
    case "not_sent": markNotSent(msg.id, msg.text); break;
    case "typing": showTyping(msg.on, msg.ttl); break;
    case "timeline": setTimeline(msg.svg); break;
    case "settings": applySettings(msg); break;
    case "notice": note(msg.field, msg.ok, msg.text); break;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("download").href = `timeline.svg?tab=${encodeURIComponent(tab)}`;
  $("download").download = "timeline.svg";
  $("input").addEventListener("input", onInput);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    sendMessage(text);
  });
  $("turn").addEventListener("change", (e) => send({ type: "set_policy", kind: "turn", name: e.target.value }));
  $("interrupt").addEventListener("change", (e) => send({ type: "set_policy", kind: "interrupt", name: e.target.value }));
  $("persona").addEventListener("change", (e) => send({ type: "set_persona", name: e.target.value }));
  $("reset-timing").addEventListener("click", () => send({ type: "reset_timing" }));
  $("input").focus();
  connect();
});
