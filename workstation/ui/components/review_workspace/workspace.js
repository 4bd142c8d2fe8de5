/* The review workspace (Streamlit custom component, plain JavaScript, no build step, nothing fetched from elsewhere).
 *
 * Talks to Streamlit with its component messages (streamlit:componentReady / setComponentValue / setFrameHeight in,
 * streamlit:render out). Every change the person makes is an event, numbered; the component's value is the list of
 * events the server has not acknowledged yet (sent again with each update, so nothing is lost if an update is
 * overtaken by another), and each render brings the server's results ("acks") and the saved segments.
 *
 * Design borrowed from transcription tools people already use: oTranscribe (Esc plays and pauses while you type and
 * resumes a little earlier; keys jump back and forward; slower playback), Subtitle Edit (a grid of lines with the
 * original and the translation side by side, a timeline under the player, start/end set from the playhead, one key
 * to go to the next line). Keys are matched by their physical position (event.code), so they work the same with a
 * Russian keyboard layout.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- Streamlit messages
  function post(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data || {}), "*");
  }
  const setValue = (value) => post("streamlit:setComponentValue", { value: value, dataType: "json" });
  const setHeight = (h) => post("streamlit:setFrameHeight", { height: h });

  // ---------------------------------------------------------------- state
  const S = {
    client: Math.random().toString(36).slice(2) + Date.now().toString(36),
    n: 0, outbox: [], sendCount: 0, lastSend: 0, lastActivity: Date.now(), lastTyping: 0,
    args: null, segs: [], byId: new Map(), order: new Map(),
    local: new Map(),      // id -> {ru, en}: what is typed in the editor (while it differs from the server's text)
    base: new Map(),       // id -> the revision the typed text was made against
    pending: new Set(),    // ids with typing not yet turned into an event
    notes: new Map(),      // id -> {kind: "error"|"conflict", text}
    confirming: new Set(), // ids confirmed, waiting for the server
    active: null, col: "ru", focusAfter: null, startDone: false,
    rows: new Map(), boxes: new Map(), sig: new Map(), playing: null, word: null,
    editable: false, duration: 0, audioUrl: "", timers: {},
  };
  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const grid = $("grid");
  const RATES = [0.5, 0.6, 0.75, 0.9, 1, 1.25, 1.5];

  function fmt(t, tenths) {
    t = Math.max(0, t || 0);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = Math.floor(t % 60);
    let out = (h ? h + ":" + String(m).padStart(2, "0") : String(m).padStart(2, "0")) + ":" + String(s).padStart(2, "0");
    if (tenths) out += "." + Math.floor((t * 10) % 10);
    return out;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const speakerName = (label) => ((S.args && S.args.speakers) || []).find((s) => s.label === label)?.name || label;

  // ---------------------------------------------------------------- events to the server
  function queue(ev) {
    ev.n = ++S.n;
    S.outbox.push(ev);
    return ev;
  }
  function typedEvents() {
    // typing becomes one edit event per segment, with only the fields that differ from the server's text
    for (const id of S.pending) {
      const seg = S.byId.get(id), loc = S.local.get(id);
      if (!seg || !loc) continue;
      const ev = { kind: "edit", seg: id, base: S.base.get(id) ?? seg.rev };
      let changed = false;
      for (const f of ["ru", "en"]) if (loc[f] !== undefined && loc[f] !== lastSent(id, f, seg)) { ev[f] = loc[f]; changed = true; }
      if (changed) queue(ev);
    }
    S.pending.clear();
  }
  function lastSent(id, f, seg) {
    // the newest text of this field already on its way (or the server's)
    for (let i = S.outbox.length - 1; i >= 0; i--) {
      const e = S.outbox[i];
      if (e.seg === id && e.kind === "edit" && e[f] !== undefined) return e[f];
    }
    return seg[f];
  }
  function flush(now) {
    clearTimeout(S.timers.flush);
    S.timers.flush = null;
    typedEvents();
    if (S.outbox.length) send();
    showSaved();
  }
  function send() {
    // heartbeats and the place are fields of the value, not events: they need no answer, so the server's next
    // render is the same as the last one and the browser does no work for them
    S.sendCount++;
    S.lastSend = Date.now();
    setValue({ client: S.client, sent: S.sendCount, events: S.outbox.slice(), position: S.position || "" });
  }
  function typed(id) {
    S.pending.add(id);
    S.lastTyping = S.lastActivity = Date.now();
    showSaved();
    // autosave: shortly after typing stops, and at least every 3 s while it goes on
    clearTimeout(S.timers.flush);
    S.timers.flush = setTimeout(flush, 700);
    if (!S.timers.maxWait) S.timers.maxWait = setTimeout(() => { S.timers.maxWait = null; flush(); }, 3000);
  }
  function activity() { S.lastActivity = Date.now(); }
  setInterval(() => {
    // heartbeat: typing or listening is activity for the idle lock, even when nothing else is sent
    const busy = Date.now() - S.lastActivity < 20000 || !audio.paused;
    if (busy && Date.now() - S.lastSend > 20000) send();
    else if (S.outbox.length && Date.now() - S.lastSend > 4000) send(); // no answer yet: send again (applied once)
    showSaved();
  }, 2000);
  // leaving the window (a click on "Lock now", another tab, closing): send what is typed at once
  window.addEventListener("blur", () => flush(true));
  document.addEventListener("visibilitychange", () => { if (document.hidden) flush(true); });
  window.addEventListener("pagehide", () => flush(true));

  function showSaved() {
    const box = $("saved");
    const waiting = S.outbox.length + S.pending.size;
    const errors = [...S.notes.values()].filter((x) => x.kind === "conflict").length;
    box.className = errors ? "error" : waiting ? "pending" : "";
    box.textContent = errors ? errors + " conflict(s) to resolve"
      : waiting ? "Saving " + waiting + " change(s)…" : "All changes saved";
  }

  // ---------------------------------------------------------------- acks and renders from the server
  function applyAcks(acks) {
    for (const a of acks || []) {
      const i = S.outbox.findIndex((e) => e.n === a.n);
      if (i < 0) continue;
      const ev = S.outbox[i];
      S.outbox.splice(i, 1);
      const id = ev.seg;
      if (a.ok) {
        if (a.rev !== undefined && id) S.base.set(id, a.rev);
        if (ev.kind === "confirm") S.confirming.delete(id);
        if (id && S.notes.get(id)?.kind === "error") S.notes.delete(id);
        if (a.new_id && (ev.kind === "add" || ev.kind === "split" || ev.kind === "merge")) S.focusAfter = a.new_id;
      } else {
        S.confirming.delete(id);
        if (id) S.notes.set(id, { kind: a.conflict ? "conflict" : "error", text: a.error });
        else message(a.error);
      }
    }
  }

  function dirty(id) {
    const loc = S.local.get(id), seg = S.byId.get(id);
    return !!(loc && seg && ((loc.ru !== undefined && loc.ru !== seg.ru) || (loc.en !== undefined && loc.en !== seg.en)));
  }

  const timing = { script: performance.now() };
  function onRender(args) {
    const first = !S.args;
    const t0 = performance.now();
    if (first) timing.firstRender = t0;
    S.args = args;
    S.editable = !!args.editable;
    applyAcks(args.acks);
    S.segs = args.segments || [];
    S.byId = new Map(S.segs.map((s) => [s.id, s]));
    S.order = new Map(S.segs.map((s, i) => [s.id, i]));
    for (const seg of S.segs) {
      if (!dirty(seg.id) && !S.pending.has(seg.id) && !S.outbox.some((e) => e.seg === seg.id && e.kind === "edit")) {
        S.local.delete(seg.id);
        S.base.set(seg.id, seg.rev);
      } else if (!S.base.has(seg.id)) S.base.set(seg.id, seg.rev);
    }
    for (const id of [...S.local.keys()]) if (!S.byId.has(id)) S.local.delete(id);
    S.duration = Math.max(args.duration || 0, S.segs.length ? S.segs[S.segs.length - 1].end : 0);
    document.getElementById("app").classList.toggle("readonly", !S.editable);
    if (args.audio_url && args.audio_url !== S.audioUrl) {
      const at = audio.currentTime || 0;
      S.audioUrl = args.audio_url;
      audio.src = args.audio_url;
      if (at) audio.currentTime = at;
    }
    if (first) { keysHelp(args.keys || []); setHeight(args.height || 760); document.getElementById("app").style.height = (args.height || 760) + "px"; }
    renderGrid();
    renderTimeline();
    if (!S.startDone) {
      S.startDone = true;
      const start = S.byId.has(args.start_seg) ? args.start_seg : (S.segs.find(needsWork) || S.segs[0] || {}).id;
      if (start) activate(start, "ru", { focus: S.editable, seek: true });
    } else if (S.focusAfter && S.byId.has(S.focusAfter)) {
      const id = S.focusAfter;
      S.focusAfter = null;
      activate(id, "ru", { focus: true, seek: true });
    } else if (S.active && !S.byId.has(S.active)) {
      const next = S.segs[Math.min(S.segs.length - 1, S.activeIndex || 0)];
      if (next) activate(next.id, S.col, { focus: true });
    }
    progress();
    showSaved();
    document.getElementById("app").classList.remove("loading");
    if (first) timing.firstDrawn = performance.now();
    timing.lastRenderMs = performance.now() - t0;
  }
  window.addEventListener("message", (e) => {
    if (e.data && e.data.type === "streamlit:render") onRender(e.data.args || {});
  });

  // ---------------------------------------------------------------- the grid
  const needsWork = (s) => !s.reviewed || s.untranscribed || s.stale || s.low || (s.ru.trim() && !s.en.trim());
  function signature(seg) {
    const note = S.notes.get(seg.id);
    return [seg.rev, seg.ru, seg.en, seg.speaker, seg.reviewed, seg.stale, seg.low, seg.untranscribed, seg.start, seg.end,
            S.order.get(seg.id), speakerName(seg.speaker), note ? note.kind + note.text : "", S.confirming.has(seg.id),
            S.editable].join("\u0001");
  }
  function renderGrid() {
    const seen = new Set();
    let prev = null;
    for (const seg of S.segs) {
      seen.add(seg.id);
      let row = S.rows.get(seg.id);
      const sig = signature(seg);
      if (!row) { row = el("div", "row"); row.dataset.id = seg.id; row.setAttribute("role", "row"); S.rows.set(seg.id, row); }
      if (S.sig.get(seg.id) !== sig) { fillRow(row, seg); S.sig.set(seg.id, sig); }
      const want = prev ? prev.nextSibling : grid.firstChild;
      if (want !== row) grid.insertBefore(row, want);
      prev = row;
    }
    for (const [id, row] of S.rows) if (!seen.has(id)) { row.remove(); S.rows.delete(id); S.sig.delete(id); }
  }
  function routeWords(seg) {
    if (!seg.en.trim()) return "";
    return { argos: "machine (Argos)", "whisper-translate": "Whisper speech translation: check it", human: "by a translator" }[seg.route] || "";
  }
  function rowClass(seg) {
    return "row" + (seg.reviewed ? " reviewed" : "") + (seg.untranscribed ? " untranscribed" : "")
      + (S.active === seg.id ? " active" : "") + (S.playing === seg.id ? " playing" : "");
  }
  function fillRow(row, seg) {
    const isActive = S.active === seg.id && S.editable;
    if (isActive && row.dataset.mode === "edit") return updateEditRow(row, seg);
    const keep = isActive ? captureFocus(row) : null;
    row.className = rowClass(seg);
    row.dataset.mode = isActive ? "edit" : "view";
    row.replaceChildren();
    row.append(metaBox(seg));
    const ru = el("div", "cell ru"), en = el("div", "cell en");
    fillRowRest(row, seg, isActive, keep, ru, en);
  }
  function updateEditRow(row, seg) {
    // the row being typed in is updated in place: the person's text, caret and undo history stay
    row.className = rowClass(seg);
    row.replaceChild(metaBox(seg), row.firstChild);
    const loc = S.local.get(seg.id) || {};
    for (const ta of row.querySelectorAll("textarea")) {
      const f = ta.dataset.field;
      if (loc[f] === undefined && ta.value !== seg[f] && !S.pending.has(seg.id)) {
        const focused = document.activeElement === ta, a = ta.selectionStart, b = ta.selectionEnd;
        ta.value = seg[f];
        if (focused) ta.setSelectionRange(Math.min(a, ta.value.length), Math.min(b, ta.value.length));
      }
    }
    const route = row.querySelector(".en .route");
    if (route) route.textContent = routeWords(seg);
    const inTools = row.querySelector(".tools") && row.querySelector(".tools").contains(document.activeElement);
    row.querySelectorAll(".note").forEach((n) => n.remove());
    const note = S.notes.get(seg.id);
    if (note) row.insertBefore(noteBox(seg, note), row.querySelector(".tools"));
    if (!inTools) { row.querySelectorAll(".tools").forEach((n) => n.remove()); row.append(tools(seg)); }
  }
  function metaBox(seg) {
    const meta = el("div", "meta");
    meta.append(el("span", "n", "#" + (S.order.get(seg.id) + 1)), " ", el("span", "t", fmt(seg.start)));
    meta.title = fmt(seg.start, true) + "–" + fmt(seg.end, true);
    meta.append(el("span", "spk", speakerName(seg.speaker)));
    // several files joined as one timeline: each row says which part (file) of the interview it is in
    if (seg.part) meta.append(el("span", "part", "part " + seg.part + (seg.part_start ? " begins" : "")));
    const state = el("span", "state");
    if (S.confirming.has(seg.id)) state.append(el("span", "badge ok", "confirming…"));
    else if (seg.reviewed) state.append(el("span", "badge ok", "✓"));
    if (seg.untranscribed) state.append(el("span", "badge bad", "not transcribed"));
    if (seg.stale) state.append(el("span", "badge bad", "English stale"));
    if (seg.low) state.append(el("span", "badge warn", "unsure"));
    meta.append(state);
    return meta;
  }
  function fillRowRest(row, seg, isActive, keep, ru, en) {
    const loc = S.local.get(seg.id) || {};
    if (isActive) {
      if (seg.words.length) ru.append(wordLine(seg, "heard"));
      ru.append(editor(seg, "ru", loc.ru ?? seg.ru, seg.untranscribed ? "Speech the recogniser could not transcribe: listen (Alt+P) and type what is said" : "Russian"));
      en.append(editor(seg, "en", loc.en ?? seg.en, "English"));
      const r = routeWords(seg);
      if (r) en.append(el("span", "route", r));
    } else {
      const text = loc.ru ?? seg.ru;
      if (!text.trim() && seg.untranscribed) ru.append(el("span", "text", "(speech not transcribed yet: type what is said)"));
      else if (seg.words.length && !seg.edited && loc.ru === undefined) ru.append(wordLine(seg, "text"));
      else ru.append(el("span", "text", text));
      en.append(el("span", "text", (loc.en ?? seg.en) || "—"));
      if (seg.route === "whisper-translate" && seg.en.trim()) en.append(el("span", "route", routeWords(seg)));
      if (S.editable) {
        ru.addEventListener("mousedown", (e) => { if (!e.target.classList.contains("w")) { e.preventDefault(); activate(seg.id, "ru", { focus: true }); } });
        en.addEventListener("mousedown", (e) => { e.preventDefault(); activate(seg.id, "en", { focus: true }); });
      }
    }
    row.append(ru, en);
    const note = S.notes.get(seg.id);
    if (note) row.append(noteBox(seg, note));
    if (isActive) row.append(tools(seg));
    if (keep) restoreFocus(row, keep);
  }
  function wordLine(seg, cls) {
    const box = el("span", cls);
    for (let i = 0; i < seg.words.length; i++) {
      const [start, , text, unsure] = seg.words[i];
      const lead = text.match(/^\s*/)[0];
      if (lead) box.append(lead);
      const w = el("span", "w" + (unsure && seg.low ? " unsure" : ""), text.trim());
      w.dataset.t = start;
      w.dataset.i = i;
      w.title = "Play from " + fmt(start, true);
      box.append(w);
    }
    return box;
  }
  function editor(seg, field, value, label) {
    const ta = el("textarea");
    ta.value = value;
    ta.dataset.field = field;
    ta.setAttribute("aria-label", label + " of segment " + (S.order.get(seg.id) + 1));
    ta.placeholder = label;
    ta.spellcheck = false;
    ta.rows = 1;
    ta.addEventListener("input", () => {
      const loc = S.local.get(seg.id) || {};
      loc[field] = ta.value;
      S.local.set(seg.id, loc);
      if (!S.base.has(seg.id)) S.base.set(seg.id, seg.rev);
      typed(seg.id);
    });
    ta.addEventListener("focus", () => { S.col = field; if (S.active !== seg.id) activate(seg.id, field, {}); });
    return ta;
  }
  function captureFocus(row) {
    const a = row.ownerDocument.activeElement;
    if (!a || a.tagName !== "TEXTAREA" || !row.contains(a)) return null;
    return { field: a.dataset.field, start: a.selectionStart, end: a.selectionEnd, scroll: a.scrollTop };
  }
  function restoreFocus(row, keep) {
    const ta = row.querySelector('textarea[data-field="' + keep.field + '"]');
    if (!ta) return;
    ta.focus({ preventScroll: true });
    ta.setSelectionRange(keep.start, keep.end);
    ta.scrollTop = keep.scroll;
  }
  function noteBox(seg, note) {
    const box = el("div", "note " + note.kind, note.text);
    if (note.kind === "conflict") {
      const theirs = el("div", "", "Their version — Russian: " + (seg.ru || "(empty)") + " · English: " + (seg.en || "(empty)"));
      const mine = el("button", "", "Keep mine (apply it on top of theirs)");
      mine.type = "button";
      mine.addEventListener("click", () => { S.notes.delete(seg.id); S.base.set(seg.id, seg.rev); typed(seg.id); flush(); refresh(seg.id); });
      const take = el("button", "", "Take theirs");
      take.type = "button";
      take.addEventListener("click", () => { S.notes.delete(seg.id); S.local.delete(seg.id); S.base.set(seg.id, seg.rev); refresh(seg.id); showSaved(); });
      box.append(theirs, mine, take);
    }
    return box;
  }
  function tools(seg) {
    const box = el("div", "tools");
    const start = el("input"), end = el("input");
    start.value = seg.start.toFixed(2); end.value = seg.end.toFixed(2);
    start.setAttribute("aria-label", "Start (seconds)"); end.setAttribute("aria-label", "End (seconds)");
    const apply = () => setTimes(seg.id, parseFloat(start.value), parseFloat(end.value));
    for (const i of [start, end]) i.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); apply(); } });
    box.append("start ", start, " end ", end, " ");
    const btn = (label, title, fn) => { const b = el("button", "", label); b.type = "button"; b.title = title; b.addEventListener("click", fn); box.append(b); };
    btn("Set times", "Save the start and end typed here (or Alt+[ / Alt+] at the playhead)", apply);
    if (seg.stale) btn("Keep English as it is", "Alt+K: the English was checked and is right for the Russian", () => keepEnglish(seg.id));
    btn((S.args && S.args.retranslate_label) || "Re-translate", (S.args && S.args.retranslate_help) || "", () => retranslate(seg.id));
    if (!seg.ru.trim() && !seg.en.trim()) btn("Remove (not speech)", "Remove this empty segment: a cough, a door, a noise", () => removeSeg(seg.id));
    if (seg.reviewed) btn("Mark not reviewed", "Take the confirmation back", () => { flush(); queue({ kind: "unconfirm", seg: seg.id, base: S.base.get(seg.id) ?? seg.rev }); send(); });
    return box;
  }
  function refresh(id) {
    const seg = S.byId.get(id), row = S.rows.get(id);
    if (seg && row) { fillRow(row, seg); S.sig.set(id, signature(seg)); }
    renderBoxState(id);
  }

  // ---------------------------------------------------------------- moving around
  function activate(id, col, opts) {
    opts = opts || {};
    const prev = S.active;
    if (prev && prev !== id) { flush(); }
    S.active = id;
    S.activeIndex = S.order.get(id);
    if (col) S.col = col;
    if (prev && prev !== id) refresh(prev);
    refresh(id);
    const row = S.rows.get(id);
    if (row) row.scrollIntoView({ block: "nearest" });
    if (opts.focus && S.editable) {
      const ta = row && row.querySelector('textarea[data-field="' + S.col + '"]');
      if (ta) { ta.focus({ preventScroll: true }); const end = ta.value.length; ta.setSelectionRange(end, end); }
    }
    const seg = S.byId.get(id);
    if (opts.seek && seg && (audio.paused || opts.play)) seek(seg.start);
    if (opts.play) play();
    renderZoom();
    clearTimeout(S.timers.pos);
    S.timers.pos = setTimeout(() => { if (S.position !== id) { S.position = id; send(); } }, 1500);
    const ready = window.__ws_ready = { id: id, at: performance.now() };
    requestAnimationFrame(() => requestAnimationFrame(() => { ready.painted = performance.now(); }));
  }
  function step(delta, opts) {
    if (!S.segs.length) return;
    const i = S.active ? S.order.get(S.active) : -1;
    const hide = $("hide-reviewed").checked;
    let j = i + delta;
    while (j >= 0 && j < S.segs.length && hide && S.segs[j].reviewed) j += delta;
    if (j < 0 || j >= S.segs.length) return;
    activate(S.segs[j].id, S.col, Object.assign({ focus: true, seek: true }, opts || {}));
  }
  function nextNeedingWork() {
    const i = S.active ? S.order.get(S.active) : -1;
    for (let k = 1; k <= S.segs.length; k++) {
      const s = S.segs[(i + k) % S.segs.length];
      if (needsWork(s)) return activate(s.id, S.col, { focus: true, seek: true });
    }
    message("Nothing left to review.", true);
  }
  function confirmAndNext() {
    const id = S.active;
    if (!id || !S.editable) return step(1);
    flush();
    const seg = S.byId.get(id);
    queue({ kind: "confirm", seg: id, base: S.base.get(id) ?? seg.rev });
    S.confirming.add(id);
    S.notes.delete(id);
    send();
    const wasPlaying = !audio.paused;
    step(1, { play: wasPlaying });
    refresh(id);
  }

  // ---------------------------------------------------------------- actions
  function setTimes(id, start, end) {
    const seg = S.byId.get(id);
    if (!seg || !(start >= 0) || !(end > start)) return message("A segment needs a start before its end.");
    flush();
    queue({ kind: "times", seg: id, base: S.base.get(id) ?? seg.rev, start: +start.toFixed(3), end: +end.toFixed(3) });
    send();
  }
  function keepEnglish(id) { flush(); const seg = S.byId.get(id); queue({ kind: "keep_en", seg: id, base: S.base.get(id) ?? seg.rev }); send(); }
  function retranslate(id) {
    flush();
    const seg = S.byId.get(id);
    queue({ kind: "retranslate", seg: id, base: S.base.get(id) ?? seg.rev });
    send();
    message((S.args.retranslate_label || "Re-translating") + ": working… (this takes a few seconds)", true);
  }
  function removeSeg(id) { const seg = S.byId.get(id); queue({ kind: "remove", seg: id, base: S.base.get(id) ?? seg.rev }); send(); }
  function setSpeaker(k) {
    const id = S.active, seg = S.byId.get(id), sp = (S.args.speakers || [])[k];
    if (!seg || !sp) return;
    flush();
    queue({ kind: "edit", seg: id, base: S.base.get(id) ?? seg.rev, speaker: sp.label });
    send();
    const row = S.rows.get(id);
    if (row) row.querySelector(".spk").textContent = sp.name;
  }
  function gapAt(t) {
    // the gap around t (between two segments), or null when t is inside a segment
    let prevEnd = 0, nextStart = S.duration;
    for (const s of S.segs) {
      if (s.start <= t && t < s.end) return null;
      if (s.end <= t) prevEnd = Math.max(prevEnd, s.end);
      if (s.start > t) { nextStart = Math.min(nextStart, s.start); break; }
    }
    return [prevEnd, nextStart];
  }
  function addAt(t) {
    const gap = gapAt(t);
    if (!gap) return message("The playhead is inside a segment: move it into a gap (an empty stretch of the timeline) to add one there.");
    let [a, b] = gap;
    if (b - a < 0.3) return message("This gap is too short for a segment.");
    if (b - a > 10) { a = Math.max(a, t - 2); b = Math.min(b, a + 8); }
    a = +(a + 0.005).toFixed(3); b = +(b - 0.005).toFixed(3);
    flush();
    queue({ kind: "add", start: a, end: b });
    send();
    message("Adding a segment at " + fmt(a, true) + "–" + fmt(b, true) + "…", true);
  }
  function splitHere() {
    const seg = S.byId.get(S.active), t = audio.currentTime;
    if (!seg || !(seg.start < t && t < seg.end)) return message("Move the playhead inside the segment to split it there.");
    flush();
    queue({ kind: "split", seg: seg.id, base: S.base.get(seg.id) ?? seg.rev, at: +t.toFixed(3) });
    send();
  }
  function mergeNext() {
    const seg = S.byId.get(S.active), nxt = seg && S.segs[S.order.get(seg.id) + 1];
    if (!nxt) return;
    flush();
    queue({ kind: "merge", seg: seg.id, base: S.base.get(seg.id) ?? seg.rev, next: nxt.id, next_base: S.base.get(nxt.id) ?? nxt.rev });
    send();
  }
  let msgTimer = null;
  function message(text, info) {
    const box = $("message");
    box.textContent = text;
    box.className = info ? "info" : "";
    box.hidden = false;
    clearTimeout(msgTimer);
    msgTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // ---------------------------------------------------------------- playback
  function seek(t) { audio.currentTime = Math.max(0, Math.min(t, S.duration || t)); follow(true); }
  function play() { const p = audio.play(); if (p && p.catch) p.catch(() => message("The browser could not play the recording.")); }
  function toggle() {
    if (audio.paused) { if (audio.currentTime > 1 && S.pausedOnce) audio.currentTime -= 1; play(); }
    else { audio.pause(); S.pausedOnce = true; }
  }
  function rate(delta) {
    const i = RATES.indexOf(audio.playbackRate);
    audio.playbackRate = RATES[Math.max(0, Math.min(RATES.length - 1, (i < 0 ? 4 : i) + delta))];
    $("speed").textContent = audio.playbackRate + "×";
  }
  audio.addEventListener("play", () => { $("play").textContent = "❚❚"; $("play").setAttribute("aria-label", "Pause"); loop(); activity(); });
  audio.addEventListener("pause", () => { $("play").textContent = "▶"; $("play").setAttribute("aria-label", "Play"); follow(true); });
  audio.addEventListener("seeked", () => follow(true));
  audio.addEventListener("loadedmetadata", () => { if (isFinite(audio.duration)) S.duration = Math.max(S.duration, audio.duration); renderTimeline(); });
  audio.addEventListener("error", () => {
    if (S.fellBack) return message("The browser cannot play this recording.");
    S.fellBack = true;
    queue({ kind: "audio_fallback" });
    send();
  });
  $("play").addEventListener("click", toggle);
  function loop() { if (!audio.paused) { follow(false); requestAnimationFrame(loop); } }
  function segAt(t) {
    let lo = 0, hi = S.segs.length - 1, found = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (S.segs[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1; }
    return found >= 0 && t < S.segs[found].end ? S.segs[found] : null;
  }
  function follow(force) {
    const t = audio.currentTime || 0;
    $("clock").textContent = fmt(t, true) + " / " + fmt(S.duration);
    const pct = S.duration ? (100 * t / S.duration) : 0;
    $("tl-head").style.left = pct + "%";
    const seg = segAt(t);
    const id = seg ? seg.id : null;
    if (id !== S.playing) {
      const old = S.playing && S.rows.get(S.playing);
      if (old) old.classList.remove("playing");
      S.playing = id;
      const row = id && S.rows.get(id);
      if (row) {
        row.classList.add("playing");
        const typingNow = Date.now() - S.lastTyping < 2500;
        if ($("follow").checked && !typingNow && !audio.paused) row.scrollIntoView({ block: "nearest" });
      }
    }
    // the word being played
    let word = null;
    if (seg && seg.words.length) {
      for (let i = 0; i < seg.words.length; i++) if (seg.words[i][0] <= t) word = i; else break;
    }
    const key = id + ":" + word;
    if (key !== S.word || force) {
      document.querySelectorAll(".w.now").forEach((w) => w.classList.remove("now"));
      if (id !== null && word !== null) {
        const row = S.rows.get(id);
        if (row) row.querySelectorAll('.w[data-i="' + word + '"]').forEach((w) => w.classList.add("now"));
      }
      S.word = key;
    }
    renderZoom();
  }

  // ---------------------------------------------------------------- timeline (whole recording) and zoom (around the playhead)
  function boxClass(s) { return "box" + (s.reviewed ? " reviewed" : "") + (s.untranscribed ? " untranscribed" : "") + (s.id === S.active ? " active" : ""); }
  function renderTimeline() {
    const host = $("tl-boxes"), d = S.duration || 1, seen = new Set();
    for (const s of S.segs) {
      seen.add(s.id);
      let b = S.boxes.get(s.id);
      if (!b) { b = el("div"); b.dataset.id = s.id; host.append(b); S.boxes.set(s.id, b); }
      const cls = boxClass(s), left = (100 * s.start / d) + "%", width = (100 * (s.end - s.start) / d) + "%";
      const key = cls + left + width + S.order.get(s.id);
      if (b.dataset.key === key) continue; // unchanged: no style work for the hundreds of boxes that stay put
      b.dataset.key = key;
      b.className = cls;
      b.style.left = left;
      b.style.width = width;
      b.title = "#" + (S.order.get(s.id) + 1) + " " + fmt(s.start) + "–" + fmt(s.end);
    }
    for (const [id, b] of S.boxes) if (!seen.has(id)) { b.remove(); S.boxes.delete(id); }
    renderZoom();
  }
  function renderBoxState(id) {
    const s = S.byId.get(id), b = S.boxes.get(id);
    if (s && b && b.className !== boxClass(s)) { b.className = boxClass(s); b.dataset.key = ""; }
  }
  const ZOOM_S = 24;
  function zoomWindow() {
    const seg = S.byId.get(S.active);
    const centre = audio.paused && seg ? (seg.start + seg.end) / 2 : audio.currentTime || 0;
    const a = Math.max(0, Math.min(centre - ZOOM_S / 2, (S.duration || ZOOM_S) - ZOOM_S));
    return [a, a + ZOOM_S];
  }
  function renderZoom() {
    if (S.dragging) return;
    const [a, b] = zoomWindow(), host = $("zm-boxes");
    const key = a.toFixed(1) + "|" + S.active + "|" + (S.segs.length) + "|" + (S.byId.get(S.active)?.rev);
    const pct = (t) => (100 * (t - a) / (b - a)) + "%";
    $("zm-head").style.left = pct(audio.currentTime || 0);
    if (key === S.zoomKey) return;
    S.zoomKey = key;
    host.replaceChildren();
    for (const s of S.segs) {
      if (s.end < a || s.start > b) continue;
      const box = el("div", boxClass(s), (S.order.get(s.id) + 1) + " " + (s.ru || "").slice(0, 40));
      box.dataset.id = s.id;
      box.style.left = pct(s.start);
      box.style.width = (100 * (s.end - s.start) / (b - a)) + "%";
      if (s.id === S.active && S.editable) {
        for (const side of ["left", "right"]) { const h = el("div", "edge " + side); h.dataset.side = side; box.append(h); }
      }
      host.append(box);
    }
    const ticks = $("zm-ticks");
    ticks.replaceChildren();
    for (let t = Math.ceil(a / 2) * 2; t <= b; t += 2) { const sp = el("span", "", fmt(t)); sp.style.left = pct(t); ticks.append(sp); }
  }
  function timeFromEvent(e, host, a, b) {
    const r = host.getBoundingClientRect();
    return a + (b - a) * Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
  }
  $("timeline").addEventListener("click", (e) => {
    const t = timeFromEvent(e, $("timeline"), 0, S.duration || 1);
    const s = segAt(t);
    if (s) activate(s.id, S.col, { focus: true });
    seek(t);
    activity();
  });
  $("timeline").addEventListener("dblclick", (e) => { if (S.editable) addAt(timeFromEvent(e, $("timeline"), 0, S.duration || 1)); });
  $("zoom").addEventListener("pointerdown", (e) => {
    const [a, b] = zoomWindow();
    const t = timeFromEvent(e, $("zoom"), a, b);
    if (e.target.classList.contains("edge")) {
      const seg = S.byId.get(S.active);
      S.dragging = { side: e.target.dataset.side, seg: seg, a: a, b: b, box: e.target.parentElement };
      $("zoom").setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    const s = segAt(t);
    if (s && s.id !== S.active) activate(s.id, S.col, { focus: true });
    seek(t);
  });
  $("zoom").addEventListener("pointermove", (e) => {
    const d = S.dragging;
    if (!d) return;
    const t = timeFromEvent(e, $("zoom"), d.a, d.b);
    d.t = t;
    const start = d.side === "left" ? t : d.seg.start, end = d.side === "right" ? t : d.seg.end;
    d.box.style.left = (100 * (start - d.a) / (d.b - d.a)) + "%";
    d.box.style.width = (100 * Math.max(0, end - start) / (d.b - d.a)) + "%";
  });
  $("zoom").addEventListener("pointerup", () => {
    const d = S.dragging;
    S.dragging = null;
    S.zoomKey = null;
    if (d && d.t !== undefined) setTimes(d.seg.id, d.side === "left" ? d.t : d.seg.start, d.side === "right" ? d.t : d.seg.end);
    renderZoom();
  });
  grid.addEventListener("click", (e) => {
    const w = e.target.closest(".w");
    if (!w) return;
    const row = w.closest(".row");
    if (row && row.dataset.id !== S.active) activate(row.dataset.id, "ru", { focus: S.editable });
    seek(parseFloat(w.dataset.t));
    play();
  });

  // ---------------------------------------------------------------- keys (they work while typing)
  function onKey(e) {
    activity();
    const c = e.code;
    let done = true;
    if (c === "Escape") toggle();
    else if (e.ctrlKey && (c === "Enter" || c === "NumpadEnter")) confirmAndNext();
    else if (e.altKey && !e.ctrlKey) {
      if (c === "ArrowLeft") seek(audio.currentTime - 3);
      else if (c === "ArrowRight") seek(audio.currentTime + 3);
      else if (c === "ArrowDown") rate(-1);
      else if (c === "ArrowUp") rate(1);
      else if (c === "PageDown") step(1);
      else if (c === "PageUp") step(-1);
      else if (c === "KeyN") nextNeedingWork();
      else if (c === "KeyP") { const s = S.byId.get(S.active); if (s) { seek(s.start); play(); } }
      else if (/^Digit[1-9]$/.test(c) && S.editable) setSpeaker(parseInt(c.slice(5), 10) - 1);
      else if (c === "BracketLeft" && S.editable) { const s = S.byId.get(S.active); if (s) setTimes(s.id, audio.currentTime, s.end); }
      else if (c === "BracketRight" && S.editable) { const s = S.byId.get(S.active); if (s) setTimes(s.id, s.start, audio.currentTime); }
      else if (c === "KeyA" && S.editable) addAt(audio.currentTime);
      else if (c === "KeyK" && S.editable && S.active) keepEnglish(S.active);
      else if (c === "KeyT" && S.editable && S.active) retranslate(S.active);
      else if (c === "KeyS" && S.editable) splitHere();
      else if (c === "KeyM" && S.editable) mergeNext();
      else done = false;
    } else done = false;
    if (done) { e.preventDefault(); e.stopPropagation(); }
  }
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("mousedown", activity, true);

  function keysHelp(keys) {
    const box = $("keys");
    box.replaceChildren();
    for (const [k, what] of keys) { const d = el("div"); d.append(el("kbd", "", k), " " + what); box.append(d); }
    const speakers = (S.args.speakers || []).slice(0, 9).map((s, i) => "Alt+" + (i + 1) + " " + s.name).join(" · ");
    if (speakers) box.append(el("div", "", speakers));
  }
  $("keys-toggle").addEventListener("click", () => { const k = $("keys"); k.hidden = !k.hidden; $("keys-toggle").setAttribute("aria-expanded", String(!k.hidden)); });
  $("hide-reviewed").addEventListener("change", (e) => grid.classList.toggle("hide-reviewed", e.target.checked));

  function progress() {
    const total = S.segs.length, done = S.segs.filter((s) => s.reviewed).length, left = S.segs.filter(needsWork).length;
    $("progress").textContent = done + " of " + total + " reviewed · " + left + " need review";
  }

  // for the browser tests and the benchmark: the state a person sees, without reaching into the page's internals
  window.__ws = { state: S, flush: flush, timing: timing };
  post("streamlit:componentReady", { apiVersion: 1 });
})();
