"""TensorFlow Lite models rebuilt as ONNX graphs in memory, so onnxruntime runs them.

Used for the face mesh and blendshape models inside MediaPipe's ``face_landmarker.task`` and
for the legacy palm detector and hand landmark model of the ``mediapipe`` wheel: the flatbuffer
is read with the ``tflite`` package (TFLite's schema as Python; no TensorFlow), each operator
becomes the ONNX node(s) that compute the same thing, and float16 weights are widened
to float32. Tensors keep TFLite's NHWC layout; convolutions and pooling, which ONNX defines on
NCHW, are wrapped in transposes that onnxruntime's optimiser folds away.

Only the operators those models use are covered; any other raises :class:`ModelError`
naming it. Outputs match TFLite's own interpreter to float rounding (see the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vigcv.errors import ModelError

# TFLite tensor types (schema TensorType) that appear in weights and shapes.
_DTYPES: dict[int, Any] = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64}
_SAME, _ACTIVATIONS, _RELU6 = 0, {0: None, 1: "Relu"}, 3
_TO_NCHW, _TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


class _Builder:
    """Collects ONNX nodes and initialisers while the operators are read in order."""

    def __init__(self, model: Any, subgraph: Any) -> None:
        self.model, self.g = model, subgraph
        self.nodes: list[Any] = []
        self.inits: dict[str, np.ndarray] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.current_out = -1  # index of the tensor the operator being built writes
        self._n = 0
        for i in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(i)
            data = model.Buffers(tensor.Buffer()).DataAsNumpy()
            if isinstance(data, np.ndarray) and data.size:
                shape = tensor.ShapeAsNumpy().tolist() if tensor.ShapeLength() else []
                kind = _DTYPES.get(tensor.Type())
                if kind is None:
                    raise ModelError(f"TFLite tensor type {tensor.Type()} is not supported")
                self.consts[i] = np.frombuffer(data.tobytes(), dtype=kind).reshape(shape)

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.g.Tensors(index).ShapeAsNumpy().tolist()]

    def tmp(self) -> str:
        self._n += 1
        return f"_x{self._n}"

    def value(self, index: int) -> np.ndarray:
        """A constant tensor, float16 widened to float32."""
        v = self.consts[index]
        return v.astype(np.float32) if v.dtype == np.float16 else v

    def name(self, index: int) -> str:
        """The ONNX name of a tensor (constants become initialisers when first used)."""
        key = f"t{index}"
        if index in self.consts and key not in self.inits:
            self.inits[key] = self.value(index)
        return key

    def const(self, key: str, value: np.ndarray) -> str:
        self.inits[key] = np.ascontiguousarray(value)
        return key

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        out = output or self.tmp()
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def activate(self, x: str, code: int, output: str) -> None:
        """TFLite's fused activation (none, ReLU or ReLU6) into ``output``."""
        if code == _RELU6:
            low = self.const("_relu6.min", np.array(0.0, np.float32))
            high = self.const("_relu6.max", np.array(6.0, np.float32))
            self.node("Clip", [x, low, high], output)
            return
        if code not in _ACTIVATIONS:
            raise ModelError(f"TFLite fused activation {code} is not supported")
        self.node(_ACTIVATIONS[code] or "Identity", [x], output)


def _options(op: Any, cls: Any) -> Any:
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _conv(b: _Builder, op: Any, ins: list[int], out: str, depthwise: bool) -> None:
    import tflite

    opts = _options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
    w = b.value(ins[1])
    # TFLite: conv OHWI, depthwise 1HW(C*M); ONNX: OIHW, depthwise (C*M)1HW with C groups.
    weights = w.transpose(3, 0, 1, 2) if depthwise else w.transpose(0, 3, 1, 2)
    group = b.shape(ins[0])[-1] if depthwise else 1
    args = [b.node("Transpose", [b.name(ins[0])], perm=_TO_NCHW), b.const(f"{out}.w", weights)]
    if len(ins) > 2 and ins[2] >= 0:
        args.append(b.const(f"{out}.b", b.value(ins[2])))
    y = b.node(
        "Conv",
        args,
        kernel_shape=list(weights.shape[2:]),
        strides=[opts.StrideH(), opts.StrideW()],
        dilations=[opts.DilationHFactor(), opts.DilationWFactor()],
        group=int(group),
        auto_pad="SAME_UPPER" if opts.Padding() == _SAME else "VALID",
    )
    z = b.tmp()
    b.activate(y, opts.FusedActivationFunction(), z)
    b.node("Transpose", [z], out, perm=_TO_NHWC)


