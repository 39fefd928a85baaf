"""The batch runner's and the files' settings (declared in app/settings/variables.py with every other variable)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchConfig:
    files_url: str  # a folder or an fsspec URL
    tenant_max_batches: int = 0  # 0: no cap
    tenant_max_file_bytes: int = 0  # 0: no cap
    headroom: int = 0  # app/batches/pace.py
    yield_inflight: int = 1
    max_inflight: int = 0
