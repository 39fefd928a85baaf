"""Choosing the weight format: auto picks per device, impossible settings fail loudly."""

import pytest
import torch

from app.config import load_config
from app.errors import ConfigError
from app.quantization import QuantizationError, resolve_mode


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
