"""The mixed-batch LoRA delta against the per-token formula PEFT applies (pure tensor logic, random adapters)."""

import pytest
import torch

from app.engine.lora_stack import LoraStack
from app.engine.lora_weights import AdapterWeights, LoraModule
from app.engine.types import LoraRef

SHAPES = {"q_proj": (8, 6), "k_proj": (4, 6), "v_proj": (4, 6), "o_proj": (6, 8), "gate_proj": (10, 6), "up_proj": (10, 6),
          "down_proj": (6, 10)}  # fmt: skip
QKV = ("q_proj", "k_proj", "v_proj")


def adapter(seed: int, rank: int, names: tuple[str, ...], scale: float) -> AdapterWeights:
    generator = torch.Generator().manual_seed(seed)
    modules = {(layer, name): LoraModule(torch.randn(rank, SHAPES[name][1], generator=generator),
                                         torch.randn(SHAPES[name][0], rank, generator=generator), scale)
               for layer in range(2) for name in names}  # fmt: skip
    return AdapterWeights(LoraRef(f"a{seed}", "/a", str(seed)), modules)


def expected_qkv(adapters: list[AdapterWeights], owners: list[int], x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(len(owners), 16)
    for token, owner in enumerate(owners):
        start = 0
        for name in QKV:
            module = adapters[owner].modules.get((1, name)) if owner >= 0 else None
            if module is not None:
                out[token, start : start + SHAPES[name][0]] = (x[token] @ module.a.T) @ module.b.T * module.scale
            start += SHAPES[name][0]
    return out


@pytest.mark.parametrize("owners", [[0, 1, -1, 2, 0, 0, 1, -1], [2, 2, -1], [1]])
def test_each_token_gets_its_own_adapters_delta_and_rows_without_one_get_nothing(owners):
    adapters = [adapter(0, 4, QKV, 2.0), adapter(1, 2, ("q_proj", "v_proj"), 0.5), adapter(2, 3, ("k_proj",), 1.0)]
    stack = LoraStack.of(adapters, SHAPES, num_layers=2)
    x = torch.randn(len(owners), 6)
    out = torch.zeros(len(owners), 16)
    stack.step(owners).add(1, "qkv", x, out)
    torch.testing.assert_close(out, expected_qkv(adapters, owners, x))
    assert out[[i for i, owner in enumerate(owners) if owner < 0]].abs().sum() == 0


def test_a_step_without_adapters_does_nothing():
    stack = LoraStack.of([adapter(0, 4, QKV, 2.0)], SHAPES, num_layers=2)
    assert stack.step([-1, -1]) is None and LoraStack().step([0]) is None
