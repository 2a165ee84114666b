"""Finished background tasks waiting for their conversation: relayed into a listening session, or told in the
next session's note, each exactly once."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from bot.core.events import TaskResult
from bot.core.ports import TaskFinished

if TYPE_CHECKING:
    from bot.core.background import TaskBoard
    from bot.core.reply import ReplyJob

__all__ = ["TaskResult", "WaitingResults", "result_note"]
TOLD_KEPT = 256  # task ids a conversation remembers having told, so a re-sent result is not told twice
RESULT_NOTE = (
    "Something you went off to do in the background is ready ({kind}, task {task_id}): {result}\n"
    "Bring it into the conversation naturally and once, the way a person comes back to it (\"ok so about "
    "your question…\"), even if you were just talking about something else. Do not mention tasks or tools."
)


def result_note(result: TaskResult) -> str:
    """What a reply session's prompt is told of one finished task."""
    return RESULT_NOTE.format(kind=result.task_kind, task_id=result.task_id, result=result.result)


class WaitingResults:
    """The results a conversation has not told yet; its actor (their only writer) hands them to sessions."""

    def __init__(self, board: TaskBoard | None) -> None:
        self._board = board
        self._waiting: list[TaskResult] = []
        self._told: deque[str] | None = None  # made on the first result: most conversations never get one

    @property
    def waiting(self) -> bool:
        """True while a result waits for a session."""
        return bool(self._waiting)

    @property
    def is_group(self) -> bool:
        """Whether a waiting result belongs to a group chat (a session started for it is a group's)."""
        return any(r.is_group for r in self._waiting)

    def arrived(self, result: TaskResult) -> None:
        """A task finished; a result already waiting or told (a re-send after a restart) is ignored."""
        if result.task_id in (self._told or ()) or any(r.task_id == result.task_id for r in self._waiting):
            return
        self._waiting.append(result)

    def relay(self, job: ReplyJob) -> None:
        """A running session that listens hears the waiting results now (a non-listening one: they wait)."""
        if not self._waiting or not job.hearing:
            return
        for result in self._take():
            job.hear(TaskFinished(result.task_id, result.task_kind, result.result, result.at or 0.0))

    def with_note(self, note: str) -> str:
        """`note` for a session about to start, with every waiting result added (now told)."""
        told = [result_note(r) for r in self._take()]
        return "\n\n".join(part for part in (note, *told) if part)

    def _take(self) -> list[TaskResult]:
        taken, self._waiting = self._waiting, []
        if not taken:
            return taken
        if self._told is None:
            self._told = deque(maxlen=TOLD_KEPT)
        self._told.extend(result.task_id for result in taken)
        if self._board is not None:
            for result in taken:
                self._board.handed(result)
        return taken
