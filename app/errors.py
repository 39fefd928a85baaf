"""Every exception the core raises on purpose, in one module."""


class LLMJobsError(Exception):
    """Base of the project's own errors."""


class ConfigError(LLMJobsError):
    """A configuration variable has a bad value."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


class ModelNotPreparedError(LLMJobsError):
    """The default model has not been converted yet (``llmjobs prepare``)."""


class InvalidRequestError(LLMJobsError):
    """A request is well-formed but cannot be served (e.g. too long for the context)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OverloadedError(LLMJobsError):
    """A bound is reached (the queue, a tenant's rate or its active jobs): try again later."""

    def __init__(self, reason: str, message: str, retry_after_s: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # queue_full, rate_limited, tenant_active
        self.retry_after_s = retry_after_s
        self.headers = headers or {}


class GenerationTimeoutError(LLMJobsError):
    """A generation ran past the task time limit."""


class ModelLoadError(LLMJobsError):
    """A model setting this machine cannot run (an attention kernel, a weight format)."""


class ModelNotFoundError(LLMJobsError):
    """A request names a model that is neither the default nor served by a worker (now or lately)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist. See GET /v1/models for the models served.")
        self.model = model


class ModelUnavailableError(LLMJobsError):
    """A known model has no live worker: try again later, or set ``deadline_s`` to wait in its queue."""

    def __init__(self, model: str, retry_after_s: int) -> None:
        super().__init__(
            f"no worker serves the model `{model}` right now; retry in {retry_after_s} s, "
            "or set deadline_s to let the job wait in its queue for a worker"
        )
        self.model = model
        self.retry_after_s = retry_after_s


class NotFoundError(LLMJobsError):
    """A file, batch or other object the caller names does not exist (or is another tenant's)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ConflictError(LLMJobsError):
    """The object's state forbids the change (a file a running batch reads, a batch that has ended)."""


class TooLargeError(LLMJobsError):
    """An upload over a size limit or a tenant's storage cap."""

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
