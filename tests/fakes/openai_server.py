"""A local fake of OpenAI's Chat Completions HTTP API, for tests that use the real client.

A scripted reply is a text, or an `Answer`: optional text plus tool calls (`call("append", text="hi")`),
served as one JSON completion or streamed the way OpenAI streams tool calls (name first, arguments in
pieces), whichever the request asked for. Every request body is kept in `requests`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.openai_answers import Answer, answer_message, as_answer, tool_call_chunks

Messages = list[dict[str, Any]]
Reply = str | Answer
ReplyFn = Callable[[Messages], Reply | Awaitable[Reply]]

_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    503: ("server_error", "overloaded"),
}


# Streams a broken server might send: each is one bad event after the role chunk.
MALFORMED = ("bad_json", "bad_utf8", "no_choices", "string_choices")


@dataclass
class _Fault:
    """One scripted misbehaviour for a single request."""

    status: int | None  # None means: hang until the server stops
    retry_after: float | None = None
    body: dict[str, Any] | str | None = None
    malformed: str | None = None  # one of MALFORMED: a 200 stream with a bad event in it


class FakeOpenAIServer:
    """Serves /v1/chat/completions and /v1/models on 127.0.0.1 with scripted replies and faults."""

    def __init__(
        self,
        *,
        chunk_size: int = 4,
        chunk_delay: float = 0.0,
        default_reply: str = "ok",
    ) -> None:
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.default_reply = default_reply
        self.requests: list[dict[str, Any]] = []
        self.streams_cut_short = 0  # streams the client hung up on before their end
        self.url = ""
        self._replies: deque[Reply] = deque()
        self._reply_fn: ReplyFn | None = None
        self._faults: deque[_Fault] = deque()
        self._gate = asyncio.Event()
        self._gate.set()
        self._stopping = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ----- scripting -------------------------------------------------------------------------

    def reply_with(self, fn: ReplyFn | None) -> None:
        """Answer with fn(messages) (sync or async) once the queued fixed replies are used up."""
        self._reply_fn = fn

    def replies(self, *answers: Reply) -> None:
        """Queue fixed replies (texts or Answers with tool calls), used in order before reply_with's function."""
        self._replies.extend(answers)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        body: dict[str, Any] | str | None = None,
    ) -> None:
        """Make the next `times` completion requests fail with an OpenAI-style error."""
        self._faults.extend(_Fault(status, retry_after, body) for _ in range(times))

    def malformed_next(self, kind: str, times: int = 1) -> None:
        """Make the next `times` streamed completions send one malformed event (a kind in MALFORMED)."""
        if kind not in MALFORMED:
            raise ValueError(f"unknown malformed stream {kind!r}; choose from {', '.join(MALFORMED)}")
        self._faults.extend(_Fault(200, malformed=kind) for _ in range(times))

    def hang_next(self, times: int = 1) -> None:
        """Make the next `times` completion requests never answer (until the server stops)."""
        self._faults.extend(_Fault(None) for _ in range(times))

    def hold(self) -> None:
        """Pause every completion from now on before its first chunk, until release()."""
        self._gate.clear()

    def release(self) -> None:
        """Let held completions proceed."""
        self._gate.set()

    # ----- inspection ------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        """Number of chat completion requests received so far."""
        return len(self.requests)

    def last_messages(self) -> Messages:
        """The `messages` list of the most recent chat completion request."""
        if not self.requests:
            raise AssertionError("no chat completion request received yet")
        messages: Messages = self.requests[-1].get("messages", [])
        return messages

    def tool_results(self, request: int = -1) -> list[dict[str, Any]]:
        """The tool results request number `request` carried back (the tool messages after its last answer), parsed."""
        messages: Messages = self.requests[request].get("messages", [])
        tail = list(itertools.takewhile(lambda m: m.get("role") == "tool", reversed(messages)))
        return [json.loads(m["content"]) for m in reversed(tail)]

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> None:
        """Wait until at least `count` chat completion requests have arrived."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    # ----- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        """Start listening on an OS-assigned port; return the base URL including /v1."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self._stopping.clear()
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        """Stop the server, letting hung and held requests end first."""
        self._stopping.set()
        self._gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----- handlers --------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}],
            }
        )

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        async with self._arrived:
            self.requests.append(body)
            self._arrived.notify_all()
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.status is None:
            await self._stopping.wait()
            return web.Response(status=503)
        if fault is not None and fault.malformed is None:
            return self._error(fault)
        answer = as_answer(await self._next_reply(body.get("messages", [])))
        text = answer.content or ""
        ident = f"chatcmpl-fake{next(self._ids)}"
        base = {
            "id": ident,
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "system_fingerprint": None,
        }
        usage = {
            "prompt_tokens": 1,
            "completion_tokens": len(text.split()),
            "total_tokens": 1 + len(text.split()),
        }
        if not body.get("stream"):
            await self._gate.wait()
            message = answer_message(answer)
            return web.json_response(
                {
                    **base,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [
                        {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}
                    ],
                }
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)

        async def send(data: dict[str, Any] | str | bytes) -> None:
            text = data if isinstance(data, str | bytes) else json.dumps(data)
            payload = text if isinstance(text, bytes) else text.encode()
            await response.write(b"data: " + payload + b"\n\n")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "object": "chat.completion.chunk", "choices": [choice]}

        try:
            await self._gate.wait()
            await send(chunk({"role": "assistant", "content": "", "refusal": None}))
            if fault is not None and fault.malformed is not None:
                await send(_malformed(fault.malformed, base))
            step = max(1, self.chunk_size)
            for start in range(0, len(text), step):
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
                await send(chunk({"content": text[start : start + step]}))
            for delta in tool_call_chunks(answer):
                await send(chunk(delta))
            await send(chunk({}, answer.finish_reason))
            if (body.get("stream_options") or {}).get("include_usage"):
                await send(
                    {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                )
            await send("[DONE]")
            await response.write_eof()
        except ConnectionResetError:
            self.streams_cut_short += 1  # the client went away mid-stream (it cancelled, or had enough)
        return response

    async def _next_reply(self, messages: Messages) -> Reply:
        if self._replies:
            return self._replies.popleft()
        if self._reply_fn is None:
            return self.default_reply
        result = self._reply_fn(messages)
        return await result if inspect.isawaitable(result) else result

    def _error(self, fault: _Fault) -> web.Response:
        status = fault.status or 500
        kind, code = _ERROR_KINDS.get(status, ("server_error", "server_error"))
        if isinstance(fault.body, dict):
            payload = fault.body
        else:
            message = fault.body or f"fake error {status}"
            payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        return web.json_response(payload, status=status, headers=headers)


def _malformed(kind: str, base: dict[str, Any]) -> bytes:
    """The body of one bad streamed event."""
    if kind == "bad_json":
        return b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "delta": {"content": "hal'
    if kind == "bad_utf8":
        return b'{"choices": [{"index": 0, "delta": {"content": "caf\xc3\x28 \xff"}}]}'
    shape = {"no_choices": {}, "string_choices": {"choices": "oops"}}[kind]
    return json.dumps({**base, "object": "chat.completion.chunk", **shape}).encode()
