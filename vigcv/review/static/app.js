// vigcv review page: plain JavaScript, no external resources.
"use strict";

(function () {
  const CSRF = document.querySelector('meta[name="vigcv-csrf"]').content;
  const CONFIG = JSON.parse(document.querySelector('meta[name="vigcv-config"]').content);
  const CONTEXT = CONFIG.context_s;
  const NUDGE = CONFIG.nudge_s;
  const COMPONENTS = CONFIG.components; // key -> plain-English label
  const COLOURS = {
    mutual_gaze: "#2f7d6d", contingency: "#c0692b", shared_affect: "#d4a017",
    turn_taking: "#6a5acd", proximity: "#8a8a8a",
  };
  const SVGNS = "http://www.w3.org/2000/svg";
  const app = document.getElementById("app");
  const crumb = document.getElementById("crumb");
  const reviewerInput = document.getElementById("reviewer");
  // writes counts this tab's own saves: a refresh that started before one of them is stale.
  const state = { session: null, timeline: null, sel: 0, stopAt: null, noteTimer: null, writes: 0 };

  // -- small helpers ------------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function s(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  }
  function clock(sec) {
    sec = Math.max(0, Math.floor((Number(sec) || 0) + 1e-6));
    const hh = Math.floor(sec / 3600), mm = Math.floor((sec % 3600) / 60), ss = sec % 60;
    const two = (n) => String(n).padStart(2, "0");
    return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
  }
  function clockTenths(sec) {
    sec = Math.max(0, Number(sec) || 0);
    const mm = Math.floor(sec / 60), rest = sec - 60 * mm;
    return `${String(mm).padStart(2, "0")}:${rest.toFixed(1).padStart(4, "0")}`;
  }
  function toast(text, bad) {
    const t = document.getElementById("toast");
    t.textContent = text;
    t.className = bad ? "show bad" : "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = ""; }, bad ? 6000 : 2200);
  }
  async function api(path) {
    const r = await fetch(path, { credentials: "same-origin" });
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }
  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Vigcv-Csrf": CSRF },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) {
      const err = new Error(data.error || r.statusText);
      err.status = r.status;
      throw err;
    }
    return data;
  }
  const enc = encodeURIComponent;
  function fill(el, ...kids) { el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false)); }

  // -- reviewer name (kept in this browser) --------------------------------------------------------
  reviewerInput.value = localStorage.getItem("vigcv-reviewer") || "";
  reviewerInput.addEventListener("input", () => {
    localStorage.setItem("vigcv-reviewer", reviewerInput.value.trim());
  });

  // -- routing ------------------------------------------------------------------------------------
  let routes = 0; // a newer navigation makes an older one still loading stale
  async function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    const m = hash.match(/^\/s\/(.+?)(?:\/(\d+))?$/);
    const mine = ++routes;
    const current = () => mine === routes;
    try {
      if (m) await showSession(m[1], m[2] ? Number(m[2]) : null, current);
      else await showSessions(current);
    } catch (e) {
      fill(app, h("p", { class: "problem", text: "Could not load: " + e.message }));
    }
  }
  window.addEventListener("hashchange", route);

  // -- the list of sessions -----------------------------------------------------------------------
  async function showSessions(current) {
    const data = await api("/api/sessions");
    if (current && !current()) return;
    state.session = null;
    crumb.textContent = "";
    document.title = "vigcv review";
    const cards = data.sessions.map((x) => {
      const ok = x.status === "ok";
      const done = x.accepted + x.rejected;
      const bar = h("div", { class: "progress", title: `${done} of ${x.moments} reviewed` },
        h("span", {}));
      bar.firstChild.style.width = x.moments ? `${(100 * done) / x.moments}%` : "0%";
      return h(ok ? "a" : "div", { class: "session-card" + (ok ? "" : " failed"),
        href: ok ? `#/s/${enc(x.name)}` : null, "data-session": x.name },
        h("h2", { text: x.name }),
        h("div", { class: "badge " + (ok ? "ready" : "bad"),
          text: ok ? "Ready to review" : "Could not be processed" }),
        ok ? null : h("p", { class: "muted", text: x.reason }),
        ok ? h("p", { class: "big" }, h("b", { text: String(x.accepted) }), " kept for the parent") : null,
        ok ? h("p", { class: "muted",
          text: `${x.moments} suggested moments · ${x.rejected} set aside · ${clock(x.duration)} of film` }) : null,
        ok ? bar : null,
        x.warnings.length ? h("p", { class: "muted", text: "Note: " + x.warnings.join("; ") }) : null,
      );
    });
    fill(app, 
      h("h1", { text: "Your sessions" }),
      h("p", { class: "lead", text:
        "Pick a session to watch its suggested moments of connection and choose the ones to show the parent." }),
      cards.length ? h("div", { class: "session-grid" }, cards)
        : h("p", { class: "problem", text: `No processed sessions in ${data.out}. Run “vigcv run” first.` }),
    );
  }

  // -- one session --------------------------------------------------------------------------------
  async function loadSession(name, current) {
    const [session, timeline] = await Promise.all([
      api(`/api/sessions/${enc(name)}`), api(`/api/sessions/${enc(name)}/timeline`),
    ]);
    if (current && !current()) return false;
    state.session = session;
    state.timeline = timeline;
    return true;
  }

  async function showSession(name, rank, current) {
    if (!(await loadSession(name, current))) return;
    const S = state.session;
    fill(crumb, h("span", { class: "sep", text: "›" }), h("span", { text: S.name }));
    document.title = `${S.name} – vigcv review`;
    const idx = rank ? S.moments.findIndex((m) => m.rank === rank) : 0;
    state.sel = Math.max(0, idx);

    const video = h("video", { id: "player", preload: "metadata", controls: true, playsinline: true });
    if (S.has_media) video.src = `/media/${enc(S.name)}`; // an audio-only recording plays too
    video.addEventListener("timeupdate", onTime);
    const swapBtn = h("button", { id: "swap", class: "secondary", onclick: swapRoles },
      "⇄ Swap parent and child");
    const exportBtn = h("button", { id: "export", class: "secondary", onclick: exportSession },
      "⤓ Export kept moments");
    const problems = [...S.problems, ...state.timeline.problems];
    fill(app, 
      h("div", { class: "toolbar" },
        h("a", { class: "back", href: "#/" }, "← All sessions"),
        h("h1", { text: S.name }),
        h("span", { class: "spacer" }),
        h("span", { class: "muted", id: "roles",
          text: S.roles_swapped ? "Parent and child swapped by you" : "Parent and child as detected" }),
        swapBtn, exportBtn),
      problems.length ? h("p", { class: "problem", text: problems.join(" · ") }) : null,
      S.has_media ? null : h("p", { class: "problem", text:
        "The recording is not at its original place any more, so pictures and playing are not available." }),
      S.orphaned.length ? h("p", { class: "muted", text:
        `${S.orphaned.length} earlier decision(s) no longer match a suggested moment (the moments were re-scored); they are kept in the export CSV.` }) : null,
      h("div", { id: "exported" }),
      S.moments.length ? h("div", { class: "review" },
        h("div", { class: "moment-list", id: "moments" }),
        h("div", { class: "detail" }, h("div", { class: "video-wrap" }, video),
          h("div", { id: "strip", class: "strip" }),
          h("div", { id: "strip-text", class: "muted" }), h("div", { id: "detail" })),
      ) : h("p", { class: "problem", text: "No moments were suggested for this session." }),
      h("h2", { class: "section", text: "The whole session" }),
      h("div", { id: "timeline", class: "timeline" }),
      legend(),
      keysHelp(),
    );
    renderList();
    renderDetail();
    drawTimeline();
    cueMoment(false);
  }

  function current() { return state.session && state.session.moments[state.sel]; }
  function status(m) { return (m.decision && m.decision.status) || ""; }
  function statusText(st) {
    return { accepted: "Kept for the parent", rejected: "Set aside", "": "Not decided yet" }[st];
  }

  function renderList() {
    const list = document.getElementById("moments");
    if (!list) return;
    fill(list, ...state.session.moments.map((m, i) => {
      const st = status(m);
      const img = state.session.has_media && state.session.has_video
        ? h("img", { src: `/api/sessions/${enc(state.session.name)}/thumb/${m.rank}.jpg`,
          alt: `Picture from moment ${m.rank}`, loading: "lazy" }) : h("div", { class: "noimg" });
      return h("button", { class: `moment-card ${st || "pending"}${i === state.sel ? " selected" : ""}`,
        "data-rank": m.rank, onclick: () => select(i, true) },
        img,
        h("div", { class: "mc-text" },
          h("div", { class: "mc-title" }, h("b", { text: `Moment ${m.rank}` })),
          h("div", { class: "when", text: `${clock(m.bounds[0])} – ${clock(m.bounds[1])}` }),
          h("div", { class: "mc-reason", text: (m.reasons && m.reasons[0]) || "" }),
          h("div", { class: `badge ${st || "pending"}`, text: statusText(st) })));
    }));
  }

  function bars(m) {
    return h("div", { class: "bars" }, Object.entries(COMPONENTS).map(([key, label]) => {
      const v = Math.max(0, Math.min(1, Number((m.components || {})[key]) || 0));
      const fill = h("span", {});
      fill.style.width = `${Math.round(100 * v)}%`;
      fill.style.background = COLOURS[key] || "#888";
      return [h("div", { class: "bar-label", text: label }), h("div", { class: "bar" }, fill)];
    }));
  }

  function renderDetail() {
    const box = document.getElementById("detail");
    const m = current();
    if (!box || !m) return;
    const st = status(m);
    const d = m.decision || {};
    const trimmed = d.trim_start !== null && d.trim_start !== undefined
      || d.trim_end !== null && d.trim_end !== undefined;
    const old = document.getElementById("note");
    const typing = old && document.activeElement === old && old.dataset.rank === String(m.rank);
    const note = typing ? old : h("textarea", { id: "note", rows: 3, "data-rank": m.rank,
      placeholder: "A note for yourself or for the feedback session (saved automatically)" });
    if (!typing) note.value = d.note || "";
    if (!typing) note.addEventListener("input", () => {
      clearTimeout(state.noteTimer);
      document.getElementById("note-state").textContent = "…";
      state.noteTimer = setTimeout(() => saveNote(m, note.value), 700);
    });
    if (!typing) note.addEventListener("blur", () => {
      if (note.value !== (m.decision ? m.decision.note : "")) {
        clearTimeout(state.noteTimer);
        saveNote(m, note.value);
      }
    });
    fill(box, 
      h("div", { class: "detail-head" },
        h("h2", {}, `Moment ${m.rank} `, h("span", { class: "when", id: "when",
          text: `${clock(m.bounds[0])} – ${clock(m.bounds[1])}` })),
        h("span", { class: `badge ${st || "pending"}`, id: "status", text: statusText(st) })),
      h("div", { class: "actions" },
        h("button", { id: "play", class: "play", onclick: () => cueMoment(true) }, "▶ Play moment"),
        h("button", { id: "accept", class: "accept" + (st === "accepted" ? " on" : ""),
          onclick: () => decide(m, "status", "accepted") }, "✓ Keep for the parent"),
        h("button", { id: "reject", class: "reject" + (st === "rejected" ? " on" : ""),
          onclick: () => decide(m, "status", "rejected") }, "✕ Set aside"),
        st ? h("button", { id: "undecide", class: "link", onclick: () => decide(m, "status", "") },
          "change my mind: not decided") : null),
      h("div", { class: "trim" },
        h("span", { class: "trim-label", text: "Starts" }),
        h("button", { id: "start-earlier", class: "small", onclick: () => nudge(m, 0, -1) }, "−"),
        h("b", { id: "start-time", text: clockTenths(m.bounds[0]) }),
        h("button", { id: "start-later", class: "small", onclick: () => nudge(m, 0, +1) }, "+"),
        h("span", { class: "trim-label", text: "Ends" }),
        h("button", { id: "end-earlier", class: "small", onclick: () => nudge(m, 1, -1) }, "−"),
        h("b", { id: "end-time", text: clockTenths(m.bounds[1]) }),
        h("button", { id: "end-later", class: "small", onclick: () => nudge(m, 1, +1) }, "+"),
        trimmed ? h("button", { id: "untrim", class: "link", onclick: () => untrim(m) },
          "undo trim") : null),
      h("h3", { text: "Why this moment" }),
      h("ul", { class: "reasons" }, (m.reasons || []).map((r) => h("li", { text: r }))),
      m.principles && m.principles.length
        ? h("p", { class: "principles" }, "Shows: ",
          m.principles.map((p) => h("span", { class: "chip", text: p }))) : null,
      bars(m),
      h("h3", {}, "Note ", h("span", { id: "note-state", class: "muted" })),
      note,
      d.reviewer ? h("p", { class: "muted", text:
        `Last change by ${d.reviewer} at ${new Date(d.updated_at).toLocaleString()}` }) : null,
    );
    renderStrip();
  }

  function renderStrip() {
    const strip = document.getElementById("strip");
    const m = current();
    if (!strip || !m) return;
    const a = Math.max(0, m.bounds[0] - CONTEXT), b = m.bounds[1] + CONTEXT;
    const inner = h("div", { class: "strip-moment" });
    inner.style.left = `${(100 * (m.bounds[0] - a)) / (b - a)}%`;
    inner.style.width = `${(100 * (m.bounds[1] - m.bounds[0])) / (b - a)}%`;
    const head = h("div", { class: "strip-head", id: "strip-head" });
    fill(strip, inner, head);
    const caption = document.getElementById("strip-text");
    if (caption) caption.textContent = `Plays ${clock(a)} – ${clock(b)}: the moment (green) with ${CONTEXT} s before and after`;
    strip.dataset.a = a;
    strip.dataset.b = b;
  }

  function select(i, play) {
    const S = state.session;
    if (!S || !S.moments.length) return;
    state.sel = Math.max(0, Math.min(S.moments.length - 1, i));
    history.replaceState(null, "", `#/s/${enc(S.name)}/${S.moments[state.sel].rank}`);
    renderList();
    renderDetail();
    drawTimeline();
    cueMoment(play);
    const card = document.querySelector(".moment-card.selected");
    if (card) card.scrollIntoView({ block: "nearest" });
  }

  function cueMoment(play) {
    const v = document.getElementById("player");
    const m = current();
    if (!v || !m || !v.src) return;
    const from = Math.max(0, m.bounds[0] - CONTEXT);
    state.stopAt = m.bounds[1] + CONTEXT;
    const go = () => {
      v.currentTime = from;
      if (play) v.play().catch((e) => toast("The video cannot play here: " + e.message, true));
    };
    if (v.readyState >= 1) go();
    else v.addEventListener("loadedmetadata", go, { once: true });
  }

  function onTime() {
    const v = document.getElementById("player");
    if (state.stopAt !== null && v.currentTime >= state.stopAt && !v.paused) v.pause();
    const strip = document.getElementById("strip");
    const head = document.getElementById("strip-head");
    if (strip && head) {
      const a = Number(strip.dataset.a), b = Number(strip.dataset.b);
      head.style.left = `${Math.max(0, Math.min(100, (100 * (v.currentTime - a)) / (b - a)))}%`;
    }
    const line = document.getElementById("playhead");
    if (line && state.timeline) {
      const x = state.tx ? state.tx(v.currentTime) : 0;
      line.setAttribute("x1", x);
      line.setAttribute("x2", x);
    }
  }

  function togglePlay() {
    const v = document.getElementById("player");
    if (!v || !v.src) return;
    if (v.paused) {
      const m = current();
      if (m && (v.currentTime < m.bounds[0] - CONTEXT - 0.5 || v.currentTime >= state.stopAt)) {
        cueMoment(true);
      } else v.play().catch(() => {});
    } else v.pause();
  }

  // -- decisions ----------------------------------------------------------------------------------
  async function decide(m, field, value) {
    state.writes += 1;
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/decision`, {
        start: m.start, end: m.end, field, value, reviewer: reviewerInput.value.trim(),
      });
      m.decision = r.decision;
      const d = r.decision;
      m.bounds = [d.trim_start ?? m.start, d.trim_end ?? m.end];
      return true;
    } catch (e) {
      if (e.status === 409) {
        toast("The moments of this session changed; showing the new ones.", true);
        await showSession(state.session.name, null);
      } else toast("Not saved: " + e.message, true);
      return false;
    } finally {
      state.writes += 1; // also after: a refresh that overlapped this save is stale
      if (field !== "note") { renderList(); renderDetail(); drawTimeline(); }
    }
  }

  async function saveNote(m, text) {
    const ok = await decide(m, "note", text);
    const el = document.getElementById("note-state");
    if (el && ok) el.textContent = "saved ✓";
  }

  async function nudge(m, which, dir) {
    const [a, b] = m.bounds;
    const dur = state.timeline.duration || state.session.duration || b + 60;
    if (which === 0) {
      const v = Math.max(0, Math.min(b - 0.5, a + dir * NUDGE));
      if (v !== a) await decide(m, "trim_start", Math.round(v * 1000) / 1000);
    } else {
      const v = Math.min(dur, Math.max(a + 0.5, b + dir * NUDGE));
      if (v !== b) await decide(m, "trim_end", Math.round(v * 1000) / 1000);
    }
    cueMoment(false);
  }

  async function untrim(m) {
    await decide(m, "trim_start", null);
    await decide(m, "trim_end", null);
  }

  async function swapRoles() {
    const btn = document.getElementById("swap");
    btn.disabled = true;
    btn.textContent = "Swapping…";
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/swap`, {});
      toast(r.roles_swapped ? "Parent and child swapped; moments updated." : "Parent and child back as detected.");
      await showSession(state.session.name, null);
    } catch (e) {
      toast("Could not swap: " + e.message, true);
      btn.disabled = false;
      btn.textContent = "⇄ Swap parent and child";
    }
  }

  async function exportSession() {
    const btn = document.getElementById("export");
    btn.disabled = true;
    btn.textContent = "Exporting…";
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/export`, {});
      const box = document.getElementById("exported");
      fill(box, h("div", { class: "exported" },
        h("b", { text: `Exported ${r.clips} clip(s) to ${r.folder}: ` }),
        r.files.map((f) => h("a", { href: f.url, target: "_blank", rel: "noopener", text: f.name }))));
      toast("Export finished.");
    } catch (e) {
      toast("Export failed: " + e.message, true);
    } finally {
      btn.disabled = false;
      btn.textContent = "⤓ Export kept moments";
    }
  }

  // -- the timeline -------------------------------------------------------------------------------
  function drawTimeline() {
    const box = document.getElementById("timeline");
    const T = state.timeline, S = state.session;
    if (!box || !T) return;
    const width = Math.max(400, box.clientWidth || 900);
    const left = 175, right = 12, plotW = width - left - right;
    const curveTop = 22, curveH = 110, laneH = 16, gap = 6;
    const lanes = [
      ["Looking at each other", "signal", "mutual_gaze", "#2f7d6d"],
      ["Parent smiles", "signal", "parent_smile", "#d4a017"],
      ["Child smiles", "signal", "child_smile", "#e08e0b"],
      ["Parent speaks", "speech", "parent", "#2f5d62"],
      ["Child speaks", "speech", "child", "#c0692b"],
    ];
    const lanesTop = curveTop + curveH + 10;
    const height = lanesTop + lanes.length * (laneH + gap) + 24;
    const dur = Math.max(T.duration || S.duration || 1, 0.001);
    const x = (t) => left + plotW * Math.max(0, Math.min(1, t / dur));
    state.tx = x;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "Timeline of the whole session" });
    // moments behind everything
    S.moments.forEach((m, i) => {
      const st = status(m);
      const r = s("rect", { x: x(m.bounds[0]), y: 4, width: Math.max(3, x(m.bounds[1]) - x(m.bounds[0])),
        height: height - 26, class: `tl-moment ${st || "pending"}${i === state.sel ? " selected" : ""}`,
        "data-rank": m.rank });
      r.addEventListener("click", (ev) => { ev.stopPropagation(); select(i, true); });
      svg.append(r);
      const label = s("text", { x: x(m.bounds[0]) + 3, y: 16, class: "tl-rank" });
      label.textContent = m.rank;
      svg.append(label);
    });
    // component curves
    const w = T.windows || {};
    const lbl = s("text", { x: 6, y: curveTop + curveH / 2, class: "tl-label" });
    lbl.textContent = "Connection";
    svg.append(lbl);
    const yC = (v) => curveTop + curveH * (1 - v);
    if (w.score && w.t.length) {
      let d = `M${x(w.t[0])},${yC(0)}`;
      w.t.forEach((t, k) => { if (w.score[k] !== null) d += ` L${x(t)},${yC(w.score[k])}`; });
      d += ` L${x(w.t[w.t.length - 1])},${yC(0)} Z`;
      svg.append(s("path", { d, class: "tl-score" }));
    }
    for (const key of Object.keys(COMPONENTS)) {
      if (!w[key]) continue;
      const pts = w.t.map((t, k) => (w[key][k] === null ? null : `${x(t)},${yC(w[key][k])}`))
        .filter(Boolean).join(" ");
      svg.append(s("polyline", { points: pts, fill: "none", stroke: COLOURS[key], "stroke-width": 1.8 }));
    }
    svg.append(s("line", { x1: left, x2: left + plotW, y1: yC(0), y2: yC(0), class: "tl-axis" }));
    // lanes
    lanes.forEach(([label, kind, key, colour], k) => {
      const y = lanesTop + k * (laneH + gap);
      const t = s("text", { x: 6, y: y + laneH - 3, class: "tl-label" });
      t.textContent = label;
      svg.append(t, s("rect", { x: left, y, width: plotW, height: laneH, class: "tl-lane" }));
      if (kind === "signal") {
        const sig = T.signals || {};
        const vals = sig[key];
        if (!vals || !sig.t.length) return;
        let d = `M${x(sig.t[0])},${y + laneH}`;
        sig.t.forEach((tt, j) => { d += ` L${x(tt)},${y + laneH * (1 - (vals[j] || 0))}`; });
        d += ` L${x(sig.t[sig.t.length - 1])},${y + laneH} Z`;
        svg.append(s("path", { d, fill: colour, opacity: 0.85 }));
      } else {
        for (const seg of T.speech || []) {
          if (seg.speaker !== key) continue;
          svg.append(s("rect", { x: x(seg.start), y, width: Math.max(1, x(seg.end) - x(seg.start)),
            height: laneH, rx: 3, fill: colour }));
        }
      }
    });
    // time axis
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    const step = steps.find((st) => dur / st <= Math.max(4, plotW / 90)) || 3600;
    for (let t = 0; t <= dur + 1e-9; t += step) {
      const tx = s("text", { x: x(t), y: height - 6, class: "tl-tick", "text-anchor": "middle" });
      tx.textContent = clock(t);
      svg.append(tx);
    }
    svg.append(s("line", { id: "playhead", x1: left, x2: left, y1: 4, y2: height - 22, class: "tl-playhead" }));
    svg.addEventListener("click", (ev) => {
      const rect = svg.getBoundingClientRect();
      const t = ((ev.clientX - rect.left - left) / plotW) * dur;
      if (t < 0 || t > dur) return;
      const v = document.getElementById("player");
      if (v && v.src) { state.stopAt = null; v.currentTime = t; }
    });
    fill(box, svg);
  }

  function legend() {
    return h("div", { class: "legend" },
      Object.entries(COMPONENTS).map(([key, label]) => {
        const sw = h("span", { class: "swatch" });
        sw.style.background = COLOURS[key];
        return h("span", { class: "legend-item" }, sw, label);
      }),
      h("span", { class: "legend-item" }, h("span", { class: "swatch score" }), "Overall"),
      h("span", { class: "legend-item" }, h("span", { class: "swatch kept" }), "Kept"),
      h("span", { class: "legend-item" }, h("span", { class: "swatch aside" }), "Set aside"),
      h("span", { class: "legend-item" }, h("span", { class: "swatch open" }), "Not decided"));
  }

  function keysHelp() {
    const keys = [["← / →", "previous / next moment"], ["Space", "play / pause"],
      ["A", "keep for the parent"], ["R", "set aside"], ["U", "undecided again"],
      ["[ / ]", "start earlier / later"], ["- / =", "end earlier / later"], ["N", "write a note"]];
    return h("div", { class: "keys" }, h("b", { text: "Keyboard: " }),
      keys.map(([k, what]) => h("span", { class: "key-item" }, h("kbd", { text: k }), " " + what)));
  }

  // -- keyboard -----------------------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    if (!state.session || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "TEXTAREA" || tag === "INPUT") {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    const m = current();
    const handlers = {
      ArrowRight: () => select(state.sel + 1, false), ArrowDown: () => select(state.sel + 1, false),
      j: () => select(state.sel + 1, false), ArrowLeft: () => select(state.sel - 1, false),
      ArrowUp: () => select(state.sel - 1, false), k: () => select(state.sel - 1, false),
      " ": togglePlay,
      a: () => m && decide(m, "status", "accepted"), r: () => m && decide(m, "status", "rejected"),
      u: () => m && decide(m, "status", ""),
      "[": () => m && nudge(m, 0, -1), "]": () => m && nudge(m, 0, +1),
      "-": () => m && nudge(m, 1, -1), "=": () => m && nudge(m, 1, +1),
      n: () => { const n = document.getElementById("note"); if (n) n.focus(); },
    };
    const fn = handlers[ev.key] || handlers[ev.key.toLowerCase()];
    if (fn) { ev.preventDefault(); fn(); }
  });
  window.addEventListener("resize", () => { if (state.session) drawTimeline(); });

  // Another tab may have changed decisions: show them when this tab comes back into view.
  async function refreshDecisions() {
    const S = state.session;
    const active = document.activeElement && document.activeElement.tagName;
    if (!S || active === "TEXTAREA" || active === "INPUT") return;
    const writes = state.writes;
    try {
      const fresh = await api(`/api/sessions/${enc(S.name)}`);
      if (writes !== state.writes || state.session !== S) return; // we wrote meanwhile: stale
      const same = fresh.moments.length === S.moments.length
        && fresh.moments.every((m, i) => m.start === S.moments[i].start && m.end === S.moments[i].end);
      if (!same || fresh.roles_swapped !== S.roles_swapped) { await showSession(S.name, null); return; }
      const before = JSON.stringify(S.moments.map((m) => m.decision));
      if (JSON.stringify(fresh.moments.map((m) => m.decision)) === before) return;
      fresh.moments.forEach((m, i) => { S.moments[i].decision = m.decision; S.moments[i].bounds = m.bounds; });
      renderList(); renderDetail(); drawTimeline();
    } catch (e) { /* the next action will tell */ }
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshDecisions(); });
  window.addEventListener("focus", refreshDecisions);

  route();
})();