def _max_pool(b: _Builder, op: Any, ins: list[int], out: str) -> None:
    import tflite

    opts = _options(op, tflite.Pool2DOptions)
    x = b.node("Transpose", [b.name(ins[0])], perm=_TO_NCHW)
    y = b.node(
        "MaxPool",
        [x],
        kernel_shape=[opts.FilterHeight(), opts.FilterWidth()],
        strides=[opts.StrideH(), opts.StrideW()],
        auto_pad="SAME_UPPER" if opts.Padding() == _SAME else "VALID",
    )
    z = b.tmp()
    b.activate(y, opts.FusedActivationFunction(), z)
    b.node("Transpose", [z], out, perm=_TO_NHWC)


def _arithmetic(b: _Builder, op: Any, ins: list[int], out: str, kind: str) -> None:
    import tflite

    cls = {
        "ADD": tflite.AddOptions,
        "SUB": tflite.SubOptions,
        "MUL": tflite.MulOptions,
        "DIV": tflite.DivOptions,
    }[kind]
    opts = _options(op, cls)
    y = b.node(kind.capitalize(), [b.name(ins[0]), b.name(ins[1])])
    b.activate(y, opts.FusedActivationFunction() if opts is not None else 0, out)


def _reduce(b: _Builder, op: Any, ins: list[int], out: str, kind: str) -> None:
    import tflite

    keep = int(_options(op, tflite.ReducerOptions).KeepDims())
    axes = b.consts[ins[1]].astype(np.int64).reshape(-1)
    if kind == "MEAN":  # opset 17: ReduceMean's axes are an attribute, ReduceSum's an input
        b.node("ReduceMean", [b.name(ins[0])], out, axes=axes.tolist(), keepdims=keep)
    else:
        b.node("ReduceSum", [b.name(ins[0]), b.const(f"{out}.axes", axes)], out, keepdims=keep)


def _fully_connected(b: _Builder, op: Any, ins: list[int], out: str) -> None:
    import tflite

    opts = _options(op, tflite.FullyConnectedOptions)
    args = [b.name(ins[0]), b.const(f"{out}.w", b.value(ins[1]))]  # weights (out, in)
    if len(ins) > 2 and ins[2] >= 0:
        args.append(b.const(f"{out}.b", b.value(ins[2])))
    y = b.node("Gemm", args, transB=1)
    b.activate(y, opts.FusedActivationFunction() if opts is not None else 0, out)


def _strided_slice(b: _Builder, op: Any, ins: list[int], out: str) -> None:
    import tflite

    opts = _options(op, tflite.StridedSliceOptions)
    if opts.EllipsisMask() or opts.NewAxisMask():
        raise ModelError("TFLite STRIDED_SLICE with ellipsis or new-axis masks is not supported")
    begin, end, step = (b.consts[i].astype(np.int64).copy() for i in ins[1:4])
    shape = b.shape(ins[0])
    shrink = []
    for d in range(len(begin)):
        if opts.BeginMask() >> d & 1:
            begin[d] = 0
        if opts.EndMask() >> d & 1:
            end[d] = shape[d]
        if opts.ShrinkAxisMask() >> d & 1:
            end[d], step[d] = begin[d] + 1, 1
            shrink.append(d)
    args = [b.name(ins[0])] + [
        b.const(f"{out}.{k}", v)
        for k, v in zip(
            ("begin", "end", "axes", "step"),
            (begin, end, np.arange(len(begin), dtype=np.int64), step),
            strict=True,
        )
    ]
    if shrink:
        y = b.node("Slice", args)
        b.node("Squeeze", [y, b.const(f"{out}.squeeze", np.array(shrink, np.int64))], out)
    else:
        b.node("Slice", args, out)


def _concatenation(b: _Builder, op: Any, ins: list[int], out: str) -> None:
    import tflite

    opts = _options(op, tflite.ConcatenationOptions)
    y = b.node("Concat", [b.name(i) for i in ins], axis=opts.Axis())
    b.activate(y, opts.FusedActivationFunction(), out)


