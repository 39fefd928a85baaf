"""What makes two requests "the same" for the cache. Pure functions, no Redis.

The exact key hashes everything that can change an answer: the model's identity,
the prompt exactly as the model sees it (chat template applied, so messages,
roles and the template are all in it), every sampling parameter, and the tenant.
The semantic namespace hashes the same things minus the text being compared: the
final user turn (or the prompt). Earlier turns and the system prompt stay in the
namespace, so only a paraphrase of the last question can match, never the same
question asked in another conversation.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CacheKeys:
    exact: str  # hex digest: equal only for byte-identical model input and parameters
    namespace: str  # hex digest: who may share semantic matches with whom
    text: str | None  # what the semantic tier compares; None when it does not apply
    deterministic: bool  # the same request always gets the same answer (greedy, or seeded)
    greedy: bool  # temperature 0: a paraphrase's answer is the one the model would likely give


def is_deterministic(sampling: Mapping[str, Any]) -> bool:
    return sampling["temperature"] == 0 or sampling.get("seed") is not None


def normalize(text: str) -> str:
    """NFC and outer whitespace only: inner whitespace can matter (code, poems)."""
    return unicodedata.normalize("NFC", text).strip()


def semantic_text(request: dict[str, Any]) -> tuple[str | None, list[dict[str, str]]]:
    """(the text to compare, the conversation before it). Text is None when the last turn is not the user's."""
    if "prompt" in request:
        return normalize(request["prompt"]), []
    messages = request["messages"]
    last = messages[-1]
    if last["role"] != "user":
        return None, messages
    return normalize(last["content"]), messages[:-1]


def _digest(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cache_keys(*, request: dict[str, Any], prompt_ids: list[int], sampling: Mapping[str, Any], tenant: str, model_id: str) -> CacheKeys:
    """Keys of a validated request (``JobRequest.stored()``) whose prompt renders to ``prompt_ids``;
    ``sampling``: every sampling parameter by name (``JobRequest.sampling()``)."""
    params = {**sampling, "stop": list(sampling.get("stop", ()))}
    deterministic = is_deterministic(sampling)
    if sampling["temperature"] == 0:
        params["seed"] = None  # greedy ignores the seed: seeded and unseeded greedy requests share answers
    common = {"model": model_id, "tenant": tenant, "sampling": params}  # sampling holds the output's constraint ("structured")
    if request.get("tools"):  # offered tools change the answer even when they shape no grammar (tool_choice auto)
        common["tools"] = [request["tools"], request.get("tool_choice")]
    text, context = semantic_text(request)
    context = [{"role": m["role"], "content": normalize(m["content"])} for m in context]
    return CacheKeys(
        exact=_digest({**common, "prompt_ids": prompt_ids}),
        namespace=_digest(
            {**common, "raw": bool(request.get("raw")), "context": context, "kind": "prompt" if "prompt" in request else "chat"}
        ),
        text=text or None,
        deterministic=deterministic,
        greedy=sampling["temperature"] == 0,
    )
