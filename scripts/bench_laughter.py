"""Does a laughter detector earn its place? The candidate model, measured on the real clips.

The candidate (``../shared/models/laughter-detection``, MIT; Gillick et al., "Robust Laughter
Detection in Noisy Environments", Interspeech 2021) is a ResNet over 44 frames (about 1 s) of
log-mel spectrogram at 8 kHz, as PyTorch checkpoints. Here the checkpoint is read without torch
(:func:`vigcv.audio.voice_encoder.read_legacy_checkpoint`) and rebuilt as an ONNX graph
(:func:`build_onnx`); the graph reproduces torch 2.13's output to within 1.1e-7 (checked once on
random input, outside this project: torch is not a dependency). Features are the repository's own
(``featurize_melspec``: 128-band mel power at hop 186, ``amplitude_to_db`` relative to the
recording's loudest frame); a window starts every 4 frames (93 ms) and its probability is placed at
its centre.

Measured against what the development data codes (nothing is tuned, so there is no held-out
split; every figure is threshold-free or at the repository's own 0.5):

- per clip, the parent's report "the child laughed" (22 yes, 6 no): AUC of the clip's highest
  and mean probability;
- per 0.5 s labelled frame, the coders' child smile, parent smile and shared smile (both): AUC;
- per frame of the two whole sessions, inside a coded attuned moment (any, and strength >= 2): AUC;
- the share of frames above 0.5, and CPU time as a multiple of the audio's duration.

Measured (2026-12, this script, 2-core AVX2 machine):

| figure | AudioSet | Switchboard |
| --- | --- | --- |
| clip AUC, highest / mean probability | 0.667 / 0.667 | 0.500 / 0.614 |
| frame AUC, child / parent / shared smile | 0.505 / 0.481 / 0.474 | 0.493 / 0.494 / 0.487 |
| moment AUC, session 3dC3SQ / 6c6MZQ | 0.508 / 0.575 | 0.545 / 0.601 |
| frames above 0.5 | 64% | 22% |
| CPU, x real time | 0.24 | 0.22 |

Neither earns its place: where the coders see the child or both smiling, the probability is no
higher than elsewhere (AUC 0.47-0.51, chance 0.5), it barely ranks the attuned moments, and it
costs 0.22-0.24x real time in CPU against the whole audio stage's budget of 0.03x. The parents here
laugh, squeal and sing along most of the time, which the AudioSet model takes for laughter in
64% of frames. vigcv does not ship it; shared affect stays on smiles (and on a ``laughter``
column of the speech segments, which the scoring reads when a future model fills it).

Usage: ``nice -n 10 .venv/bin/python scripts/bench_laughter.py [--eval DIR] [--models DIR]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from sklearn.metrics import roc_auc_score

from vigcv.audio.librosa_env import import_librosa
from vigcv.audio.voice_encoder import read_legacy_checkpoint
from vigcv.io import iter_audio
from vigcv.models import onnx_model, onnx_session

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = {
    "AudioSet": "checkpoints/resnet_without_augmentation_trained_on_audioset/best.pth.tar",
    "Switchboard": "checkpoints/resnet_without_augmentation/best.pth.tar",
}
RATE, HOP, FRAMES, STRIDE = 8000, 186, 44, 4


def build_onnx(state: dict[str, np.ndarray]) -> onnx.ModelProto:
    """``models.ResNetBigger`` (filters 64-32-16-16, linear 64) in eval mode: input ``mels``
    (N, 1, 44, 128) -> ``laughter`` (N, 1), a probability."""
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    count = [0]

    def const(name: str) -> str:
        inits.append(numpy_helper.from_array(np.asarray(state[name], np.float32), name))
        return name

    def node(op: str, inputs: list[str], **attrs: object) -> str:
        count[0] += 1
        out = f"{op.lower()}{count[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(x: str, name: str, stride: int, pad: int, bias: bool) -> str:
        k = list(state[f"{name}.weight"].shape[2:])
        ins = [x, const(f"{name}.weight")] + ([const(f"{name}.bias")] if bias else [])
        return node("Conv", ins, kernel_shape=k, strides=[stride, stride], pads=[pad] * 4)

    def bn(x: str, name: str) -> str:
        parts = ("weight", "bias", "running_mean", "running_var")
        return node("BatchNormalization", [x, *(const(f"{name}.{p}") for p in parts)])

    def block(x: str, name: str, stride: int) -> str:
        out = node("Relu", [bn(conv(x, f"{name}.conv1", stride, 1, True), f"{name}.bn1")])
        out = bn(conv(out, f"{name}.conv2", 1, 1, True), f"{name}.bn2")
        short = x
        if f"{name}.shortcut.0.weight" in state:
            short = bn(conv(x, f"{name}.shortcut.0", stride, 0, False), f"{name}.shortcut.1")
        return node("Relu", [node("Add", [out, short])])

    def linear(x: str, name: str) -> str:
        weight = f"{name}.weight_t"
        inits.append(numpy_helper.from_array(state[f"{name}.weight"].T.astype(np.float32), weight))
        return node("Add", [node("MatMul", [x, weight]), const(f"{name}.bias")])

    x = node("Relu", [bn(conv("mels", "conv1", 1, 1, False), "bn1")])
    for name, stride in (("block1", 1), ("block2", 2), ("block3", 2), ("block4", 2)):
        x = block(block(x, f"{name}.0", stride), f"{name}.1", 1)
    x = node("Flatten", [node("AveragePool", [x], kernel_shape=[4, 4], strides=[4, 4])], axis=1)
    x = node("Relu", [bn(linear(bn(x, "bn2"), "linear1"), "bn3")])
    nodes.append(helper.make_node("Sigmoid", [linear(x, "linear2")], ["laughter"]))
    graph = helper.make_graph(
        nodes,
        "laughter_resnet",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["N", 1, FRAMES, 128])],
        [helper.make_tensor_value_info("laughter", TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    return onnx_model(graph, opset=17)


def laughter(session: object, path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Window centre times, laughter probabilities and the audio's duration (s)."""
    librosa = import_librosa()
    y = np.concatenate([b.samples for b in iter_audio(path, rate=RATE, block_s=60.0)])
    mel = librosa.feature.melspectrogram(y=y, sr=RATE, hop_length=HOP).T
    db = librosa.amplitude_to_db(mel, ref=np.max).astype(np.float32)
    starts = np.arange(0, max(1, len(db) - FRAMES), STRIDE)
    x = np.stack([db[i : i + FRAMES] for i in starts])[:, None]
    run = session.run  # type: ignore[attr-defined]
    p = np.concatenate([run(None, {"mels": x[j : j + 64]})[0][:, 0] for j in range(0, len(x), 64)])
    return (starts + FRAMES / 2 - 0.5) * HOP / RATE, p, y.size / RATE


