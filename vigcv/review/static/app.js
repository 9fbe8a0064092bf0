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
  // stopAt: where a moment-play the page started stops (null: play freely); free: the guider moved
  // the video with its own controls; seekTo: the page's own seek in flight.
  const state = { session: null, timeline: null, sel: 0, stopAt: null, free: false, seekTo: null,
    noteTimers: {}, writes: 0 };

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
    // #/s/<session>[/pair/<parent>-<child>][/<rank>]: a session's own moments or one more pair's
    const m = hash.match(/^\/s\/(.+?)(?:\/pair\/(\d+-\d+))?(?:\/(\d+))?$/);
    const mine = ++routes;
    const current = () => mine === routes;
    try {
      if (m) await showSession(m[1], m[3] ? Number(m[3]) : null, current, m[2] || "");
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
        ok && x.recording_found === false ? h("div", { class: "badge bad film-badge",
          text: "Film not found: open to see what to do" }) : null,
        ok ? null : h("p", { class: "muted", text: x.reason }),
        ok ? h("p", { class: "big" }, h("b", { text: String(x.accepted) }), " kept for the parent") : null,
        ok ? h("p", { class: "muted",
          text: `${x.moments} suggested moments · ${x.rejected} set aside · ${clock(x.duration)} of film` }) : null,
        ok && x.pairs ? h("p", { class: "muted pairs-note", text:
          `Also ${x.pair_moments} moment(s) of ${x.pairs === 1 ? "another pair" : `${x.pairs} other pairs`} in this film (${x.pair_accepted} kept)` }) : null,
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
  // "?pair=<parent>-<child>" for one more pair's moments ("" for the session's own)
  function pairQuery(pair) { return pair ? `?pair=${enc(pair)}` : ""; }
  function sessionHash(name, pair, rank) {
    return `#/s/${enc(name)}${pair ? `/pair/${pair}` : ""}${rank ? `/${rank}` : ""}`;
  }
  function capital(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }

  async function loadSession(name, current, pair) {
    let session, timeline;
    try {
      [session, timeline] = await Promise.all([
        api(`/api/sessions/${enc(name)}${pairQuery(pair)}`),
        api(`/api/sessions/${enc(name)}/timeline${pairQuery(pair)}`),
      ]);
    } catch (e) {
      if (!pair) throw e;
      // that pair is gone (the moments were found again for other people): the session's own
      toast("Those moments are no longer there; showing the session's own.", true);
      return loadSession(name, current, "");
    }
    if (current && !current()) return false;
    state.session = session;
    state.timeline = timeline;
    return true;
  }

  // A family visit's date, as found (recording, name or file time) or as the guider set it.
  function visitDate(S) {
    const where = { guider: "set by you", "sessions csv": "from the sessions file",
      "recording metadata": "from the recording", "file name": "from the file name",
      "file modified": "from the file's date: check it" };
    const said = h("span", { id: "visit-date-source", class: "muted",
      text: where[S.visit.source] || S.visit.source });
    const input = h("input", { type: "date", id: "visit-date", value: S.visit.date,
      "aria-label": "Date of this visit" });
    const save = h("button", { id: "visit-date-save", class: "secondary", onclick: async () => {
      try {
        const r = await post(`/api/sessions/${enc(S.name)}/visit-date`, { date: input.value });
        S.visit = r.visit;
        input.value = r.visit.date;
        said.textContent = where[r.visit.source] || r.visit.source;
        toast(`Visit date saved: ${r.visit.date}`);
      } catch (e) { toast(e.message, true); }
    } }, "Save date");
    return h("p", { class: "visit-date" },
      h("label", { for: "visit-date", text: `Visit of the ${S.visit.family} family on ` }),
      input, " ", save, " ", said);
  }

  async function showSession(name, rank, current, pair) {
    if (!(await loadSession(name, current, pair || ""))) return;
    const S = state.session;
    fill(crumb, h("span", { class: "sep", text: "›" }), h("span", { text: S.name }));
    document.title = `${S.name} – vigcv review`;
    const idx = rank ? S.moments.findIndex((m) => m.rank === rank) : 0;
    state.sel = Math.max(0, idx);
    state.stopAt = null;
    state.free = false;
    state.seekTo = null;

    const video = h("video", { id: "player", preload: "metadata", controls: true, playsinline: true });
    if (S.has_media) video.src = `/media/${enc(S.name)}`; // an audio-only recording plays too
    video.addEventListener("timeupdate", onTime);
    video.addEventListener("seeking", onSeeking);
    video.addEventListener("seeked", () => {
      if (video !== document.getElementById("player")) return;
      if (state.seekTo !== null && Math.abs(video.currentTime - state.seekTo) < SEEK_SLACK) state.seekTo = null;
    });
    const swapBtn = h("button", { id: "swap", class: "secondary", onclick: swapRoles },
      "⇄ Swap parent and child");
    const jump = h("button", { id: "export-jump", class: "secondary", onclick: () => {
      const sec = document.getElementById("export-section");
      if (sec) sec.scrollIntoView({ block: "start", behavior: "smooth" });
      const first = document.getElementById("export-parent");
      if (first) first.focus({ preventScroll: true });
    } }, "⤓ Export…");
    const problems = [...S.problems, ...state.timeline.problems];
    const film = S.has_media ? video : filmMissing(S);
    fill(app,
      h("div", { class: "toolbar" },
        h("a", { class: "back", href: "#/" }, "← All sessions"),
        h("h1", { text: S.name }),
        h("span", { class: "spacer" }),
        h("span", { class: "muted roles", id: "roles",
          text: S.roles_swapped ? "Parent and child swapped by you" : "Parent and child as detected" }),
        swapBtn, jump),
      S.visit ? visitDate(S) : null,
      problems.length ? h("p", { class: "problem", text: problems.join(" · ") }) : null,
      S.orphaned.length ? h("p", { class: "muted", text:
        `${S.orphaned.length} earlier decision(s) no longer match a suggested moment (the moments were re-scored); they are kept in the export CSV.` }) : null,
      h("nav", { id: "pairs", class: "pairs", "aria-label": "Whose moments" }),
      S.moments.length ? h("div", { class: "review" },
        h("div", { class: "moment-list", id: "moments", role: "list", "aria-label": "Suggested moments" }),
        h("div", { class: "stage" }, h("div", { class: "video-wrap" }, film),
          S.has_media ? h("div", { id: "strip", class: "strip", "aria-hidden": "true" }) : null,
          S.has_media ? h("div", { id: "strip-text", class: "strip-text muted" }) : null),
        h("div", { class: "panel", id: "detail" }),
      ) : [S.has_media ? null : film,
        h("p", { class: "problem", text: S.pair
          ? `No moments were suggested for ${S.pair_label}.`
          : "No moments were suggested for this session." })],
      h("h2", { class: "section", text: "The whole session" }),
      h("p", { class: "muted tl-help", text:
        "One lane per signal; the moments are the bands across them. Click a band to open that moment, anywhere else to watch from there." }),
      h("div", { id: "timeline", class: "timeline" }),
      legend(),
      h("section", { id: "people", class: "people-section", "aria-labelledby": "people-title" }),
      h("section", { id: "export-section", class: "export-section" }),
      keysHelp(),
    );
    renderPairs();
    renderList();
    renderDetail();
    renderExport();
    drawTimeline();
    cueMoment(false);
    loadPeople(S.name);
  }

  // -- whose moments: the session's own pair and, with more people, each other parent-child pair -
  function renderPairs() {
    const box = document.getElementById("pairs");
    const S = state.session;
    if (!box || !S) return;
    const pairs = S.pairs || [];
    if (pairs.length < 2) {
      fill(box, S.pair_label ? h("p", { class: "whose", id: "whose" }, "Moments of ",
        h("b", { text: S.pair_label })) : null);
      return;
    }
    fill(box,
      h("p", { class: "whose", id: "whose" }, "Moments of ", h("b", { text: S.pair_label }),
        h("span", { class: "muted", text: ". More people were filmed: each pair of a parent and a child has its own moments." })),
      h("div", { class: "pair-tabs", role: "list" }, pairs.map((p) => {
        const on = p.pair === S.pair;
        // the pair on show counts from its moments as they are now (after this tab's clicks)
        const kept = on ? S.moments.filter((m) => status(m) === "accepted").length : p.accepted;
        return h("a", { class: `pair-tab${on ? " on" : ""}`, role: "listitem",
          href: sessionHash(S.name, p.pair, null), "data-pair": p.pair, "aria-current": on ? "page" : null },
          h("b", { class: "pair-name", text: capital(p.label) }),
          h("span", { class: "muted", text:
            ` ${p.moments} moment(s) · ${kept} kept${p.default ? " · the pair this session is about" : ""}` }));
      })));
  }

  // After the names changed: the pairs' names on the page follow them.
  async function refreshPairNames() {
    const S = state.session;
    if (!S) return;
    try {
      const fresh = await api(`/api/sessions/${enc(S.name)}${pairQuery(S.pair)}`);
      if (state.session !== S) return;
      S.pairs = fresh.pairs;
      S.pair_label = fresh.pair_label;
      renderPairs();
      renderList();
      renderDetail();
      drawTimeline();
    } catch (e) { /* the next reload will tell */ }
  }

  // -- the people in the film: named once, recognised in the family's later visits ---------------
  const GUESS = { adult: "Looks like an adult", child: "Looks like a child", unknown: "Adult or child: not sure yet" };

  async function loadPeople(name) {
    const box = document.getElementById("people");
    if (!box) return;
    try {
      const P = await api(`/api/sessions/${enc(name)}/people`);
      if (!state.session || state.session.name !== name) return;
      renderPeople(P);
    } catch (e) {
      fill(box, h("h2", { class: "section", id: "people-title", text: "The people in this film" }),
        h("p", { class: "problem", text: "The people could not be shown: " + e.message }));
    }
  }

  function personLabel(p) { return p.name || `Person ${p.person}`; }

  function pairNames(P, pair) {
    const who = (id) => { const p = P.people.find((x) => x.person === id); return p ? personLabel(p) : `person ${id}`; };
    return pair ? `${who(pair[0])} and ${who(pair[1])}` : "";
  }

  function renderPeople(P) {
    const box = document.getElementById("people");
    if (!box) return;
    state.people = P;
    drawTimeline(); // the lanes name the pair's people
    const where = P.family ? "every visit of this family" : "this film";
    const head = [
      h("h2", { class: "section", id: "people-title", text: "The people in this film" }),
      h("p", { class: "muted", text: P.family
        ? "Name each person once: their name is remembered for this family and given to them in every later visit. Only people ticked “may be shown” appear unblurred in clips you share."
        : "Name each person once: the name is remembered for this film. Only people ticked “may be shown” appear unblurred in clips you share." }),
    ];
    if (!P.people.length) {
      fill(box, head, h("p", { class: "muted", text:
        "No people were recorded for this film (it was analysed before vigcv kept them). Run “vigcv run --force” on it to see them here." }));
      return;
    }
    const pair = P.pair || {};
    const differs = pair.named && (!pair.current || pair.named[0] !== pair.current[0] || pair.named[1] !== pair.current[1]);
    const pairNote = differs ? h("div", { class: "pair-note", id: "pair-note", role: "note" },
      h("p", {}, "The moments are about ", h("b", { text: pairNames(P, pair.current) || "the people found first" }),
        ". You marked ", h("b", { text: pairNames(P, pair.named) }), " as the parent figure and the child this work is about."),
      h("button", { id: "use-pair", class: "secondary", onclick: () => usePair(P) },
        `Find moments for ${pairNames(P, pair.named)}`)) : null;
    const list = h("datalist", { id: "known-names" }, (P.known || []).map((n) => h("option", { value: n.name })));
    fill(box, head, pairNote, list,
      h("div", { class: "people-grid", role: "list" }, P.people.map((p) => personCard(p, where))));
  }

  function personCard(p, where) {
    const id = `person-${p.person}`;
    const seen = p.seconds_visible === null ? "" : ` · seen for ${clock(p.seconds_visible)}`;
    const unsure = p.confidence !== null && p.confidence < 0.7 && p.role_guess !== "unknown" ? " (not sure)" : "";
    const badge = p.named_by === "recognised"
      ? h("span", { class: "badge recognised", id: `${id}-named-by`, text: "Recognised from an earlier visit" })
      : p.named_by === "guider" ? h("span", { class: "badge named", id: `${id}-named-by`, text: "Named by you" }) : null;
    const nameInput = h("input", { type: "text", id: `${id}-name`, value: p.name, list: "known-names",
      maxlength: 100, autocomplete: "off", placeholder: "e.g. Mum, Dad, Ellie, Sam (brother)" });
    const box = (key, label, checked) => {
      const input = h("input", { type: "checkbox", id: `${id}-${key}`, checked: checked || null });
      return [input, h("label", { class: "check" }, input, " ", label)];
    };
    const [parent, parentLabel] = box("parent", "A parent figure (a parent or carer in this family)", p.parent_figure);
    const [child, childLabel] = box("child", "The child this work is about", p.index_child);
    const [show, showLabel] = box("show", "May be shown in shared clips", p.may_show);
    show.setAttribute("aria-describedby", `${id}-show-help`);
    // until the guider sets it, "may be shown" follows the roles: parent figures and the child
    const follow = () => { if (!show.dataset.touched) show.checked = parent.checked || child.checked; };
    parent.addEventListener("change", follow);
    child.addEventListener("change", follow);
    show.addEventListener("change", () => { show.dataset.touched = "1"; });
    const saveState = h("span", { id: `${id}-state`, class: "muted", role: "status" });
    const save = h("button", { id: `${id}-save`, class: "play", onclick: () => savePerson(p, {
      name: nameInput.value, parent_figure: parent.checked, index_child: child.checked, may_show: show.checked,
    }, saveState) }, "Save");
    nameInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); save.click(); } });
    const prompt = p.uncertain ? h("div", { class: "prompt", id: `${id}-prompt`, role: "group",
      "aria-label": `Is this ${p.suggested_name}?` },
      h("p", {}, h("b", { text: `Is this ${p.suggested_name}?` }), " ",
        h("span", { class: "muted", text: "The face looks like them, but vigcv is not sure." })),
      h("button", { id: `${id}-yes`, class: "accept", onclick: () => {
        const f = p.suggestion || {};
        savePerson(p, { name: p.suggested_name, parent_figure: !!f.parent_figure, index_child: !!f.index_child,
          may_show: !!f.may_show }, saveState);
      } }, `Yes, this is ${p.suggested_name}`), " ",
      h("button", { id: `${id}-no`, class: "reject", onclick: () => declinePerson(p, p.suggested_name) },
        "No, someone else")) : null;
    const notThem = p.named_by === "recognised" ? h("button", { id: `${id}-not`, class: "link",
      onclick: () => declinePerson(p, p.name) }, `Not ${p.name}?`) : null;
    return h("article", { class: `person-card${p.may_show ? "" : " hidden-face"}`, role: "listitem",
      "data-person": p.person, "aria-labelledby": `${id}-title` },
      p.thumbnail ? h("img", { src: p.thumbnail, alt: `Face of ${personLabel(p)}` }) : h("div", { class: "noimg", "aria-hidden": "true" }),
      h("div", { class: "person-body" },
        h("h3", { id: `${id}-title` }, h("span", { id: `${id}-shown-name`, text: personLabel(p) }), " ", badge, notThem),
        h("p", { class: "muted", text: `${GUESS[p.role_guess] || GUESS.unknown}${unsure}${seen}` }),
        prompt,
        h("div", { class: "person-name" }, h("label", { for: `${id}-name`, text: "Name" }), nameInput),
        h("div", { class: "person-checks" }, parentLabel, childLabel, showLabel),
        h("p", { class: "muted small", id: `${id}-show-help`, text: p.may_show
          ? "Shown as filmed in shared clips."
          : "Their face is blurred in clips you share." }),
        h("div", { class: "person-save" }, save, " ", saveState),
        h("p", { class: "muted small", text: p.name || p.uncertain
          ? `A name and these choices hold in ${where}.` : "" })));
  }

  async function savePerson(p, values, stateEl) {
    const name = state.session.name;
    stateEl.textContent = "Saving…";
    try {
      const r = await post(`/api/sessions/${enc(name)}/people`, {
        person: p.person, ...values, version: p.version, reviewer: reviewerInput.value.trim() });
      toast(values.name.trim() ? `Saved: ${values.name.trim()}` : "Saved");
      await afterPeople(name, r);
    } catch (e) {
      stateEl.textContent = "";
      toast((e.status === 409 ? "" : "Not saved: ") + e.message, true);
      if (e.status === 409) loadPeople(name);
    }
  }

  async function declinePerson(p, who) {
    const name = state.session.name;
    try {
      const r = await post(`/api/sessions/${enc(name)}/people-decline`, {
        person: p.person, name: who, reviewer: reviewerInput.value.trim() });
      toast(`Noted: not ${who}.`);
      renderPeople(r);
    } catch (e) { toast("Not saved: " + e.message, true); }
  }

  async function usePair(P) {
    const btn = document.getElementById("use-pair");
    if (btn) { btn.disabled = true; btn.textContent = "Finding moments…"; }
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/pair`, {});
      await afterPeople(state.session.name, r);
    } catch (e) {
      toast("Could not change the pair: " + e.message, true);
      if (btn) { btn.disabled = false; btn.textContent = `Find moments for ${pairNames(P, P.pair.named)}`; }
    }
  }

  // After a change of people: the moments were found again for a new pair (reload the session),
  // or the panel shows what was saved.
  async function afterPeople(name, r) {
    if (r.pair_changed && r.rescored) {
      toast(`Moments found again for ${pairNames(r, r.pair.current)}.`);
      await showSession(name, null, null, state.session ? state.session.pair : "");
      return;
    }
    if (r.pair_changed && r.message) toast("The pair is saved; the moments could not be found again yet: " + r.message, true);
    renderPeople(r);
    refreshPairNames();
  }

  // Where the player would be when the recording is not where `vigcv run` read it.
  function filmMissing(S) {
    const rec = S.recording || {};
    const hint = rec.hint || "The recording is not at its original place any more, so pictures and playing are not available.";
    const parts = hint.split("`");
    const commands = parts.filter((_p, i) => i % 2 === 1);
    const text = parts.map((p, i) => (i % 2 ? h("code", { text: p }) : p));
    return h("div", { class: "film-missing", id: "recording-hint", role: "note" },
      h("p", { class: "fm-title", text: "The film cannot be played here" }),
      rec.path && !hint.includes(rec.path)
        ? h("p", {}, "vigcv looked for it at ", h("code", { class: "path", text: rec.path }), ".") : null,
      h("p", { class: "fm-hint" }, text),
      commands.map((cmd) => h("div", { class: "fm-command" },
        h("code", { class: "cmd", text: cmd }),
        h("button", { class: "secondary copy", onclick: (ev) => copyText(cmd, ev.target) }, "Copy"))),
      commands.length ? h("p", { class: "muted", text:
        "Run it in a terminal (with the folder where the film is now), then reload this page." }) : null);
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied; paste it in a terminal.");
    } catch (e) {
      const code = button && button.previousSibling;
      if (code) window.getSelection().selectAllChildren(code);
      toast("Selected: press Ctrl+C (or ⌘C) to copy it.");
    }
  }

  function current() { return state.session && state.session.moments[state.sel]; }
  function status(m) { return (m.decision && m.decision.status) || ""; }
  function statusText(st) {
    return { accepted: "Kept for the parent", rejected: "Set aside", "": "Not decided yet" }[st];
  }
  const MARK = { accepted: "✓", rejected: "✕", "": "" };

  function renderList() {
    const list = document.getElementById("moments");
    if (!list) return;
    fill(list, ...state.session.moments.map((m, i) => {
      const st = status(m);
      const img = state.session.has_media && state.session.has_video
        ? h("img", { src: `/api/sessions/${enc(state.session.name)}/thumb/${m.rank}.jpg${pairQuery(state.session.pair)}`,
          alt: `Picture from moment ${m.rank}`, loading: "lazy" }) : h("div", { class: "noimg" });
      return h("button", { class: `moment-card ${st || "pending"}${i === state.sel ? " selected" : ""}`,
        "data-rank": m.rank, role: "listitem", "aria-current": i === state.sel ? "true" : null,
        onclick: () => select(i, true) },
        img,
        h("div", { class: "mc-text" },
          h("div", { class: "mc-title" }, h("b", { text: `Moment ${m.rank}` }),
            " ", h("span", { class: "when", text: `${clock(m.bounds[0])} – ${clock(m.bounds[1])}` })),
          state.session.pair_label ? h("div", { class: "mc-whose", text: capital(state.session.pair_label) }) : null,
          h("div", { class: "mc-reason", text: (m.reasons && m.reasons[0]) || "" }),
          h("div", { class: `badge ${st || "pending"}`,
            text: { accepted: "✓ Kept", rejected: "✕ Set aside", "": "Not decided" }[st] })));
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

  // The two notes: field name in the store, element id, label, placeholder.
  const NOTES = [
    ["note", "note", "For yourself (never shared)",
      "Only you see this: it is never put in the parent's version of an export."],
    ["parent_note", "parent-note", "For the parent (shown in the parent's report)",
      "A few warm words the parent will read beside this moment."],
  ];

  function noteBox(m, field, id, label, placeholder) {
    const d = m.decision || {};
    const old = document.getElementById(id);
    const typing = old && document.activeElement === old && old.dataset.rank === String(m.rank);
    const box = typing ? old : h("textarea", { id, rows: 2, "data-rank": m.rank, "data-field": field,
      placeholder, "aria-label": label });
    if (!typing) {
      box.value = d[field] || "";
      box.addEventListener("input", () => {
        clearTimeout(state.noteTimers[field]);
        document.getElementById(`${id}-state`).textContent = "…";
        state.noteTimers[field] = setTimeout(() => saveNote(m, field, id, box.value), 700);
      });
      box.addEventListener("blur", () => {
        if (box.value !== ((m.decision || {})[field] || "")) {
          clearTimeout(state.noteTimers[field]);
          saveNote(m, field, id, box.value);
        }
      });
    }
    return h("div", { class: `note note-${id}` },
      h("label", { for: id }, h("b", { text: label }), " ", h("span", { id: `${id}-state`, class: "muted" })),
      box);
  }

  function renderDetail() {
    const box = document.getElementById("detail");
    const m = current();
    if (!box || !m) return;
    const st = status(m);
    const d = m.decision || {};
    const trimmed = d.trim_start !== null && d.trim_start !== undefined
      || d.trim_end !== null && d.trim_end !== undefined;
    const notes = NOTES.map(([field, id, label, placeholder]) => noteBox(m, field, id, label, placeholder));
    fill(box,
      h("div", { class: "detail-head" },
        h("h2", {}, `Moment ${m.rank} `, h("span", { class: "when", id: "when",
          text: `${clock(m.bounds[0])} – ${clock(m.bounds[1])}` })),
        h("span", { class: `badge ${st || "pending"}`, id: "status", text: statusText(st) })),
      state.session.pair_label ? h("p", { class: "whose-moment", id: "whose-moment" }, "A moment of ",
        h("b", { text: state.session.pair_label })) : null,
      h("div", { class: "actions", id: "actions" },
        h("button", { id: "play", class: "play", onclick: () => cueMoment(true),
          disabled: state.session.has_media ? null : true }, "▶ Play moment"),
        h("button", { id: "accept", class: "accept" + (st === "accepted" ? " on" : ""),
          "aria-pressed": st === "accepted" ? "true" : "false",
          onclick: () => decide(m, "status", "accepted") }, "✓ Keep for the parent"),
        h("button", { id: "reject", class: "reject" + (st === "rejected" ? " on" : ""),
          "aria-pressed": st === "rejected" ? "true" : "false",
          onclick: () => decide(m, "status", "rejected") }, "✕ Set aside"),
        st ? h("button", { id: "undecide", class: "link", onclick: () => decide(m, "status", "") },
          "undo: not decided") : null),
      h("div", { class: "trim" },
        h("span", { class: "trim-group" },
          h("span", { class: "trim-label", text: "Starts" }),
          h("button", { id: "start-earlier", class: "small", title: "start earlier", onclick: () => nudge(m, 0, -1) }, "−"),
          h("b", { id: "start-time", text: clockTenths(m.bounds[0]) }),
          h("button", { id: "start-later", class: "small", title: "start later", onclick: () => nudge(m, 0, +1) }, "+")),
        h("span", { class: "trim-group" },
          h("span", { class: "trim-label", text: "Ends" }),
          h("button", { id: "end-earlier", class: "small", title: "end earlier", onclick: () => nudge(m, 1, -1) }, "−"),
          h("b", { id: "end-time", text: clockTenths(m.bounds[1]) }),
          h("button", { id: "end-later", class: "small", title: "end later", onclick: () => nudge(m, 1, +1) }, "+")),
        trimmed ? h("button", { id: "untrim", class: "link", onclick: () => untrim(m) },
          "undo trim") : null),
      h("h3", { text: "Why this moment" }),
      h("ul", { class: "reasons", id: "reasons" }, (m.reasons || []).map((r) => h("li", { text: r }))),
      m.principles && m.principles.length
        ? h("p", { class: "principles" }, "Shows: ",
          m.principles.map((p) => h("span", { class: "chip", text: p }))) : null,
      h("h3", { text: "Notes" }),
      notes,
      h("details", { class: "measures" }, h("summary", { text: "What was measured" }), bars(m)),
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
    if (caption) caption.textContent = `Play moment: ${clock(a)}–${clock(b)} (green: the moment, ${CONTEXT} s either side), then stops. The video's own controls play anywhere.`;
    strip.dataset.a = a;
    strip.dataset.b = b;
  }

  function renderAll() { renderPairs(); renderList(); renderDetail(); renderExport(); drawTimeline(); }

  function select(i, play) {
    const S = state.session;
    if (!S || !S.moments.length) return;
    state.sel = Math.max(0, Math.min(S.moments.length - 1, i));
    history.replaceState(null, "", sessionHash(S.name, S.pair, S.moments[state.sel].rank));
    renderList();
    renderDetail();
    drawTimeline();
    cueMoment(play);
    const card = document.querySelector(".moment-card.selected");
    if (card) card.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // -- playing ------------------------------------------------------------------------------------
  // Only a moment-play the page started stops by itself (state.stopAt: at the moment's end plus
  // its context). The video's own controls play freely: a seek the page did not make, or the
  // stop having been reached, clears it.
  const SEEK_SLACK = 0.25; // s: a "seeking" this close to the page's own target is the page's

  function seekPage(v, t) {
    state.seekTo = t;
    v.currentTime = t;
  }

  function onSeeking(ev) {
    const v = ev.currentTarget;
    if (v !== document.getElementById("player")) return;
    if (state.seekTo !== null && Math.abs(v.currentTime - state.seekTo) < SEEK_SLACK) return;
    state.seekTo = null;
    state.stopAt = null; // the guider moved the video: watch freely from there
    state.free = true;
  }

  function momentWindow(m) {
    return [Math.max(0, m.bounds[0] - CONTEXT), m.bounds[1] + CONTEXT];
  }

  function cueMoment(play) {
    const v = document.getElementById("player");
    const m = current();
    if (!v || !m || !v.src) return;
    const [from, to] = momentWindow(m);
    state.free = false;
    state.stopAt = play || !v.paused ? to : null;
    const go = () => {
      seekPage(v, from);
      if (play) v.play().catch((e) => toast("The video cannot play here: " + e.message, true));
    };
    if (v.readyState >= 1) go();
    else v.addEventListener("loadedmetadata", go, { once: true });
  }

  // A player the page has replaced (another session, the list) still reports once it is
  // paused on removal: only the current one counts.
  function onTime(ev) {
    const v = ev.currentTarget;
    if (v !== document.getElementById("player")) return;
    if (state.stopAt !== null && v.currentTime >= state.stopAt && !v.paused) {
      v.pause();
      state.stopAt = null; // stopped once; the video's own play button now plays on
    }
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

  // Space: pause; or play the current moment (resuming inside it, else from its start), unless
  // the guider has moved the video with its own controls: then play on from where it is.
  function togglePlay() {
    const v = document.getElementById("player");
    if (!v || !v.src) return;
    if (!v.paused) { v.pause(); return; }
    const m = current();
    if (!m || state.free) { v.play().catch(() => {}); return; }
    const [from, to] = momentWindow(m);
    if (v.currentTime >= from - 0.5 && v.currentTime < to - 0.1) {
      state.stopAt = to;
      v.play().catch(() => {});
    } else cueMoment(true);
  }

  // -- decisions ----------------------------------------------------------------------------------
  const QUIET = new Set(NOTES.map(([field]) => field)); // saving a note does not redraw the page

  async function decide(m, field, value) {
    state.writes += 1;
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/decision`, {
        start: m.start, end: m.end, field, value, reviewer: reviewerInput.value.trim(),
        pair: state.session.pair || "",
      });
      m.decision = r.decision;
      const d = r.decision;
      m.bounds = [d.trim_start ?? m.start, d.trim_end ?? m.end];
      return true;
    } catch (e) {
      if (e.status === 409) {
        toast("The moments of this session changed; showing the new ones.", true);
        await showSession(state.session.name, null, null, state.session.pair);
      } else toast("Not saved: " + e.message, true);
      return false;
    } finally {
      state.writes += 1; // also after: a refresh that overlapped this save is stale
      if (!QUIET.has(field)) renderAll();
    }
  }

  async function saveNote(m, field, id, text) {
    const ok = await decide(m, field, text);
    const el = document.getElementById(`${id}-state`);
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
      await showSession(state.session.name, null, null, state.session.pair);
    } catch (e) {
      toast("Could not swap: " + e.message, true);
      btn.disabled = false;
      btn.textContent = "⇄ Swap parent and child";
    }
  }

  // -- export: the parent's version or the guider's -----------------------------------------------
  const AUDIENCES = {
    parent: {
      button: "⤓ Export for the parent",
      about: (kept) => kept
        ? `Only the ${kept} moment(s) you kept: their clips and stills, and your notes for the parent. Your private notes and the set-aside moments are never in it.`
        : "Only the moments you kept go in it, and you have not kept any yet: keep a moment first.",
      done: "The parent's version: only the moments you kept, with your notes for the parent; no private notes. You can give this folder to the family.",
    },
    guider: {
      button: "Guider's version (not for sharing)",
      about: () => "Every suggested moment with your decisions and private notes, marked “not for sharing”: for your own records or supervision.",
      done: "The guider's version: every suggested moment with your decisions and private notes. Not for sharing with the family.",
    },
  };

  function renderExport() {
    const box = document.getElementById("export-section");
    const S = state.session;
    if (!box || !S) return;
    const kept = S.moments.filter((m) => status(m) === "accepted").length;
    const choice = (audience) => h("div", { class: `export-choice ${audience}` },
      h("button", { id: `export-${audience}`, class: audience === "parent" ? "play" : "secondary guider",
        onclick: () => exportSession(audience) }, AUDIENCES[audience].button),
      h("p", { class: "muted", id: `export-${audience}-about`, text: AUDIENCES[audience].about(kept) }));
    const old = document.getElementById("exported");
    fill(box,
      h("h2", { class: "section", text: "Export" }),
      h("p", { class: "muted", text:
        "Each export goes into a new dated folder in the output folder's exports/; an earlier export is never replaced." }),
      h("div", { class: "export-choices" }, choice("parent"), choice("guider")),
      old || h("div", { id: "exported", role: "status" }));
  }

  async function exportSession(audience) {
    const btn = document.getElementById(`export-${audience}`);
    const label = AUDIENCES[audience].button;
    btn.disabled = true;
    btn.textContent = "Exporting…";
    try {
      const r = await post(`/api/sessions/${enc(state.session.name)}/export`, { audience });
      const which = AUDIENCES[r.audience] ? r.audience : audience;
      const box = document.getElementById("exported");
      fill(box, h("div", { class: `exported ${which}`, "data-audience": which },
        h("p", {}, h("b", { text: AUDIENCES[which].done })),
        h("p", {}, `${r.clips} clip(s) in `, h("code", { class: "path", text: r.folder })),
        h("p", { class: "links" }, r.files.map((f) =>
          h("a", { href: f.url, target: "_blank", rel: "noopener", text: f.name })))));
      toast("Export finished.");
    } catch (e) {
      toast("Export failed: " + e.message, true);
    } finally {
      const again = document.getElementById(`export-${audience}`);
      if (again) { again.disabled = false; again.textContent = label; }
    }
  }

  // -- the timeline -------------------------------------------------------------------------------
  // One lane per signal, the moments as bands across all lanes: kept = solid outline and ✓,
  // set aside = hatched and ✕, not decided = dashed outline; mm:ss ticks under the lanes.
  const LANES = [
    // label, short label (phone), kind, key, colour
    ["Connection (overall)", "Overall", "score", "score", "#2f5d62"],
    ["Looking at each other", "Mutual gaze", "signal", "mutual_gaze", "#2f7d6d"],
    ["Parent smiles", "Parent smile", "signal", "parent_smile", "#c08a00"],
    ["Child smiles", "Child smile", "signal", "child_smile", "#d9730d"],
    ["Parent speaks", "Parent talk", "speech", "parent", "#4a6fa5"],
    ["Child speaks", "Child talk", "speech", "child", "#a0527a"],
  ];

  // The lanes name the pair on show once the guider has named its people ("Mum smiles");
  // unnamed, "Parent" and "Child". Long names are cut to fit the label column.
  function laneNames(room) {
    const S = state.session || {};
    const pair = (S.pairs || []).find((p) => p.pair === (S.pair || ""));
    const named = (id, fallback) => {
      const people = state.people && state.people.people ? state.people.people : [];
      const p = id === null || id === undefined ? null : people.find((x) => x.person === id);
      const name = p && p.name ? p.name : fallback;
      return name.length > room ? `${name.slice(0, room - 1)}…` : name;
    };
    return { Parent: named(pair ? pair.parent : null, "Parent"), Child: named(pair ? pair.child : null, "Child") };
  }

  function drawTimeline() {
    const box = document.getElementById("timeline");
    const T = state.timeline, S = state.session;
    if (!box || !T) return;
    const width = Math.max(300, box.clientWidth - 20 || 900);
    const narrow = width < 600;
    const left = narrow ? 84 : 160, right = 10, plotW = width - left - right;
    const top = 20, laneH = narrow ? 18 : 20, gap = 4;
    const lanesH = LANES.length * (laneH + gap) - gap;
    const height = top + lanesH + 24;
    const dur = Math.max(T.duration || S.duration || 1, 0.001);
    const x = (t) => left + plotW * Math.max(0, Math.min(1, t / dur));
    state.tx = x;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "Timeline of the whole session: one lane per signal, the moments as bands" });
    // ticks: mm:ss, with faint lines through the lanes
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    const step = steps.find((st) => dur / st <= Math.max(3, plotW / 70)) || 3600;
    for (let t = 0; t <= dur + 1e-9; t += step) {
      svg.append(s("line", { x1: x(t), x2: x(t), y1: top, y2: top + lanesH, class: "tl-grid" }));
      const anchor = t === 0 ? "start" : x(t) > width - right - 20 ? "end" : "middle";
      const tx = s("text", { x: x(t), y: height - 6, class: "tl-tick", "text-anchor": anchor });
      tx.textContent = clock(t);
      svg.append(tx);
    }
    // lanes
    const w = T.windows || {}, sig = T.signals || {};
    const names = laneNames(narrow ? 7 : 12);
    const named = (text) => text.replace(/^(Parent|Child)\b/, (m) => names[m]);
    LANES.forEach(([label, short, kind, key, colour], k) => {
      const y = top + k * (laneH + gap);
      const g = s("g", { class: "tl-lane-group", "data-signal": key, "data-kind": kind });
      const t = s("text", { x: 4, y: y + laneH - 5, class: "tl-label" });
      t.textContent = named(narrow ? short : label);
      g.append(t, s("rect", { x: left, y, width: plotW, height: laneH, class: "tl-lane" }));
      const area = (ts, vals) => {
        if (!vals || !ts || !ts.length) return;
        let d = "", open = false;
        ts.forEach((tt, j) => {
          const v = vals[j];
          if (v === null || v === undefined) { if (open) { d += ` L${x(ts[j - 1])},${y + laneH} Z`; open = false; } return; }
          if (!open) { d += ` M${x(tt)},${y + laneH}`; open = true; }
          d += ` L${x(tt)},${y + laneH * (1 - Math.max(0, Math.min(1, v)))}`;
        });
        if (open) d += ` L${x(ts[ts.length - 1])},${y + laneH} Z`;
        if (d) g.append(s("path", { d, fill: colour, opacity: 0.85 }));
      };
      if (kind === "score") area(w.t, w.score);
      else if (kind === "signal") area(sig.t, sig[key]);
      else {
        for (const seg of T.speech || []) {
          if (seg.speaker !== key) continue;
          g.append(s("rect", { x: x(seg.start), y, width: Math.max(1, x(seg.end) - x(seg.start)),
            height: laneH, fill: colour }));
        }
      }
      svg.append(g);
    });
    // moments: bands across the lanes, a mark and the rank above
    let lastLabel = -Infinity;
    const order = S.moments.map((m, i) => i).sort((a, b) => S.moments[a].bounds[0] - S.moments[b].bounds[0]);
    for (const i of order) {
      const m = S.moments[i];
      const st = status(m) || "pending";
      const x0 = x(m.bounds[0]), bw = Math.max(4, x(m.bounds[1]) - x0);
      const band = s("rect", { x: x0, y: top - 2, width: bw, height: lanesH + 4, rx: 2,
        class: `tl-moment ${st}${i === state.sel ? " selected" : ""}`, "data-rank": m.rank });
      const title = s("title");
      title.textContent = `Moment ${m.rank}, ${clock(m.bounds[0])} – ${clock(m.bounds[1])}: ${statusText(status(m))}`;
      band.append(title);
      band.addEventListener("click", (ev) => { ev.stopPropagation(); select(i, true); });
      if (st === "rejected") svg.append(hatch(x0, top - 2, bw, lanesH + 4));
      svg.append(band);
      const cx = x0 + bw / 2;
      if (cx - lastLabel >= 22 || i === state.sel) {
        const label = s("text", { x: cx, y: top - 6, class: `tl-rank ${st}`, "text-anchor": "middle" });
        label.textContent = `${MARK[status(m)]}${m.rank}`;
        svg.append(label);
        lastLabel = cx;
      }
    }
    svg.append(s("line", { id: "playhead", x1: left, x2: left, y1: top - 4, y2: top + lanesH + 4, class: "tl-playhead" }));
    svg.addEventListener("click", (ev) => {
      const rect = svg.getBoundingClientRect();
      const t = ((ev.clientX - rect.left - left) / plotW) * dur;
      if (t < 0 || t > dur) return;
      const v = document.getElementById("player");
      if (v && v.src) { state.stopAt = null; state.free = true; seekPage(v, t); }
    });
    fill(box, svg);
  }

  // Diagonal lines filling a box: how a set-aside moment is drawn (seen without colour too).
  function hatch(x0, y0, w, hgt, step = 7) {
    let d = "";
    for (let c = -hgt; c < w; c += step) {
      const t1 = Math.max(0, -c), t2 = Math.min(hgt, w - c);
      if (t2 <= t1) continue;
      d += `M${x0 + c + t1},${y0 + hgt - t1} L${x0 + c + t2},${y0 + hgt - t2} `;
    }
    return s("path", { d, class: "tl-hatch" });
  }

  function legend() {
    const sw = (cls) => {
      const svg = s("svg", { width: 26, height: 16, "aria-hidden": "true" });
      if (cls === "rejected") svg.append(hatch(2, 2, 22, 12, 5));
      svg.append(s("rect", { x: 2, y: 2, width: 22, height: 12, rx: 2, class: `tl-moment ${cls}` }));
      return svg;
    };
    return h("div", { class: "legend" },
      h("span", { class: "legend-item" }, sw("accepted"), "✓ Kept (solid outline)"),
      h("span", { class: "legend-item" }, sw("rejected"), "✕ Set aside (hatched)"),
      h("span", { class: "legend-item" }, sw("pending"), "Not decided (dashed outline)"),
      h("span", { class: "legend-item" }, h("span", { class: "swatch playhead" }), "Where the video is"));
  }

  function keysHelp() {
    const keys = [["← / →", "previous / next moment"], ["Space", "play the moment / pause"],
      ["A", "keep for the parent"], ["R", "set aside"], ["U", "undecided again"],
      ["[ / ]", "start earlier / later"], ["- / =", "end earlier / later"],
      ["N", "note for yourself"], ["P", "note for the parent"]];
    return h("div", { class: "keys" }, h("b", { text: "Keyboard: " }),
      keys.map(([k, what]) => h("span", { class: "key-item" }, h("kbd", { text: k }), " " + what)));
  }

  // -- keyboard -----------------------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    if (!state.session || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (ev.target && ev.target.closest && ev.target.closest("#people")) return; // its own keys
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
      p: () => { const n = document.getElementById("parent-note"); if (n) n.focus(); },
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
      const fresh = await api(`/api/sessions/${enc(S.name)}${pairQuery(S.pair)}`);
      if (writes !== state.writes || state.session !== S) return; // we wrote meanwhile: stale
      const same = fresh.moments.length === S.moments.length
        && fresh.moments.every((m, i) => m.start === S.moments[i].start && m.end === S.moments[i].end);
      if (!same || fresh.roles_swapped !== S.roles_swapped) { await showSession(S.name, null, null, S.pair); return; }
      const before = JSON.stringify(S.moments.map((m) => m.decision));
      if (JSON.stringify(fresh.moments.map((m) => m.decision)) === before) return;
      fresh.moments.forEach((m, i) => { S.moments[i].decision = m.decision; S.moments[i].bounds = m.bounds; });
      renderAll();
    } catch (e) { /* the next action will tell */ }
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshDecisions(); });
  window.addEventListener("focus", refreshDecisions);

  route();
})();
