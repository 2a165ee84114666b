// The duet page: start two personas texting each other over one socket and show each line and both timelines.
const $ = (id) => document.getElementById(id);
let socket = null;

function status(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function addLine(msg) {
  const el = document.createElement("div");
  el.className = `line ${msg.side}` + (msg.draft ? " draft" : "");
  const meta = document.createElement("span");
  meta.className = "meta";
  const at = new Date(msg.at * 1000).toLocaleTimeString([], { hour12: false });
  meta.textContent = `${at} ${msg.name}` + (msg.draft ? ` · not sent${msg.reason ? ": " + msg.reason : ""}` : "");
  el.append(meta, document.createTextNode(msg.text));
  $("transcript").append(el);
  $("transcript").scrollTop = $("transcript").scrollHeight;
}

function handle(msg) {
  switch (msg.type) {
    case "start":
      $("ta-title").textContent = `${msg.a}'s timeline`;
      $("tb-title").textContent = `${msg.b}'s timeline`;
      status(`${msg.a} and ${msg.b} · ${msg.responder}`, "open");
      break;
    case "line":
      addLine(msg);
      $("timeline-a").innerHTML = msg.timelines.a;
      $("timeline-b").innerHTML = msg.timelines.b;
      break;
    case "end":
      $("summary").textContent = `${msg.messages} messages in ${msg.seconds} s (stopped by ${msg.stopped_by}): ` +
        `${msg.crossings} crossed, ${msg.refused} pushes refused, ${msg.withheld} drafts withheld`;
      break;
    case "error":
      $("summary").textContent = msg.error;
      break;
  }
}

function start(event) {
  event.preventDefault();
  if (socket) socket.close();
  $("transcript").replaceChildren();
  $("summary").textContent = "";
  const params = new URLSearchParams();
  for (const id of ["a", "b", "topic", "messages", "seconds", "responder"]) params.set(id, $(id).value);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = location.pathname.replace(/\/duet\/?$/, "");
  socket = new WebSocket(`${scheme}://${location.host}${base}/duet/ws?${params}${location.search.replace("?", "&")}`);
  socket.onmessage = (e) => handle(JSON.parse(e.data));
  socket.onclose = () => { status("idle", "closed"); $("stop").disabled = true; $("start").disabled = false; };
  $("stop").disabled = false;
  $("start").disabled = true;
  status("starting…", "connecting");
}

$("setup").addEventListener("submit", start);
$("stop").addEventListener("click", () => socket && socket.close());
