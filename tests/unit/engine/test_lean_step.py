"""The lean runner's step layout and KV slots, on small random tensors (no model)."""

import torch
import torch.nn.functional as F

from app.engine.kv_slots import SlotKV
from app.engine.lean_step import StepLayout

HEADS, KV_HEADS, DIM, MAX_LEN = 4, 2, 8, 32


def slots(num_slots: int = 4) -> SlotKV:
    return SlotKV(
        num_layers=1, num_slots=num_slots, max_len=MAX_LEN, num_kv_heads=KV_HEADS, head_dim=DIM, dtype=torch.float32, device="cpu"
    )


def reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of one sequence's last ``len(q)`` tokens over all ``len(k)`` of its tokens."""
    n, t = q.shape[0], k.shape[0]
    mask = torch.arange(t) <= (torch.arange(n) + t - n).unsqueeze(-1)
    out = F.scaled_dot_product_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=mask, enable_gqa=True, scale=DIM**-0.5
    )
    return out.transpose(0, 1).reshape(n, HEADS * DIM)


def test_packed_rows_attend_exactly_like_each_sequence_alone():
    torch.manual_seed(0)
    kv = slots()
    history = {0: 5, 2: 0, 3: 9}  # slot -> tokens already cached (slot 1 is free)
    cached = {slot: (torch.randn(n, KV_HEADS, DIM), torch.randn(n, KV_HEADS, DIM)) for slot, n in history.items()}
    for slot, (k, v) in cached.items():
        kv.keys[0][slot, :, : len(k)] = k.transpose(0, 1)
        kv.values[0][slot, :, : len(v)] = v.transpose(0, 1)
    new = {0: 1, 2: 6, 3: 3}  # a decode, a prompt, a verified draft
    rows = [(slot, history[slot], count) for slot, count in new.items()]
    layout = StepLayout.of(rows, KV_HEADS, MAX_LEN)
    n = sum(new.values())
    q, k, v = torch.randn(n, HEADS, DIM), torch.randn(n, KV_HEADS, DIM), torch.randn(n, KV_HEADS, DIM)
    out = layout.attend(q, k, v, kv.keys[0], kv.values[0], layout.mask(None), DIM**-0.5)
    start = 0
    for slot, count in new.items():
        end = start + count
        all_k = torch.cat([cached[slot][0], k[start:end]])
        all_v = torch.cat([cached[slot][1], v[start:end]])
        torch.testing.assert_close(out[start:end], reference(q[start:end], all_k, all_v))
        torch.testing.assert_close(kv.keys[0][slot, :, : len(all_k)], all_k.transpose(0, 1))  # written in place
        start = end


def test_a_sliding_window_hides_keys_older_than_it():
    layout = StepLayout.of([(0, 6, 2)], KV_HEADS, MAX_LEN)
    mask = layout.mask(window=3)[0, 0]
    assert mask[0].nonzero().flatten().tolist() == [4, 5, 6]
    assert mask[1].nonzero().flatten().tolist() == [5, 6, 7]


def test_slots_are_reused_lowest_first_and_start_empty():
    kv = slots(3)
    assert [kv.allocate() for _ in range(3)] == [0, 1, 2]
    kv.lengths[1] = 7
    kv.free(1)
    assert kv.lengths[1] == 0 and kv.allocate() == 1
    kv.free_all()
    assert kv.allocate() == 0


def test_fresh_and_released_slot_memory_reads_as_zeros():
    kv = SlotKV(num_layers=1, num_slots=2, max_len=4096, num_kv_heads=1, head_dim=64, dtype=torch.float32, device="cpu")
    assert not kv.keys[0].any()  # never NaN garbage under a masked position
    slot = kv.allocate()
    kv.keys[0][slot].fill_(1.0)
    kv.lengths[slot] = 4096
    kv.free(slot)  # long enough for its pages to go back to the OS
    assert not kv.keys[0][slot].any()


def test_a_reused_prefix_is_copied_in_and_viewed_back():
    kv = slots()
    slot = kv.allocate()
    prefix = [(torch.randn(1, KV_HEADS, 5, DIM), torch.randn(1, KV_HEADS, 5, DIM))]
    kv.load(slot, prefix)
    assert kv.lengths[slot] == 5
    ((keys, values),) = kv.view(slot, 5)
    torch.testing.assert_close(keys, prefix[0][0])
    torch.testing.assert_close(values, prefix[0][1])
