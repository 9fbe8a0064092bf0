"""HTML reports of one session that open from disk, without the review server.

Two audiences (:data:`AUDIENCES`):

- ``parent``: the version a guider shares. Only the moments the guider kept, numbered 1..n in
  film order, each with its clip (a ``<video>`` whose ``src`` is the clip file beside the report,
  ``clips/...``) over a still of the moment, the reasons in plain strengths-based English, the VIG
  principles it shows and the guider's note for the parent. No scores, no component bars, no
  session curve, no decisions, no private note.
- ``guider``: everything, marked "Guider's version: not for sharing" at the top: every suggested
  moment with its decision, private note and note for the parent, component bars, the session
  timeline, and the clips of the kept moments.

A session of more than two people also holds the moments of its other parent-child pairs: a
moment dict with ``pair_label`` ("Mum and Sam") says whose moment it is in its caption, and one
with ``key`` is looked up in ``thumbs`` and ``clips`` by that key instead of its rank (ranks
repeat across pairs).

The CSS and the stills (``data:`` URIs) are inline; a Content-Security-Policy meta tag forbids
scripts and loading anything but the clips beside the report.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from vigcv.export.clips import clock
from vigcv.scoring.components import COMPONENT_NAMES
from vigcv.scoring.reasons import JUDGING_WORDS

AUDIENCES = ("parent", "guider")
GUIDER_MARK = "Guider's version: not for sharing"
STATUS_TEXT = {"accepted": "Kept for the parent", "rejected": "Set aside", "": "Not reviewed yet"}
COLOURS = {
    "mutual_gaze": "#2f7d6d",
    "contingency": "#c0692b",
    "shared_affect": "#d4a017",
    "turn_taking": "#6a5acd",
    "proximity": "#8a8a8a",
}
# Scripts, frames, fonts, connections: none. Pictures: inline only. Video: the clips beside the
# report (a file:// page is its own origin for 'self'; the server serves reports sandboxed).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src 'self'"
_JUDGING = re.compile(r"\b(" + "|".join(re.escape(w.strip()) for w in JUDGING_WORDS) + ")", re.I)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f4ef;
color:#222;font-size:17px;line-height:1.45}
header{background:#2f5d62;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:26px}header p{margin:4px 0 0;opacity:.9}
.guider-only{background:#7a1f1f;color:#fff;padding:10px 32px;font-weight:700;font-size:18px}
main{max-width:1100px;margin:0 auto;padding:20px 32px}
.card{display:flex;flex-wrap:wrap;gap:20px;background:#fff;border-radius:12px;padding:16px;
margin:14px 0;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.card img,.card video{width:420px;max-width:100%;height:auto;align-self:flex-start;
border-radius:8px;flex:none;background:#000}.card img.still{width:260px;background:none}
.card .text{flex:1;min-width:260px}
.card h2{margin:0 0 4px;font-size:21px}.when{font-size:19px;color:#2f5d62;font-weight:600}
.badge{display:inline-block;border-radius:999px;padding:2px 12px;font-size:14px;margin-left:8px}
.accepted{background:#d8f0dc;color:#1d6b2b}.rejected{background:#eee;color:#666}
.pending{background:#e4edf7;color:#2b4f7d}
ul{margin:6px 0 8px 20px;padding:0}.bars{display:grid;grid-template-columns:190px 1fr;gap:3px 10px;
font-size:14px;max-width:480px}.bar{background:#eee;border-radius:4px;height:12px;margin-top:4px}
.bar span{display:block;height:12px;border-radius:4px}.private-note{background:#fff8e1;
border-radius:8px;padding:8px 12px;margin-top:8px}.parent-note{background:#e8f4ec;border-radius:8px;
padding:10px 14px;margin-top:10px}.timeline{background:#fff;border-radius:12px;padding:12px}
.muted{color:#666;font-size:14px}.intro{font-size:19px}
.whose{font-weight:600;color:#2f5d62;margin:0 0 4px}
"""


def moment_key(m: Mapping[str, Any]) -> int:
    """How ``thumbs`` and ``clips`` know a moment: its ``key`` when it has one (the moments of
    several pairs in one report), else its rank."""
    return int(m.get("key", m.get("rank", 0)))


def _whose(m: Mapping[str, Any]) -> str:
    label = str(m.get("pair_label") or "")
    if not label:
        return ""
    return f"<div class='whose'>{html.escape(label[:1].upper() + label[1:])}</div>"


