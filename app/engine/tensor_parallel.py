"""Tensor parallelism: one worker spanning several devices (``LLMJOBS_TENSOR_PARALLEL=N``).

The model is sharded by transformers' own tensor-parallel plan (``tp_plan="auto"``) across N
processes started by ``torchrun``. Every rank must run the same forward passes in the same
order, so rank 0, which consumes Celery tasks and runs the engine loop, broadcasts each call it
makes to its model runner (prefill a chunk, decode, admit, drop rows, ...), and the other ranks
repeat it on their own runner (``follow``): their KV caches and prefix caches stay identical
shard by shard. Only rank 0 samples. Sequences travel as small views (id, input ids, finished),
never with their mailboxes or callbacks.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from app.engine.scheduler import PrefillChunk

log = logging.getLogger(__name__)

MIRRORED = frozenset({"prefill", "decode", "admit_group", "drop_finished", "release", "verify", "rewind", "reset"})
KEEPALIVE_S = 60.0  # an idle leader pings its followers well within the process group's timeout


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def is_distributed() -> bool:
    dist = _dist()
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_leader() -> bool:
    return is_distributed() and _dist().get_rank() == 0


@dataclass
class SeqView:
    """What a follower's runner reads of a sequence."""

    seq_id: int
    input_ids: list[int]
    finished: bool = False
    lora_key: None = None  # tensor parallelism serves the base model only (the transformers runner)

    @property
    def is_finished(self) -> bool:
        return self.finished


def _pack(value: Any) -> Any:
    from app.engine.sequence import Sequence

    if isinstance(value, Sequence):
        return SeqView(value.seq_id, list(value.input_ids), value.is_finished)
    if isinstance(value, PrefillChunk):
        return replace(value, group=[_pack(seq) for seq in value.group])
    if isinstance(value, list):
        return [_pack(item) for item in value]
    return value


class BroadcastingRunner:
    """Rank 0's model runner: each mirrored call goes to every rank first, then runs here."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner
        self._lock = threading.Lock()  # the engine thread and the keepalive thread share the channel
        self._stop = threading.Event()
        threading.Thread(target=self._keepalive, name="llmjobs-tp-keepalive", daemon=True).start()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._runner, name)
        if name not in MIRRORED:
            return attribute

        def mirrored(*args: Any) -> Any:
            with self._lock:
                self._send((name, [_pack(a) for a in args], self._finished_ids()))
                return attribute(*args)

        return mirrored

    def _finished_ids(self) -> list[int]:
        rows = [*(self._runner.running.seqs if self._runner.running else []), *(self._runner.group.seqs if self._runner.group else [])]
        return [seq.seq_id for seq in rows if seq.is_finished]

    def _send(self, message: Any) -> None:
        _dist().broadcast_object_list([message], src=0)

    def _keepalive(self) -> None:
        while not self._stop.wait(KEEPALIVE_S):
            with self._lock:
                self._send(("noop", [], []))

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._send(("stop", [], []))


@dataclass
class _Registry:
    views: dict[int, SeqView] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Use one view object per sequence, so finished flags set later reach the runner's rows."""
        if isinstance(value, SeqView):
            view = self.views.setdefault(value.seq_id, value)
            view.input_ids, view.finished = value.input_ids, value.finished
            return view
        if isinstance(value, PrefillChunk):
            return replace(value, group=[self.resolve(seq) for seq in value.group])
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


def follow(runner: Any) -> None:
    """A follower rank: repeat rank 0's runner calls until it says stop."""
    registry = _Registry()
    while True:
        box: list[Any] = [None]
        _dist().broadcast_object_list(box, src=0)
        name, args, finished = box[0]
        if name == "stop":
            return
        if name == "noop":
            continue
        for seq_id in finished:
            if seq_id in registry.views:
                registry.views[seq_id].finished = True
        getattr(runner, name)(*registry.resolve(args))
        live = {seq.seq_id for batch in (runner.running, runner.group) if batch is not None for seq in batch.seqs}
        registry.views = {k: v for k, v in registry.views.items() if k in live}  # forget sequences that left


def shutdown() -> None:
    """Leave the process group together: a rank that exits while another still holds the group
    can abort in gloo's destructor ("terminate called without an active exception")."""
    if is_distributed():
        _dist().barrier()
        _dist().destroy_process_group()


def follower_runner(model: Any, tokenizer: Any, device: str, prefix_cache_tokens: int) -> Any:
    """A follower's model runner, built exactly as the batching engine builds rank 0's."""
    from app.engine.base import eos_token_ids
    from app.engine.model_runner import ModelRunner
    from app.engine.prefix_cache import PrefixCache

    pad = eos_token_ids(model, tokenizer)[0]  # the batching engine pads with the same id
    return ModelRunner(model, pad_token_id=pad, device=device, prefix_cache=PrefixCache(max_tokens=prefix_cache_tokens))
