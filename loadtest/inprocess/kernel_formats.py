"""The CPU weight formats the kernel survey times: each one a ``y = x @ W.T`` built from the same weight.

Every builder returns a callable taking and returning a float32 ``torch.Tensor`` (batch, in) ->
(batch, out), or raises :class:`Unavailable` saying why it cannot run here (a package missing or
refusing this PyTorch); the survey records the reason instead of the figure. The libraries do the
quantizing and packing themselves (torchao's ``quantize_``, onnxruntime's ``MatMulNBitsQuantizer``,
OpenVINO's ONNX front end reading that model's ``MatMulNBits``): only the calls are written here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable

import torch
import torch.nn.functional as F

Kernel = Callable[[torch.Tensor], torch.Tensor]
THREADS = 2  # the survey compares kernels on the cores the engine gets


class Unavailable(Exception):
    pass


def _needs(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise Unavailable(f"{package} is not installed")


def torch_float32(weight: torch.Tensor) -> Kernel:
    return lambda x: F.linear(x, weight)


def torch_fp16_weights(weight: torch.Tensor) -> Kernel:  # fbgemm's float16-weight kernel: the CPU default
    packed = torch.ops.quantized.linear_prepack_fp16(weight, None)
    return lambda x: torch.ops.quantized.linear_dynamic_fp16(x, packed)


def torch_bfloat16(weight: torch.Tensor) -> Kernel:  # oneDNN; AMX tiles where the CPU has them
    bf16 = weight.bfloat16()
    return lambda x: F.linear(x.bfloat16(), bf16).float()


def torch_int8_weight_only(weight: torch.Tensor) -> Kernel:
    scales = weight.abs().amax(dim=1) / 127
    int8 = (weight / scales[:, None]).round().to(torch.int8)
    return lambda x: torch._weight_int8pack_mm(x, int8, scales)


def torch_int4_weight_only(weight: torch.Tensor) -> Kernel:
    """``_weight_int4pack_mm_for_cpu``, group 32: the kernel torchao's int4 CPU layout called (and the
    one that reproduces the default model's Q4_1 exactly, ENVIRONMENT.md)."""
    out_features, in_features = weight.shape
    groups = weight.reshape(out_features, in_features // 32, 32)
    low, high = groups.amin(dim=2), groups.amax(dim=2)
    scale = ((high - low) / 15).clamp(min=1e-8)
    q = ((groups - low[..., None]) / scale[..., None]).round().clamp(0, 15).to(torch.int32).reshape(out_features, in_features)
    packed = torch._convert_weight_to_int4pack_for_cpu(q, 1)
    zero = low + 8 * scale  # the kernel computes (q - 8) * scale + zero
    scales_and_zeros = torch.stack([scale.t(), zero.t()], dim=2).contiguous()
    return lambda x: torch._weight_int4pack_mm_for_cpu(x, packed, 32, scales_and_zeros)


def _torchao(weight: torch.Tensor, config_name: str, **kwargs) -> Kernel:
    _needs("torchao")
    import torchao.quantization as quant

    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    layer.weight.data.copy_(weight)
    try:
        quant.quantize_(layer, getattr(quant, config_name)(**kwargs))
        layer(torch.zeros(1, weight.shape[1]))
    except Exception as error:  # the library refuses the config on this device: record why
        raise Unavailable(f"torchao {config_name}: {type(error).__name__}: {str(error)[:160]}") from error
    return lambda x: layer(x)


def torchao_int8_weight_only(weight: torch.Tensor) -> Kernel:
    return _torchao(weight, "Int8WeightOnlyConfig")


def torchao_int8_dynamic(weight: torch.Tensor) -> Kernel:
    return _torchao(weight, "Int8DynamicActivationInt8WeightConfig")


def torchao_int4_weight_only(weight: torch.Tensor) -> Kernel:
    return _torchao(weight, "Int4WeightOnlyConfig", group_size=32)


def torchao_int4_intx(weight: torch.Tensor) -> Kernel:
    from torchao.quantization.granularity import PerGroup

    return _torchao(weight, "IntxWeightOnlyConfig", weight_dtype=torch.int4, granularity=PerGroup(32))


def _matmul_nbits_model(weight: torch.Tensor, bits: int):
    """An ONNX graph ``y = x @ W.T`` whose MatMul onnxruntime's own quantizer turned into MatMulNBits."""
    _needs("onnxruntime")
    _needs("onnx_ir")
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    out_features, in_features = weight.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", in_features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", out_features])],
        [numpy_helper.from_array(weight.t().contiguous().numpy(), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=32, is_symmetric=False, accuracy_level=4)
    quantizer.process()
    return onnx.shape_inference.infer_shapes(quantizer.model.model)


def _onnxruntime(weight: torch.Tensor, bits: int) -> Kernel:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        _matmul_nbits_model(weight, bits).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return lambda x: torch.from_numpy(session.run(None, {"x": x.numpy()})[0])


def onnxruntime_int4(weight: torch.Tensor) -> Kernel:  # MatMulNBits, 4 bits, block 32, int8 compute
    return _onnxruntime(weight, 4)


def onnxruntime_int8(weight: torch.Tensor) -> Kernel:
    return _onnxruntime(weight, 8)


def _openvino(weight: torch.Tensor, bits: int) -> Kernel:
    _needs("openvino")
    import openvino

    core = openvino.Core()
    try:  # the ONNX front end turns MatMulNBits into compressed weights the CPU plugin decompresses in its kernels
        model = core.read_model(_matmul_nbits_model(weight, bits).SerializeToString(), b"")
        compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": THREADS, "PERFORMANCE_HINT": "LATENCY"})
    except Exception as error:
        raise Unavailable(f"openvino: {type(error).__name__}: {str(error)[:160]}") from error
    request = compiled.create_infer_request()
    return lambda x: torch.from_numpy(request.infer({0: x.numpy()})[0].copy())


def openvino_int4(weight: torch.Tensor) -> Kernel:
    return _openvino(weight, 4)


def openvino_int8(weight: torch.Tensor) -> Kernel:
    return _openvino(weight, 8)


def ipex_weight_only(weight: torch.Tensor) -> Kernel:
    _needs("intel_extension_for_pytorch")
    version = importlib.metadata.version("intel_extension_for_pytorch")
    if version.rsplit(".", 1)[0] != torch.__version__.rsplit(".", 1)[0]:  # it exits the process on import otherwise
        raise Unavailable(f"intel-extension-for-pytorch {version} needs PyTorch {version.rsplit('.', 1)[0]}.*, not {torch.__version__}")
    raise Unavailable("intel-extension-for-pytorch matches this PyTorch; its weight-only path is not wired in this survey")


FORMATS: dict[str, Callable[[torch.Tensor], Kernel]] = {
    "float32": torch_float32,
    "fp16-weights": torch_fp16_weights,
    "bfloat16": torch_bfloat16,
    "torch-int8-wo": torch_int8_weight_only,
    "torch-int4-wo": torch_int4_weight_only,
    "torchao-int8-wo": torchao_int8_weight_only,
    "torchao-int8-dyn": torchao_int8_dynamic,
    "torchao-int4-wo": torchao_int4_weight_only,
    "torchao-intx4-wo": torchao_int4_intx,
    "ort-int4": onnxruntime_int4,
    "ort-int8": onnxruntime_int8,
    "openvino-int4": openvino_int4,
    "openvino-int8": openvino_int8,
    "ipex-wo": ipex_weight_only,
}