def _data_uri(jpeg: bytes | None) -> str:
    if not jpeg:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def timeline_svg(
    *,
    duration: float,
    windows: dict[str, Sequence[float | None]],
    speech: Sequence[dict[str, Any]],
    moments: Sequence[dict[str, Any]],
    width: int = 1000,
) -> str:
    """An SVG of the session: component curves, speech of each person, moments marked.

    ``windows`` has ``t`` (window centres, s) and one list of 0..1 values per component.
    """
    duration = max(duration, 1e-3)
    left, right = 120, 30
    plot_w = width - left - right
    curve_h, lane_h, gap = 110, 18, 8
    speech_y = 10 + curve_h + gap
    height = speech_y + 2 * (lane_h + 4) + 24

    def x(t: float) -> float:
        return left + plot_w * max(0.0, min(1.0, t / duration))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="Timeline of the session">'
    ]
    for m in moments:
        start, end = m.get("bounds") or (m["start"], m["end"])
        status = (m.get("decision") or {}).get("status", "")
        fill = {"accepted": "#9fd8a8", "rejected": "#dddddd"}.get(status, "#c9dcf2")
        parts.append(
            f'<rect x="{x(start):.1f}" y="4" width="{max(2.0, x(end) - x(start)):.1f}" '
            f'height="{height - 28}" fill="{fill}" opacity="0.7"/>'
            f'<text x="{x(start) + 2:.1f}" y="16" font-size="12" fill="#234">'
            f"{int(m.get('rank', 0))}</text>"
        )
    ts = windows.get("t", [])
    for name, colour in COLOURS.items():
        values = windows.get(name)
        if not values:
            continue
        pts = [
            f"{x(float(t)):.1f},{10 + curve_h * (1 - float(v)):.1f}"
            for t, v in zip(ts, values, strict=False)
            if t is not None and v is not None
        ]
        if pts:
            parts.append(
                f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" '
                f'stroke-width="1.6"/>'
            )
    parts.append(
        f'<text x="4" y="{10 + curve_h / 2:.0f}" font-size="13" fill="#333">Connection</text>'
    )
    for k, (who, label) in enumerate((("parent", "Parent speaks"), ("child", "Child speaks"))):
        y = speech_y + k * (lane_h + 4)
        parts.append(f'<text x="4" y="{y + 13}" font-size="13" fill="#333">{label}</text>')
        colour = "#2f5d62" if who == "parent" else "#c0692b"
        for seg in speech:
            if seg.get("speaker") == who:
                parts.append(
                    f'<rect x="{x(seg["start"]):.1f}" y="{y}" '
                    f'width="{max(1.0, x(seg["end"]) - x(seg["start"])):.1f}" height="{lane_h}" '
                    f'fill="{colour}" rx="3"/>'
                )
    step = _tick_step(duration)
    t = 0.0
    while t <= duration + 1e-9:
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - 6}" font-size="12" fill="#555" '
            f'text-anchor="middle">{clock(t)}</text>'
        )
        t += step
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(duration: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800):
        if duration / step <= 10:
            return float(step)
    return 3600.0


def _bounds(m: Mapping[str, Any]) -> tuple[float, float]:
    start, end = m.get("bounds") or (m["start"], m["end"])
    return float(start), float(end)


def _player(clip: str | None, still: str, label: str) -> str:
    """The moment's clip over its still; the still alone when there is no clip."""
    esc = html.escape
    if clip:
        poster = f" poster='{still}'" if still else ""
        return (
            f"<video controls preload='metadata' src='{esc(clip)}'{poster} "
            f"aria-label='{esc(label)}'></video>"
        )
    return f"<img class='still' alt='{esc(label)}' src='{still}'>" if still else ""


def _page(title: str, body: str) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='referrer' content='no-referrer'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"{body}<main><p class='muted'>Made with vigcv on {made}.</p></main></body></html>"
    )


def parent_report_html(
    *,
    session: str,
    moments: Sequence[dict[str, Any]],
    thumbs: Mapping[int, bytes],
    clips: Mapping[int, str],
) -> str:
    """The parent's report: ``moments`` are the kept ones (``decision`` and ``bounds``
    attached); ``thumbs`` and ``clips`` map a moment's rank (its :func:`moment_key`) to its still
    (JPEG bytes) and to its clip's path relative to the report. Nothing else of the session is
    read."""
    esc = html.escape
    ordered = sorted(moments, key=lambda m: _bounds(m)[0])
    cards = []
    for number, m in enumerate(ordered, start=1):
        key = moment_key(m)
        decision = m.get("decision") or {}
        start, end = _bounds(m)
        label = f"Moment {number}, at {clock(start)} in the film"
        if m.get("pair_label"):
            label += f": {m['pair_label']}"
        reasons = [str(r) for r in m.get("reasons", []) if not _JUDGING.search(str(r))]
        items = "".join(f"<li>{esc(r)}</li>" for r in reasons)
        principles = ", ".join(str(p) for p in m.get("principles", []))
        note = str(decision.get("parent_note") or "").strip()
        cards.append(
            "<section class='card moment'>"
            + _player(clips.get(key), _data_uri(thumbs.get(key)), label)
            + "<div class='text'>"
            + f"<h2>Moment {number}</h2>"
            + _whose(m)
            + f"<div class='when'>{clock(start)} – {clock(end)} in the film "
            + f"(about {max(1, round(end - start))} s)</div>"
            + (f"<div class='muted'>Shows: {esc(principles)}</div>" if principles else "")
            + (f"<ul>{items}</ul>" if items else "")
            + (
                f"<div class='parent-note'><b>From your guider:</b> {esc(note)}</div>"
                if note
                else ""
            )
            + "</div></section>"
        )
    count = f"{len(cards)} moment{'s' if len(cards) != 1 else ''}"
    body = (
        f"<header><h1>Moments together – {esc(session)}</h1>"
        f"<p>{count} from your film, chosen with your guider</p></header><main>"
        "<p class='intro'>Each moment below is a short clip from your film where you and your "
        "child were connected. Press play to watch it.</p>" + "".join(cards) + "</main>"
    )
    return _page(f"Moments together – {session}", body)


