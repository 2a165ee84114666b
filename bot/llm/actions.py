"""The `actions` responder (seed 001): the model drafts, checks and pushes with tools and hears the chat
after every step, so it can revise a text the human's newer words made stale before anyone sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from bot.core.clock import Clock
from bot.core.ports import (
    Done,
    Heard,
    Intent,
    Line,
    NewMessages,
    ReplyRequest,
    Say,
    SessionFeed,
    StaySilent,
    TaskFinished,
    Typing,
    TypingSeen,
    Unsend,
)
from bot.llm.action_tools import ACTION_RULES, TOOLS, Action, Draft, read_call, result
from bot.llm.prompt import bounded, build_messages
from bot.llm.splitter import PartCutter
from bot.llm.tidy import speaker_names, tidy_line
from bot.llm.tool_kit import SessionTool, tool_index
from bot.llm.tool_model import ModelStep, ToolModel

MAX_STEPS = 16
UNREAD = "they wrote since your last step: read new_messages first"


class ActionResponder:
    """Reply sessions in which the model composes with append, undo, reset, push, check, stay_silent and done."""

    listens = True  # new messages are relayed into the running session: the model decides what they change

    def __init__(self, model: ToolModel, max_steps: int = MAX_STEPS, tools: Sequence[SessionTool] = ()) -> None:
        self.model = model
        self.max_steps = max_steps
        self.tools = tool_index(tools)  # seed 004's tools (tasks, memory) beside the seven drafting ones

    def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """One session: a model request per step until the model ends it, 16 steps, or max_wait without a push."""
        return ActionSession(self.model, request, feed, self.max_steps, self.tools).run()


class ActionSession:
    """One reply session's draft, what the model has and has not read yet, and the conversation with the model."""

    def __init__(self, model: ToolModel, request: ReplyRequest, feed: SessionFeed, max_steps: int,
                 tools: dict[str, SessionTool] | None = None) -> None:
        self.model = model
        self.tools = tools or {}
        self.schemas = [*TOOLS, *(tool.schema for tool in self.tools.values())]
        self.clock: Clock = model.clock
        self.request = request
        self.feed = feed
        self.max_steps = max_steps
        self.draft = Draft(request.limit)
        self.messages: list[dict[str, Any]] = build_messages(request)
        rules = ACTION_RULES.format(max_wait=request.max_wait, max_parts=request.max_parts,
                                    max_chars=request.max_part_chars)
        rules = " ".join([rules, *(tool.rule for tool in self.tools.values())])
        self.messages[0] = {"role": "system", "content": f"{request.system}\n\n{rules}"}
        self.unheard: list[Line] = []  # arrived, not yet in any tool result
        self.unread: list[Line] = []  # in a tool result the model has not read yet (its next request will)
        self.typing_until = 0.0
        self.says = 0  # Say numbers, as the engine counts them
        self.pushed: list[tuple[int, str]] = []  # delivered texts of this session, for undo
        self.showing = False  # "typing…" on
        self.end: Done | StaySilent | None = None
        self.interrupted = False  # a push in this batch was refused: the rest of the batch waits
        self.idle_until = self.clock.now() + request.max_wait
        self._result = ""

    async def run(self) -> AsyncIterator[Intent]:
        """Step until the session ends; then the end itself (silence or done)."""
        self._tell_unheard()
        steps = 0
        while self.end is None:
            if steps == self.max_steps or self.clock.now() >= self.idle_until:
                why = f"{self.max_steps} steps" if steps == self.max_steps else "max_wait without a push"
                self.feed.note("action_end", reason=why, draft=self.draft.text)
                break
            self.unread = []
            step = await self.model.step(self.messages, self.schemas)
            steps += 1
            if not step.calls:
                async for intent in self._plain(step.content):
                    yield intent
                continue
            async for intent in self._batch(step):
                yield intent
        if self.showing:
            yield Typing(False)
        yield self.end or Done()

    # ----- what the session hears ------------------------------------------------------------

    def _hear(self, items: list[Heard]) -> None:
        for item in items:
            if isinstance(item, NewMessages | TaskFinished):  # a finished task is told like a new message
                self.unheard.extend(item.lines)
                self.idle_until = self.clock.now() + self.request.max_wait  # new words: a reason to answer
            elif isinstance(item, TypingSeen):
                self.typing_until = max(self.typing_until, item.until)

    def _new(self) -> list[Line]:
        """Everything heard that no tool result told yet (each message is told exactly once)."""
        self._hear(self.feed.take())
        new, self.unheard = self.unheard, []
        self.unread.extend(new)
        return new

    def _answer(self, **fields: Any) -> None:
        self._result = result(self.draft.text, self._new(), **fields)

    def _tell_unheard(self) -> None:
        """Messages heard outside any tool result (before the first step, after a plain answer) join the prompt."""
        self._hear(self.feed.take())
        self.messages.extend(_user_message(line, self.request.is_group) for line in self.unheard)
        self.unheard = []

    # ----- one model step --------------------------------------------------------------------

    async def _batch(self, step: ModelStep) -> AsyncIterator[Intent]:
        """Do the step's tool calls in order; each gets its JSON result as a tool message."""
        self.messages.append(step.as_message())
        self.interrupted = False
        for call in step.calls:
            action = read_call(call.call_id, call.name, call.arguments, self.tools)
            async for intent in self._act(action):
                yield intent
            if bool(self.draft.text) != self.showing:
                self.showing = not self.showing
                yield Typing(self.showing)
            self.messages.append({"role": "tool", "tool_call_id": action.call_id, "content": self._result})

    async def _act(self, action: Action) -> AsyncIterator[Intent]:
        if self.end is not None or self.interrupted or action.error:
            error = action.error or ("the session has ended" if self.end is not None
                                     else "skipped: your push was refused, read new_messages first")
            self.feed.note("action_error", tool=action.name, error=error)
            self._answer(error=error)
        elif action.name == "push":
            async for intent in self._push():
                yield intent
        elif action.name == "undo":
            async for intent in self._undo():
                yield intent
        elif action.name == "append":
            self._append(action.args["text"])
        elif action.name == "reset":
            self.feed.note("action_reset", text=self.draft.reset())
            self._answer()
        elif action.name == "check":
            await self._check(float(action.args["seconds"]))
        elif action.name in self.tools:
            await self._extra(self.tools[action.name], action.args)
        else:
            self._stop(StaySilent() if action.name == "stay_silent" else Done())

    # ----- the tools -------------------------------------------------------------------------

    def _append(self, text: str) -> None:
        truncated = self.draft.append(text)
        self.feed.note("action_append", text=text, truncated=truncated)
        self._answer(**({"truncated": True} if truncated else {}))

    async def _undo(self) -> AsyncIterator[Intent]:
        removed = self.draft.undo()
        if removed is not None:
            self.feed.note("action_undo", undid="append", text=removed)
            self._answer(undid="append", text=removed.strip())
        elif self.pushed:
            number, text = self.pushed.pop()
            yield Unsend(number)
            self.feed.note("action_undo", undid="message", text=text)
            self._answer(undid="message", text=text)
        else:
            self._answer(error="nothing to undo: the draft is empty and you have sent nothing")

    async def _push(self) -> AsyncIterator[Intent]:
        text = self.draft.text
        if not text.strip():
            self.feed.note("action_push", sent=False, text=text, reason="the draft is empty")
            self._answer(sent=False, error="the draft is empty: append something first")
            return
        self._hear(self.feed.take())
        if self.unheard or self.unread:
            self.interrupted = True
            self._pushed(False, text, UNREAD)
            return
        number = self.says
        self.says += 1
        yield Say(text, guarded=True)  # the engine types it, then withholds it if the human writes first
        receipt = await self.feed.receipt(number)
        if not receipt.delivered:
            self.interrupted = True
            self._pushed(False, text, receipt.reason or "not delivered")
            return
        self.draft.reset()
        self.pushed.append((number, text))
        self.idle_until = self.clock.now() + self.request.max_wait
        self._pushed(True, text, "")

    def _pushed(self, sent: bool, text: str, reason: str) -> None:
        self.feed.note("action_push", sent=sent, text=text, reason=reason)
        self._answer(sent=sent, **({"reason": reason} if reason else {}))

    async def _check(self, seconds: float) -> None:
        start = self.clock.now()
        until = start + min(seconds, self.request.max_wait)
        self._hear(self.feed.take())
        while not self.unheard and self.clock.now() < until:
            self._hear(await self.feed.wait(until - self.clock.now()))
        waited = self.clock.now() - start
        self.feed.note("action_check", seconds=seconds, waited=waited, heard=len(self.unheard))
        self._answer(waited=round(waited, 1), typing=self.typing_until > self.clock.now())

    async def _extra(self, tool: SessionTool, args: dict[str, Any]) -> None:
        try:
            fields = await tool.call(args, self.request)
        except Exception as exc:  # a broken tool is the model's problem to read about, never the chat's end
            fields = {"error": f"{tool.name} failed: {type(exc).__name__}"}
        self.feed.note(f"action_{tool.name}", args=args, result=fields)
        self._answer(**fields)

    def _stop(self, end: Done | StaySilent) -> None:
        self._hear(self.feed.take())
        if self.unheard or self.unread:  # ending now would leave what they just wrote unanswered
            self._answer(ended=False, reason=UNREAD)
            return
        dropped = self.draft.reset()
        self.feed.note("action_silence" if isinstance(end, StaySilent) else "action_done", dropped=dropped)
        self.end = end
        self._answer(ended=True, **({"dropped": dropped} if dropped else {}))

    # ----- an answer without tools -----------------------------------------------------------

    async def _plain(self, content: str) -> AsyncIterator[Intent]:
        """Text without tool calls is sent as parts, as the stream responder would, and ends the session.

        Unless the human writes before the parts are out: the unsent ones are withheld and the session
        takes another step with what they wrote, instead of counting it answered unread.
        """
        request = self.request
        tidy = partial(tidy_line, names=speaker_names(request.system))
        cutter = PartCutter(request.max_parts, request.max_part_chars, request.limit, tidy=tidy)
        parts = [part for part in [*cutter.feed(content), *cutter.finish()] if part.strip()]
        if not parts:
            self.feed.note("action_end", reason="an answer with no tool call and no text", draft=self.draft.text)
            self.end = Done()
            return
        first = self.says
        for part in parts:
            yield Say(part, guarded=True)
        self.says += len(parts)
        receipts = [await self.feed.receipt(number) for number in range(first, self.says)]
        self.pushed.extend((r.part, r.text) for r in receipts if r.delivered)
        delivered = [r.text for r in receipts if r.delivered]
        self.feed.note("action_plain", sent=len(delivered), withheld=len(parts) - len(delivered))
        self._hear(self.feed.take())
        if not self.unheard:
            self.end = Done()
            return
        if delivered:
            self.messages.append({"role": "assistant", "content": "\n".join(delivered)})
        self._tell_unheard()


def _user_message(line: Line, is_group: bool) -> dict[str, str]:
    """A message the human wrote, as the prompt shows it (with its author's name in a group)."""
    text = bounded(line.text)
    return {"role": "user", "content": f"{line.author}: {text}" if is_group and line.author else text}
