"""vLLM's LoRA admin routes: ``POST /v1/load_lora_adapter`` and ``POST /v1/unload_lora_adapter``, for admin
keys only. Their bodies, statuses and messages are vLLM's (entrypoints/openai/serving_models.py): a plain
text ``Success: ...`` line, or an error naming the adapter. The adapter folder is checked here (app/lora_files.py);
workers read its weights when a request first needs them."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, ConfigDict

from api.auth import require_admin
from api.errors import ApiError
from api.openai_schemas import parse_openai
from api.services import services
from api.view_helpers import json_body
from app.errors import InvalidRequestError
from app.jobs.lora_registry import check_new_name
from app.lora_files import check_adapter, check_name

bp = Blueprint("loras", __name__, url_prefix="/v1")
bp.before_request(require_admin)


class LoadLoraAdapterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    lora_name: str = ""
    lora_path: str = ""
    load_inplace: bool = False  # vLLM's: replace an adapter of that name instead of refusing


class UnloadLoraAdapterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    lora_name: str = ""
    lora_int_id: int | None = None  # vLLM's; adapters are known by name here


def _refused(status: int, type_: str, message: str, param: str) -> ApiError:
    return ApiError(status, type_, message, param, None)


@bp.post("/load_lora_adapter")
def load_lora_adapter():
    """Check a PEFT LoRA folder and serve it as the model ``lora_name`` (parent: the default model)."""
    body = parse_openai(LoadLoraAdapterRequest, json_body())
    if not body.lora_name or not body.lora_path:
        raise _refused(400, "InvalidUserInput", "Both 'lora_name' and 'lora_path' must be provided.", "lora_name")
    svc = services()
    check_name(body.lora_name)
    check_new_name(body.lora_name, {svc.model_name, *svc.catalog.serving()})
    try:
        info = check_adapter(body.lora_path)
    except InvalidRequestError as exc:  # vLLM: 404 when nothing is there, else 400
        raise _refused(404 if "No adapter found" in str(exc) else 400, "NotFoundError" if "No adapter found" in str(exc)
                       else "BadRequestError", str(exc), "lora_path") from None  # fmt: skip
    if not svc.loras.add(body.lora_name, info, svc.model_name, replace=body.load_inplace):
        raise _refused(400, "InvalidUserInput", f"The lora adapter '{body.lora_name}' has already been loaded.", "lora_name")
    return f"Success: LoRA adapter '{body.lora_name}' added successfully.", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/unload_lora_adapter")
def unload_lora_adapter():
    """Stop serving ``lora_name``: new requests for it get 404; jobs already accepted run to their end."""
    body = parse_openai(UnloadLoraAdapterRequest, json_body())
    if not body.lora_name:
        raise _refused(400, "InvalidUserInput", "either 'lora_name' and 'lora_int_id' needs to be provided.", "lora_name")
    if not services().loras.remove(body.lora_name):
        raise _refused(404, "NotFoundError", f"The lora adapter '{body.lora_name}' cannot be found.", "lora_name")
    return f"Success: LoRA adapter '{body.lora_name}' removed successfully.", 200, {"Content-Type": "text/plain; charset=utf-8"}
