"""Turning worker switches into the configuration an engine is built with."""

from app.config import load_config
from app.flags.store import defaults
from app.flags.worker_applier import configs_for


def test_prefix_cache_off_keeps_the_size_so_the_live_switch_can_turn_it_back_on():
    config = load_config({"LLMJOBS_PREFIX_CACHE_TOKENS": "4096"})
    built = configs_for(config, {**defaults(config), "prefix_cache": "off"})
    assert built.worker.prefix_cache_tokens == 4096


def test_draft_model_without_a_draft_is_left_to_the_live_switch_to_refuse():
    config = load_config({"LLMJOBS_SPECULATIVE": "prompt-lookup"})
    built = configs_for(config, {**defaults(config), "speculative": "draft-model"})
    assert built.worker.speculative == "prompt-lookup"