def auc(truth: pd.Series, score: pd.Series) -> float:
    known = truth.notna()
    t = truth[known].astype(int)
    return float(roc_auc_score(t, score[known])) if t.nunique() == 2 else float("nan")


def evaluate(session: object, data: Path) -> dict[str, float]:
    clips = pd.read_csv(data / "clips.csv")
    rows, frames, cpu, seconds = [], [], 0.0, 0.0
    for clip in clips.itertuples(index=False):
        started = time.process_time()
        t, p, duration = laughter(session, data / clip.file)
        cpu, seconds = cpu + time.process_time() - started, seconds + duration
        labels = json.loads((data / "labels" / f"{Path(clip.file).stem}.json").read_text())
        f = pd.DataFrame(labels["frames"])
        f["laugh"] = np.interp(f["t"], t, p)
        frames.append(f)
        rows.append(
            {"laughed": clip.laughed_parent_report == "Yes", "max": p.max(), "mean": p.mean()}
        )
    per_clip, f = pd.DataFrame(rows), pd.concat(frames, ignore_index=True)
    both = f["child_smile"].notna() & f["parent_smile"].notna()
    shared = ((f["child_smile"] == 1) & (f["parent_smile"] == 1)).astype(float).where(both)
    out = {
        "clip AUC max": auc(per_clip["laughed"], per_clip["max"]),
        "clip AUC mean": auc(per_clip["laughed"], per_clip["mean"]),
        "frame AUC child smile": auc(f["child_smile"], f["laugh"]),
        "frame AUC parent smile": auc(f["parent_smile"], f["laugh"]),
        "frame AUC shared smile": auc(shared, f["laugh"]),
        "frames > 0.5": float((f["laugh"] > 0.5).mean()),
    }
    for js in sorted((data / "sessions").glob("*.session.json")):
        moments = json.loads(js.read_text())["attuned_moments"]
        t, p, _ = laughter(session, js.with_name(js.name.replace(".json", ".mp4")))
        inside = np.zeros(t.size)
        for m in moments:
            inside[(t >= m["start"]) & (t <= m["end"])] = 1.0
        out[f"moment AUC {js.name.split('.')[0]}"] = auc(pd.Series(inside), pd.Series(p))
    out["CPU x real time"] = cpu / seconds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval" / "parent-child")
    ap.add_argument(
        "--models", type=Path, default=REPO.parent / "shared" / "models" / "laughter-detection"
    )
    args = ap.parse_args()
    table = {}
    for name, rel in CHECKPOINTS.items():
        state = read_legacy_checkpoint(args.models / rel)["state_dict"]
        session = onnx_session(build_onnx(state).SerializeToString())
        table[name] = evaluate(session, args.eval)
        print(name, {k: round(v, 3) for k, v in table[name].items()}, flush=True)
    print(pd.DataFrame(table).round(3).to_markdown())


if __name__ == "__main__":
    main()
