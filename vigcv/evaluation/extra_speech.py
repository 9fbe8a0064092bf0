"""Two more real recordings with speaker turns, from a registry package, for the speech benchmarks.

The development speech in ``../shared/eval/speech`` is two recordings (a two-person call, a
four-person meeting): too few to choose speaker settings on one and score them on another
(``scripts/bench_speakers.py``). pyAudioAnalysis 0.1.3 (Apache-2.0, T. Giannakopoulos) ships in
its source archive the two recordings of its own speaker-diarization example, with the turns
marked by hand (``start,end,speaker`` per line, 0.1 s resolution, no pauses marked):

- ``diarizationExample``: 42 s, 16 kHz, four speakers in seven turns of 3-9 s (two return);
- ``diarizationExample2``: 22 s, six speakers, one turn of 3.2-5.3 s each.

:func:`fetch_extra_speech` makes them present in a folder (``pip download`` of the archive at
set-up of a benchmark, never at run time; every file checked against its sha256 here) and writes
the turns as RTTM beside each recording. They are development data like ``../shared/eval``:
read by the benchmarks, never committed to the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigcv.errors import VigcvError
from vigcv.models import ModelSpec, extract_verified, sha256_file

SOURCE = "pyAudioAnalysis==0.1.3"
LICENCE = "Apache-2.0 (pyAudioAnalysis, T. Giannakopoulos)"


@dataclass(frozen=True)
class ExtraRecording:
    """One recording: its name and the sha256 of its audio and of its turns file."""

    name: str
    wav_sha256: str
    segments_sha256: str
    what: str


RECORDINGS = (
    ExtraRecording(
        "diarizationExample",
        "96e18c15c4a8a83f1491ee3ed58c3ce9bb508497362823e1d662c0af658eed6e",
        "e561c673856dda7727f279030debad774d2bb790e35fb2e99318d8ad27d42fb6",
        "42 s, four speakers, seven turns",
    ),
    ExtraRecording(
        "diarizationExample2",
        "ea73d3d60c769f048478f3a96a9d66c8df4c5a0fba98bbff975a5dbbe59ebb54",
        "e8ff199c563cee78dd09f595d5c397974977902c219b4cff7a21f61d2b8a6d61",
        "22 s, six speakers, one turn each",
    ),
)


def segments_to_rttm(text: str, uri: str) -> str:
    """pyAudioAnalysis's ``start,end,label`` lines as RTTM ``SPEAKER`` lines (blank lines and
    lines with fewer than three fields skipped)."""
    lines = []
    for raw in text.splitlines():
        fields = [f.strip() for f in raw.split(",")]
        if len(fields) < 3 or not fields[2]:
            continue
        try:
            start, end = float(fields[0]), float(fields[1])
        except ValueError:
            raise VigcvError(f"{uri}: turn line {raw!r} is not start,end,speaker") from None
        if end <= start:
            continue
        lines.append(
            f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {fields[2]} <NA> <NA>"
        )
    return "\n".join(lines) + "\n"


def _spec(name: str, file: str, sha256: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        file=file,
        what="development speech with speaker turns",
        source=SOURCE,
        path=f"pyAudioAnalysis/data/{file}",
        sha256=sha256,
        licence=LICENCE,
        dist="sdist",
    )


def fetch_extra_speech(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, wav, rttm)`` for each recording, fetched into ``folder`` when not already
    there and verified. Needs PyPI access the first time (a one-line error otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for rec in RECORDINGS:
        wav, segments = folder / f"{rec.name}.wav", folder / f"{rec.name}.segments"
        for path, sha in ((wav, rec.wav_sha256), (segments, rec.segments_sha256)):
            if not (path.is_file() and sha256_file(path) == sha):
                extract_verified(_spec(rec.name, path.name, sha), path, archive_dir=folder)
        rttm = folder / f"{rec.name}.rttm"
        rttm.write_text(segments_to_rttm(segments.read_text(encoding="utf-8"), rec.name))
        out.append((rec.name, wav, rttm))
    return out