def _resize_bilinear(b: _Builder, op: Any, ins: list[int], out: str) -> None:
    import tflite

    opts = _options(op, tflite.ResizeBilinearOptions)
    align, half = (opts.AlignCorners(), opts.HalfPixelCenters()) if opts else (False, False)
    mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
    n, _, _, c = b.shape(ins[0])
    h, w = (int(v) for v in b.consts[ins[1]])
    x = b.node("Transpose", [b.name(ins[0])], perm=_TO_NCHW)
    sizes = b.const(f"{out}.sizes", np.array([n, c, h, w], np.int64))
    y = b.node("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode=mode)
    b.node("Transpose", [y], out, perm=_TO_NHWC)


def _simple(kind: str) -> Callable[[_Builder, Any, list[int], str], None]:
    def build(b: _Builder, op: Any, ins: list[int], out: str) -> None:
        x = b.name(ins[0])
        if kind == "PRELU":
            # relu(x) + alpha * (x - relu(x)): the same numbers as PRelu, but onnxruntime keeps
            # these ops in its blocked (NCHWc) layout, where PRelu makes it convert the tensor
            # out and back around every one (the face mesh runs in 10.5 ms instead of 16).
            r = b.node("Relu", [x])
            b.node("Add", [r, b.node("Mul", [b.node("Sub", [x, r]), b.name(ins[1])])], out)
        elif kind == "LOGISTIC":
            b.node("Sigmoid", [x], out)
        elif kind == "NEG":
            b.node("Neg", [x], out)
        elif kind == "SQRT":
            b.node("Sqrt", [x], out)
        elif kind == "RSQRT":
            b.node("Reciprocal", [b.node("Sqrt", [x])], out)
        elif kind == "SQUARED_DIFFERENCE":
            d = b.node("Sub", [x, b.name(ins[1])])
            b.node("Mul", [d, d], out)
        elif kind == "TRANSPOSE":
            b.node("Transpose", [x], out, perm=b.consts[ins[1]].astype(int).tolist())
        elif kind == "RESHAPE":
            shape = np.array(b.shape(b.current_out), np.int64)
            b.node("Reshape", [x, b.const(f"{out}.shape", shape)], out)
        elif kind == "PAD":
            pads = b.consts[ins[1]].astype(np.int64)  # (rank, 2): before, after
            flat = np.concatenate([pads[:, 0], pads[:, 1]])
            b.node("Pad", [x, b.const(f"{out}.pads", flat)], out, mode="constant")

    return build


_BUILDERS: dict[str, Callable[[_Builder, Any, list[int], str], None]] = {
    "CONV_2D": lambda b, op, ins, out: _conv(b, op, ins, out, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda b, op, ins, out: _conv(b, op, ins, out, depthwise=True),
    "MAX_POOL_2D": _max_pool,
    "ADD": lambda b, op, ins, out: _arithmetic(b, op, ins, out, "ADD"),
    "SUB": lambda b, op, ins, out: _arithmetic(b, op, ins, out, "SUB"),
    "MUL": lambda b, op, ins, out: _arithmetic(b, op, ins, out, "MUL"),
    "DIV": lambda b, op, ins, out: _arithmetic(b, op, ins, out, "DIV"),
    "MEAN": lambda b, op, ins, out: _reduce(b, op, ins, out, "MEAN"),
    "SUM": lambda b, op, ins, out: _reduce(b, op, ins, out, "SUM"),
    "STRIDED_SLICE": _strided_slice,
    "CONCATENATION": _concatenation,
    "RESIZE_BILINEAR": _resize_bilinear,
    "FULLY_CONNECTED": _fully_connected,
    **{
        k: _simple(k)
        for k in (
            "PRELU",
            "LOGISTIC",
            "NEG",
            "SQRT",
            "RSQRT",
            "SQUARED_DIFFERENCE",
            "TRANSPOSE",
            "RESHAPE",
            "PAD",
        )
    },
}


def tflite_to_onnx(data: bytes, *, name: str = "tflite") -> Any:
    """An ONNX model (opset 17) computing the same as a TFLite flatbuffer's first subgraph.

    Inputs and outputs keep their TFLite shapes (NHWC) and are named ``t<tensor index>``, in the
    order TFLite lists them.
    """
    import tflite
    from onnx import TensorProto, helper, numpy_helper

    from vigcv.models import onnx_model

    if data[4:8] != b"TFL3":  # the flatbuffer's file identifier
        raise ModelError(f"{name}: not a TFLite model (no TFL3 identifier)")
    model = tflite.Model.GetRootAsModel(data, 0)
    g = model.Subgraphs(0)
    if g is None:
        raise ModelError(f"{name}: not a TFLite model (no subgraph)")
    ops = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    b = _Builder(model, g)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = ops.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        out_index = op.Outputs(0)
        if kind == "DEQUANTIZE" and ins[0] in b.consts:  # float16 weights: widen once
            b.consts[out_index] = b.value(ins[0]).astype(np.float32)
            continue
        build = _BUILDERS.get(kind)
        if build is None:
            raise ModelError(f"{name}: TFLite operator {kind} is not supported")
        b.current_out = out_index
        build(b, op, ins, f"t{out_index}")

    def info(index: int) -> Any:
        return helper.make_tensor_value_info(f"t{index}", TensorProto.FLOAT, b.shape(index))

    graph = helper.make_graph(
        b.nodes,
        name,
        [info(g.Inputs(j)) for j in range(g.InputsLength())],
        [info(g.Outputs(j)) for j in range(g.OutputsLength())],
        [numpy_helper.from_array(v, k) for k, v in b.inits.items()],
    )
    return onnx_model(graph, opset=17)
