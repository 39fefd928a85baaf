"""A job run with an adapter is keyed apart from the base model's and from another adapter's (pure logic)."""

from app.jobs.lora_registry import LoraEntry
from app.jobs.model_router import with_adapter
from app.jobs.submit import SubmitService


def service() -> SubmitService:
    return SubmitService(jobs=None, cache=None, prompts=None, send_task=None, metrics=None, model_name="m", model_id="m@rev",
                         default_max_tokens=16, inflight_ttl_s=60)  # fmt: skip


def test_each_adapter_digest_is_its_own_cache_fingerprint_on_the_parents_queue():
    base = service()
    one = with_adapter(base, LoraEntry("a", "/a", "1" * 64, 8, "m", 0))
    other = with_adapter(base, LoraEntry("a", "/a", "2" * 64, 8, "m", 0))
    assert len({base.model_id, one.model_id, other.model_id}) == 3
    assert one.model_name == base.model_name == "m" and one.reply_model == "a" and base.reply_model == "m"
    assert one.lora == {"name": "a", "path": "/a", "digest": "1" * 64} and base.lora is None
