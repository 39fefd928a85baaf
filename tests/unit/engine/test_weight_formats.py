"""Choosing the weight format: auto picks per device, impossible settings fail loudly."""

import pytest
import torch

from app.config import load_config
from app.engine.weight_formats import QuantizationError, resolve_mode
from app.errors import ConfigError


def test_auto_uses_fp16_weights_on_cpu_float32_only():
    assert resolve_mode("auto", "cpu", torch.float32) == "fp16-weights"
    assert resolve_mode("auto", "cpu", torch.bfloat16) == "none"
    assert resolve_mode("auto", "cuda", torch.bfloat16) == "none"
    assert resolve_mode("none", "cpu", torch.float32) == "none"


def test_an_explicit_mode_the_device_cannot_run_is_an_error():
    with pytest.raises(QuantizationError, match="CPU only"):
        resolve_mode("fp16-weights", "cuda", torch.bfloat16)


def test_unknown_mode_names_the_variable():
    with pytest.raises(ConfigError, match="LLMJOBS_QUANTIZATION"):
        load_config({"LLMJOBS_QUANTIZATION": "int3"})


def test_a_quantized_checkpoint_loads_as_it_is_and_refuses_another_mode():
    assert resolve_mode("auto", "cuda", torch.bfloat16, "gptq") == "checkpoint:gptq"
    assert resolve_mode("none", "cpu", torch.float32, "awq") == "checkpoint:awq"
    with pytest.raises(QuantizationError, match="already quantized"):
        resolve_mode("4bit", "cuda", torch.bfloat16, "gptq")


def test_bitsandbytes_modes_pass_through():
    assert resolve_mode("4bit", "cpu", torch.float32) == "4bit"
    assert resolve_mode("8bit", "cuda", torch.bfloat16) == "8bit"


def test_int8_dynamic_is_cpu_only_and_never_automatic():
    assert resolve_mode("int8-dynamic", "cpu", torch.float32) == "int8-dynamic"
    with pytest.raises(QuantizationError, match="CPU only"):
        resolve_mode("int8-dynamic", "cuda", torch.bfloat16)
    assert load_config({"LLMJOBS_QUANTIZATION": "int8-dynamic"}).model.quantization == "int8-dynamic"
