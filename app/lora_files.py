"""What a LoRA adapter folder must hold, read without torch: the API checks it when an adapter is
declared or loaded, and the worker checks the same before its weights go in (app/engine/lora_bank.py).

An adapter is PEFT's format: ``adapter_config.json`` (a ``LoraConfig``) beside
``adapter_model.safetensors``. Only what the batched LoRA step applies is accepted: plain LoRA
(no DoRA, no LoRA biases, no ``modules_to_save``, no embedding or LM-head targets) on the decoder's
linear projections, ranks up to :data:`MAX_RANK`. Anything else is refused by name, never half applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidRequestError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
MAX_RANK = 64
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_<A|B>.weight, as PEFT saves them
KEY = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


@dataclass(frozen=True)
class AdapterInfo:
    path: str  # the folder, absolute
    digest: str  # sha256 of both files' bytes: an adapter's identity (cache keys, a changed file)
    rank: int  # the largest rank of its modules
    targets: tuple[str, ...]
    base_model: str  # base_model_name_or_path, as the adapter says (informative)


def _refuse(message: str) -> InvalidRequestError:
    return InvalidRequestError("lora_path", message)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidRequestError("lora_name", "lora_name: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise _refuse(f"No adapter found at {folder}: it has no {CONFIG_FILE}") from None
    except (OSError, ValueError) as exc:
        raise _refuse(f"{folder / CONFIG_FILE} cannot be read as JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        raise _refuse(f"{folder / CONFIG_FILE} is not a LoRA adapter (peft_type {config.get('peft_type')!r})")
    return config


def _check_config(config: dict) -> None:
    unsupported = {
        "use_dora": "DoRA",
        "lora_bias": "LoRA biases",
        "modules_to_save": "modules_to_save",
        "layer_replication": "layer replication",
        "trainable_token_indices": "trainable tokens",
    }
    for field, what in unsupported.items():
        if config.get(field):
            raise _refuse(f"the adapter uses {what} ({field}); only plain LoRA on linear projections is served")
    if config.get("bias", "none") != "none":
        raise _refuse(f"the adapter trains biases (bias={config['bias']!r}); only bias='none' is served")
    if config.get("fan_in_fan_out"):
        raise _refuse("fan_in_fan_out adapters (GPT-2's Conv1D) are not served: the base models here use nn.Linear")


def check_adapter(path: str) -> AdapterInfo:
    """The adapter at ``path`` if it can be served, else an :class:`InvalidRequestError` saying why (400)."""
    from safetensors import safe_open  # its own reader: the header only, no tensor is read here

    folder = Path(path).expanduser()
    if not folder.is_absolute():
        raise _refuse(f"lora_path must be an absolute path on the workers' filesystem, got {path!r}")
    config = read_config(folder)
    _check_config(config)
    try:
        with safe_open(str(folder / WEIGHTS_FILE), framework="numpy") as weights:
            shapes = {key: weights.get_slice(key).get_shape() for key in weights.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except FileNotFoundError:
        raise _refuse(f"No adapter found at {folder}: it has no {WEIGHTS_FILE}") from None
    except Exception as exc:  # safetensors raises its own SafetensorError for a damaged header
        raise _refuse(f"{folder / WEIGHTS_FILE} is not a readable safetensors file: {exc}") from None
    ranks, targets = {}, set()
    for key, shape in shapes.items():
        match = KEY.match(key)
        if match is None or match.group(2) not in TARGETS:
            raise _refuse(f"the adapter holds {key!r}: only {', '.join(TARGETS)} of the decoder layers can take LoRA here")
        layer, module, which = match.groups()
        rank = shape[0] if which == "A" else shape[1]
        if ranks.setdefault((layer, module), rank) != rank:
            raise _refuse(f"layer {layer} {module}: lora_A and lora_B disagree on the rank")
        targets.add(module)
    if not ranks:
        raise _refuse(f"{folder / WEIGHTS_FILE} holds no LoRA weights")
    if (rank := max(ranks.values())) > MAX_RANK:
        raise _refuse(f"the adapter's rank is {rank}; at most {MAX_RANK} is served")
    return AdapterInfo(
        path=str(folder.resolve()),
        digest=adapter_digest(folder),
        rank=rank,
        targets=tuple(t for t in TARGETS if t in targets),
        base_model=str(config.get("base_model_name_or_path") or ""),
    )


def adapter_digest(folder: Path) -> str:
    """sha256 over both files: two adapters with the same name but other weights never share an answer."""
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        digest.update(name.encode())
        with open(folder / name, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
