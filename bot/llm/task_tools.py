"""The action tools `create_task(kind, args)` and `check_task(task_id)` (seed 004), on a TaskBoard."""

from __future__ import annotations

from typing import Any

from bot.core.background import TaskBoard
from bot.core.ports import ReplyRequest
from bot.core.reminders import utc_text
from bot.llm.tool_kit import SessionTool

CHECK_TASK_SCHEMA: dict[str, Any] = {"type": "function", "function": {
    "name": "check_task",
    "description": "How a task you started stands: running, scheduled, done (with its result) or failed.",
    "parameters": {"type": "object", "properties": {
        "task_id": {"type": "string", "description": "the task_id create_task returned"},
    }, "required": ["task_id"], "additionalProperties": False},
}}


class CreateTaskTool:
    """create_task(kind, args) → {"task_id": ..., "status": ...}: starts a task of a registered kind."""

    name = "create_task"

    def __init__(self, board: TaskBoard) -> None:
        self.board = board

    @property
    def schema(self) -> dict[str, Any]:
        """The kind is an enum of the board's registered kinds; args an object each kind describes."""
        kinds = [kind.name for kind in self.board.kinds]
        described = " ".join(kind.summary for kind in self.board.kinds)
        return {"type": "function", "function": {
            "name": self.name,
            "description": f"Start something that takes a while and carry on texting meanwhile. {described}",
            "parameters": {"type": "object", "properties": {
                "kind": {"type": "string", "enum": kinds, "description": "which kind of task"},
                "args": {"type": "object", "description": "the kind's arguments"},
            }, "required": ["kind", "args"], "additionalProperties": False},
        }}

    @property
    def rule(self) -> str:
        """When to start a task (with the time now, which a reminder needs)."""
        return ("create_task(kind, args) starts a task in the background and returns its task_id at once: keep "
                "texting (say you will think about it, or that you will remind them). When it finishes, its result "
                "arrives in new_messages from \"task\": bring it up naturally, once. check_task(task_id) tells how "
                f"it stands. It is now {utc_text(self.board.clock.now())} (UTC).")

    def argument_error(self, args: dict[str, Any]) -> str:
        """An unknown kind or args that kind cannot use."""
        kind = self.board.kind(str(args.get("kind")))
        if kind is None:
            return f"kind must be one of {', '.join(k.name for k in self.board.kinds)}"
        if not isinstance(args.get("args"), dict):
            return "args must be an object"
        return kind.argument_error(args["args"])

    async def call(self, args: dict[str, Any], request: ReplyRequest) -> dict[str, Any]:
        """Store and start the task for this conversation."""
        if request.key is None:
            return {"error": "this conversation cannot start tasks"}
        try:
            task = await self.board.create(request.key, str(args["kind"]), dict(args["args"]), request.is_group)
        except ValueError as exc:
            return {"error": str(exc)}
        shown: dict[str, Any] = {"task_id": task.task_id, "status": task.status}
        if task.due_at is not None:
            shown["due"] = utc_text(task.due_at)
        return shown


class CheckTaskTool:
    """check_task(task_id) → the task's status, and its result once it has one."""

    name = "check_task"
    rule = ""

    def __init__(self, board: TaskBoard) -> None:
        self.board = board

    @property
    def schema(self) -> dict[str, Any]:
        """One string argument, the id."""
        return CHECK_TASK_SCHEMA

    def argument_error(self, args: dict[str, Any]) -> str:
        """The id must be text."""
        return "" if isinstance(args.get("task_id"), str) else "check_task needs task_id, a string"

    async def call(self, args: dict[str, Any], request: ReplyRequest) -> dict[str, Any]:
        """The task's view, if it is this conversation's."""
        task = None if request.key is None else await self.board.check(request.key, str(args["task_id"]))
        if task is None:
            return {"error": f"no task {args['task_id']!r} in this chat"}
        return task.view()


def task_tools(board: TaskBoard) -> list[SessionTool]:
    """The two task tools on one board."""
    return [CreateTaskTool(board), CheckTaskTool(board)]
