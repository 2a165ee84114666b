"""How the `actions` responder's steps read on the timeline: append, undo, reset, push (sent or refused and
why), check, silence, done and the session's end, each a mark on the model's lane."""

from __future__ import annotations

from typing import Any

ACTION = "action"  # a step that changed the draft or waited
PUSHED = "action_push"  # a push that reached the human
REFUSED = "action_refused"  # a push refused or withheld, or a call the session could not do


def _quoted(data: dict[str, Any]) -> str:
    return f"\u201c{data.get('text', '')}\u201d"


def _memory_detail(data: dict[str, Any]) -> str:
    result = data.get("result", {})
    if "memories" in result:
        return f"found {len(result['memories'])}"
    if result.get("already_known"):
        return "already known"
    replaced = [str(m.get("fact", "")) if isinstance(m, dict) else str(m) for m in result.get("replaced", [])]
    return "replaced: " + "; ".join(replaced) if replaced else ""


def describe_action(kind: str, data: dict[str, Any]) -> tuple[str, str, str]:
    """(mark kind, label, detail) for one `action_*` trace event."""
    what = kind.removeprefix("action_")
    if what == "push":
        if data.get("sent"):
            return PUSHED, f"push {_quoted(data)}", "sent"
        return REFUSED, f"push {_quoted(data)}", f"refused: {data.get('reason', '')}"
    if what == "error":
        return REFUSED, str(data.get("tool", "?")), str(data.get("error", ""))
    if what == "append":
        return ACTION, f"append {_quoted(data)}", "truncated" if data.get("truncated") else ""
    if what == "undo":
        undone = "unsent" if data.get("undid") == "message" else "took back"
        return ACTION, "undo", f"{undone} {_quoted(data)}"
    if what == "reset":
        return ACTION, "reset", f"dropped {_quoted(data)}" if data.get("text") else ""
    if what == "check":
        waited, heard = float(data.get("waited", 0.0)), int(data.get("heard", 0))
        return ACTION, f"check {float(data.get('seconds', 0.0)):g}s", f"waited {waited:.1f}s, heard {heard}"
    if what == "plain":
        return ACTION, "plain text", f"{data.get('sent', 0)} sent, {data.get('withheld', 0)} withheld"
    if what == "end":
        return ACTION, "end", str(data.get("reason", ""))
    if what in ("remember", "recall"):  # seed 004's memory tools: the fact or query, and what came of it
        words = data.get("args", {}).get("fact" if what == "remember" else "query", "")
        return ACTION, f"{what} {_quoted({'text': words})}", _memory_detail(data)
    return ACTION, {"silence": "stay silent"}.get(what, what), ""
