"""The systems a benchmark can drive, each over HTTP only.

- ``llmjobs``: submit with ``"stream": true`` and read the job's SSE events.
- ``llmjobs-poll``: submit, then poll ``GET /v1/jobs/<id>`` until it ends.
- ``openai-chat`` / ``openai-completions``: any OpenAI-compatible server
  (llama.cpp's server, vLLM, TGI, llmjobs' own OpenAI routes), streaming.

Every failure becomes a sample with an error kind; nothing here raises.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from loadtest.openai_stream import BadStream, StreamState, feed_line
from loadtest.stats import Sample

KINDS = ("llmjobs", "llmjobs-poll", "openai-chat", "openai-completions")
POLL_INTERVAL_S = 0.05


@dataclass
class Params:
    max_tokens: int = 128
    temperature: float = 0.0
    ignore_eos: bool = False
    timeout_s: float = 300.0


@dataclass
class Target:
    kind: str
    url: str  # llmjobs: the server root; OpenAI kinds: the base URL ending in /v1
    name: str
    model: str | None = None
    api_key: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Target:
        """``KIND:URL`` or ``NAME=KIND:URL``."""
        name, _, rest = spec.partition("=") if "=" in spec.split(":", 1)[0] else ("", "", spec)
        kind, sep, url = rest.partition(":")
        if kind not in KINDS or not sep or not urlsplit(url).scheme.startswith("http") or not urlsplit(url).netloc:
            raise ValueError(f"bad --target {spec!r}: expected [NAME=]KIND:URL with KIND one of {', '.join(KINDS)}")
        url = url.rstrip("/")
        return cls(kind=kind, url=url, name=name or f"{kind}@{urlsplit(url).netloc}")

    @property
    def is_llmjobs(self) -> bool:
        return self.kind.startswith("llmjobs")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def prepare(self, client: httpx.AsyncClient) -> None:
        """Learn the model name of an OpenAI server (its first model) unless given."""
        if self.is_llmjobs or self.model:
            return
        response = await client.get(f"{self.url}/models", headers=self.headers(), timeout=30)
        response.raise_for_status()
        self.model = response.json()["data"][0]["id"]

    async def send(self, client: httpx.AsyncClient, item: dict[str, Any], params: Params, index: int, run_start: float) -> Sample:
        sample = Sample(target=self.name, index=index, started_at=time.perf_counter() - run_start, ok=False)
        begin = time.perf_counter()
        try:
            async with asyncio.timeout(params.timeout_s):
                if self.kind == "llmjobs":
                    await self._llmjobs_stream(client, item, params, sample, begin)
                elif self.kind == "llmjobs-poll":
                    await self._llmjobs_poll(client, item, params, sample, begin)
                else:
                    await self._openai_stream(client, item, params, sample, begin)
        except TimeoutError:
            sample.error = "timeout"
        except (httpx.ConnectError, httpx.ConnectTimeout):
            sample.error = "connect"
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.WriteError):
            sample.error = "broken_stream"
        except (BadStream, ValueError, KeyError, TypeError):
            sample.error = "bad_response"
        except httpx.HTTPError:
            sample.error = "http_error"
        if sample.ok and params.ignore_eos and sample.output_tokens < params.max_tokens:
            sample.ok, sample.error = False, "short_output"  # asked for exactly max_tokens and got fewer
        if sample.ok:
            sample.e2e_s = time.perf_counter() - begin
        return sample

    def _job_body(self, item: dict[str, Any], params: Params) -> dict[str, Any]:
        body = {"messages": item["messages"], "max_tokens": params.max_tokens, "temperature": params.temperature}
        return {**body, "ignore_eos": True} if params.ignore_eos else body

    async def _llmjobs_stream(self, client, item, params, sample: Sample, begin: float) -> None:
        body = {**self._job_body(item, params), "stream": True}
        async with client.stream("POST", f"{self.url}/v1/jobs", json=body, headers=self.headers()) as response:
            if response.status_code != 200:
                sample.error = f"http_{response.status_code}"
                return
            if "x-cache" in response.headers:  # llmjobs' result cache: hit; tier=... | coalesced | miss
                sample.cached = response.headers["x-cache"].startswith("hit")
            final = None
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event["type"] == "token" and event["token_ids"]:
                    now = time.perf_counter() - begin
                    sample.ttft_s = sample.ttft_s if sample.ttft_s is not None else now
                    sample.token_times_s.append(now)
                elif event["type"] == "final":
                    final = event
                    break
        if final is None:
            sample.error = "broken_stream"
            return
        self._finish_from_job(sample, final)

    async def _llmjobs_poll(self, client, item, params, sample: Sample, begin: float) -> None:
        response = await client.post(f"{self.url}/v1/jobs", json=self._job_body(item, params), headers=self.headers())
        if response.status_code != 202:
            sample.error = f"http_{response.status_code}"
            return
        url = f"{self.url}/v1/jobs/{response.json()['id']}"
        while True:
            record = await client.get(url, headers=self.headers())
            if record.status_code != 200:
                sample.error = f"http_{record.status_code}"
                return
            job = record.json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            await asyncio.sleep(POLL_INTERVAL_S)
        timings = job.get("timings") or {}
        sample.ttft_s = timings.get("ttft_s")  # measured by the worker from submit: polling cannot see it
        self._finish_from_job(sample, job)

    @staticmethod
    def _finish_from_job(sample: Sample, job: dict[str, Any]) -> None:
        if job["status"] != "succeeded":
            sample.error = "failed"
            return
        usage = job.get("usage") or {}
        sample.output_tokens = usage.get("completion_tokens", len(sample.token_times_s))
        sample.prompt_tokens = usage.get("prompt_tokens")
        if "cached" in job:  # a polled record says so; a streamed final event leaves the X-Cache header's answer
            sample.cached = job["cached"]
        sample.ok = True

    async def _openai_stream(self, client, item, params, sample: Sample, begin: float) -> None:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.ignore_eos:
            body["ignore_eos"] = True
        if self.kind == "openai-chat":
            path, body["messages"] = "/chat/completions", item["messages"]
        else:
            path, body["prompt"] = "/completions", "\n\n".join(m["content"] for m in item["messages"])
        state = StreamState()
        async with client.stream("POST", f"{self.url}{path}", json=body, headers=self.headers()) as response:
            if response.status_code != 200:
                sample.error = f"http_{response.status_code}"
                return
            async for line in response.aiter_lines():
                if feed_line(state, line):
                    now = time.perf_counter() - begin
                    sample.ttft_s = sample.ttft_s if sample.ttft_s is not None else now
                    sample.token_times_s.append(now)
                if state.done:
                    break
        if state.error:
            sample.error = "failed"
        elif not state.done:
            sample.error = "broken_stream"
        else:
            usage = state.usage or {}
            sample.output_tokens = usage.get("completion_tokens", len(state.text_chunks))
            sample.prompt_tokens = usage.get("prompt_tokens")
            sample.ok = True
