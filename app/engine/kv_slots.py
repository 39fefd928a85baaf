"""The lean runner's KV cache: one preallocated buffer per layer, one slot per sequence.

Each layer holds keys and values of shape (num_slots, H_kv, max_len, D). A sequence owns a
slot from admission to its end and its tokens sit at positions [0, length) of it, so a step
appends by index (no concatenation, no reallocation) and attention reads every slot through
one strided view, with no gather. Why slots and not paged blocks: on a CPU there is no paged
attention kernel, and gathering a batch's blocks into a contiguous tensor would copy the whole
batch's KV at every layer of every step; a reused prefix is instead copied into the new slot
once (a few dozen tokens). The buffers are allocated with ``torch.empty`` and never zeroed, so
the operating system backs only the pages a sequence actually wrote; a freed slot's pages are
handed back (``madvise(MADV_DONTNEED)``) so a worker's memory follows the tokens it holds, not
the longest sequence it ever served.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import sys

import torch

from app.engine.running_rows import SlotPool

_PAGE = 4096
_MADV_DONTNEED = 4
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform.startswith("linux") else None


def release_pages(tensor: torch.Tensor) -> None:
    """Give the whole pages under a contiguous CPU tensor back to the OS; they read as zeros after.

    Written by hand: PyTorch frees memory only with the whole tensor, and the slot buffers must
    stay allocated (and addressable by one view) while single slots come and go."""
    if _libc is None or tensor.device.type != "cpu" or not tensor.is_contiguous():
        return
    start, end = tensor.data_ptr(), tensor.data_ptr() + tensor.numel() * tensor.element_size()
    first, last = -(-start // _PAGE) * _PAGE, (end // _PAGE) * _PAGE
    if last > first:
        _libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)


def _zeros(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> torch.Tensor:
    """A zero tensor whose pages the OS backs only once written: anonymous mmap memory reads as
    zeros (so positions past a slot's length never hold NaN garbage that masked attention could
    pick up) and costs nothing until touched. ``torch.zeros`` would write, and so back, all of it."""
    if device != "cpu":
        return torch.zeros(shape, dtype=dtype, device=device)
    numel = 1
    for size in shape:
        numel *= size
    # private: MADV_DONTNEED then frees the pages (on a shared mapping they would stay in shmem)
    buffer = mmap.mmap(-1, numel * torch.empty((), dtype=dtype).element_size(), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return torch.frombuffer(buffer, dtype=dtype).view(shape)  # the tensor keeps the mapping alive


class SlotKV(SlotPool):
    def __init__(
        self, *, num_layers: int, num_slots: int, max_len: int, num_kv_heads: int, head_dim: int, dtype: torch.dtype, device: str
    ) -> None:
        super().__init__(num_slots)
        shape = (num_slots, num_kv_heads, max_len, head_dim)
        self.keys = [_zeros(shape, dtype, device) for _ in range(num_layers)]
        self.values = [_zeros(shape, dtype, device) for _ in range(num_layers)]
        self.max_len = max_len

    def free(self, slot: int) -> None:
        # Every slot longer than a page a head gives its pages back, or each slot would keep those of
        # the longest sequence it ever served (measured in a soak: up to 45 KiB a token, 32 slots).
        if self.lengths[slot] * self.keys[0].shape[-1] * self.keys[0].element_size() >= _PAGE:
            for layer in (*self.keys, *self.values):
                release_pages(layer[slot])
        super().free(slot)

    def free_all(self) -> None:
        free = set(self._free)
        for slot in range(self.num_slots):
            if slot not in free:
                self.free(slot)

    def load(self, slot: int, kv: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Copy a reused prefix, per layer (keys, values) of shape (1, H_kv, n, D), into an empty slot."""
        length = kv[0][0].shape[-2]
        for layer, (keys, values) in enumerate(kv):
            self.keys[layer][slot, :, :length] = keys[0]
            self.values[layer][slot, :, :length] = values[0]
        self.lengths[slot] = length

    def view(self, slot: int, length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer (keys, values) of a slot's first ``length`` tokens, shaped (1, H_kv, length, D) (views)."""
        return [(k[slot : slot + 1, :, :length], v[slot : slot + 1, :, :length]) for k, v in zip(self.keys, self.values, strict=True)]
