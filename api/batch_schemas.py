"""The body of ``POST /v1/batches``, OpenAI's shape, validated with pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.batches.record import ENDPOINTS

Endpoint = Literal["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
assert set(Endpoint.__args__) == set(ENDPOINTS)  # type: ignore[attr-defined]


class ExpiresAfter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=30 * 86400)


class BatchCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_file_id: str = Field(min_length=1)
    endpoint: Endpoint
    completion_window: Literal["24h"]
    metadata: dict[str, str] | None = None
    output_expires_after: ExpiresAfter | None = None
    webhook: str | None = Field(default=None, max_length=2048)  # ours: where to announce its end; "": not the tenant's default

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and (len(value) > 16 or any(len(k) > 64 or len(v) > 512 for k, v in value.items())):
            raise ValueError("at most 16 pairs, keys up to 64 characters, values up to 512")
        return value