def guider_report_html(
    *,
    session: str,
    duration: float,
    moments: Sequence[dict[str, Any]],
    thumbs: Mapping[int, bytes],
    clips: Mapping[int, str],
    timeline: dict[str, Any],
) -> str:
    """The guider's report: every suggested moment with its decision and notes (``decision``
    and ``bounds`` attached, as the review page has them); ``thumbs`` and ``clips`` map rank (its
    :func:`moment_key`) -> still JPEG bytes and clip path relative to the report; ``timeline`` is
    from :func:`vigcv.results.sessions.timeline_data`, the session's own pair's, so the timeline
    marks only its moments (those without a ``pair``)."""
    esc = html.escape
    kept = sum(1 for m in moments if (m.get("decision") or {}).get("status") == "accepted")
    cards = []
    for m in moments:
        rank, key = int(m.get("rank", 0)), moment_key(m)
        decision = m.get("decision") or {}
        status = decision.get("status", "")
        start, end = _bounds(m)
        bars = []
        for component, label in COMPONENT_NAMES.items():
            value = float((m.get("components") or {}).get(component, 0.0) or 0.0)
            pct = max(0.0, min(100.0, 100 * value))
            bars.append(
                f"<div>{esc(label)}</div><div class='bar'>"
                f"<span style='width:{pct:.0f}%;background:{COLOURS[component]}'></span></div>"
            )
        reasons = "".join(f"<li>{esc(str(r))}</li>" for r in m.get("reasons", []))
        note = str(decision.get("note") or "")
        parent_note = str(decision.get("parent_note") or "")
        cls = {"accepted": "accepted", "rejected": "rejected"}.get(status, "pending")
        principles = ", ".join(str(p) for p in m.get("principles", []))
        cards.append(
            "<section class='card moment'>"
            + _player(clips.get(key), _data_uri(thumbs.get(key)), f"moment {rank}")
            + "<div class='text'>"
            + f"<h2>Moment {rank}"
            + f"<span class='badge {cls}'>{esc(STATUS_TEXT.get(status, status))}</span></h2>"
            + _whose(m)
            + f"<div class='when'>{clock(start)} – {clock(end)}</div>"
            + (f"<div class='muted'>Shows: {esc(principles)}</div>" if principles else "")
            + f"<ul>{reasons}</ul><div class='bars'>{''.join(bars)}</div>"
            + (f"<div class='private-note'><b>Private note:</b> {esc(note)}</div>" if note else "")
            + (
                f"<div class='parent-note'><b>Note for the parent:</b> {esc(parent_note)}</div>"
                if parent_note
                else ""
            )
            + "</div></section>"
        )
    if not cards:
        cards.append("<p>No moments to show for this session.</p>")
    svg = timeline_svg(
        duration=duration,
        windows=timeline.get("windows", {}),
        speech=timeline.get("speech", []),
        moments=[m for m in moments if not m.get("pair")],
    )
    legend = ", ".join(
        f"<b style='color:{COLOURS[k]}'>{esc(label.lower())}</b>"
        for k, label in COMPONENT_NAMES.items()
    )
    body = (
        f"<div class='guider-only' id='guider-only'>{GUIDER_MARK}. It holds every suggested "
        "moment, your decisions and your private notes; share the parent's version instead."
        "</div>"
        f"<header><h1>Moments of connection – {esc(session)}</h1>"
        f"<p>{clock(duration)} of film · {len(moments)} suggested moments · "
        f"{kept} kept for the parent</p></header><main>"
        "<h2>The whole session</h2>"
        f"<div class='timeline'>{svg}<div class='muted'>Coloured lines: how strongly the "
        f"film shows each kind of connection ({legend}). Shaded bands: the moments "
        "(green = kept, grey = set aside, blue = not reviewed).</div>"
        "</div>" + "".join(cards) + "</main>"
    )
    return _page(f"Guider's version – {session}", body)
