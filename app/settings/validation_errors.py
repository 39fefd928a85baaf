"""pydantic's validation errors as one line naming the variable to change."""

from __future__ import annotations

import re
from typing import get_args

from pydantic import ValidationError

from app.errors import ConfigError
from app.settings.redis_url import redacted
from app.settings.variables import Settings, env_text


def config_error(exc: ValidationError) -> ConfigError:
    """pydantic's first error as one line naming the variable: ``LLMJOBS_PORT must be between 1 and 65535, got 70000``."""
    # Every error is a field's (the cross-field checks raise ConfigError themselves), and its loc is the alias.
    error = exc.errors()[0]
    variable = str(error["loc"][0])
    info = Settings.model_fields[variable.removeprefix("LLMJOBS_").lower()]
    got = repr(error["input"])
    if variable == "LLMJOBS_REDIS_URL":  # it may carry a password: never echo that part
        got = repr(re.sub(r"(?<=:)[^:@/;]*(?=@)", "***", redacted(str(error["input"]))))  # also where it does not parse as a URL
    match error["type"]:
        case "greater_than_equal" | "less_than_equal":
            low = next(m.ge for m in info.metadata if hasattr(m, "ge"))
            high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
            problem = f"must be between {env_text(low)} and {env_text(high)}" if high is not None else f"must be at least {env_text(low)}"
            got = str(error["input"])
        case "int_parsing":
            problem = "must be a whole number"
        case "float_parsing":
            problem = "must be a number"
        case "string_too_short":
            problem = "must not be empty"
        case "literal_error":
            problem = f"must be one of {', '.join(get_args(info.annotation))}"
        case "string_pattern_mismatch":
            problem = f"must be {info.json_schema_extra['expects']}"  # type: ignore[index]  # set by settings._expects
        case "value_error":
            problem = str(error["ctx"]["error"])
        case _:
            problem = error["msg"]
    return ConfigError(variable, f"{problem}, got {got}")
