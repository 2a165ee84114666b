"""Background tasks on the timeline: a bar from when a task was started to when it finished (or until now)."""

from __future__ import annotations

from bot.core.ports import TraceEvent

TASK_LANE = ("tasks", "background tasks")


def task_bar(events: list[TraceEvent], index: int, last: float) -> tuple[float, str, str, bool]:
    """(end, label, detail, still open) of the task started at `events[index]` (a "task_start"): it ends at its
    "task_done", or is still open at `last`."""
    start = events[index]
    task_id = start.data.get("task_id")
    done = next((e for e in events[index + 1:] if e.kind == "task_done" and e.data.get("task_id") == task_id), None)
    label = f"{start.data.get('task', 'task')} {task_id}"
    due = start.data.get("due")
    detail = f"due at +{float(due) - start.at:.0f}s" if due is not None else "started now"
    if done is not None:
        detail += f" → {done.data.get('status', 'done')}: {str(done.data.get('result', ''))[:80]}"
    return (last if done is None else done.at), label, detail, done is None
