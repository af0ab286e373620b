"""Pending actions: side effects the assistant proposed, waiting for the person to confirm.

An action runs at most once: confirming flips ``pending`` to ``done`` with a conditional UPDATE
in the same transaction as the side effect, so a replayed or concurrent confirmation finds
nothing to flip (409), and a failing side effect rolls the flip back with it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from townsquare.assistant.models import AssistantConversation, AssistantStep, PendingAction
from townsquare.assistant.tools import TOOLS, ToolContext, ToolResult
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NotFound
from townsquare.social.models import Account


def propose(session: Session, ctx: ToolContext, conversation: AssistantConversation, tool_name: str,
            arguments: dict) -> PendingAction:
    """Check the arguments now and store the exact action for confirmation."""
    tool = TOOLS[tool_name]
    prepared, summary = tool.prepare(ctx, **arguments)
    action = PendingAction(conversation_id=conversation.id, account_id=ctx.account.id, tool=tool_name,
                           arguments=prepared, summary=summary)
    session.add(action)
    session.flush()
    return action


def _own_action(session: Session, account: Account, action_id: int) -> PendingAction:
    action = session.get(PendingAction, action_id)
    if action is None or action.account_id != account.id:
        raise NotFound("no such action")
    return action


def _claim(session: Session, action: PendingAction, status: str) -> None:
    claimed = session.execute(
        update(PendingAction).where(PendingAction.id == action.id, PendingAction.status == "pending")
        .values(status=status, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(action)
        raise Conflict(f"this action is already {action.status}")
    session.refresh(action)


def _record(session: Session, action: PendingAction, kind: str, payload: dict) -> None:
    last_turn = session.query(AssistantStep.turn).filter(
        AssistantStep.conversation_id == action.conversation_id).order_by(AssistantStep.id.desc()).limit(1).scalar()
    session.add(AssistantStep(conversation_id=action.conversation_id, turn=last_turn or 0, kind=kind,
                              payload=payload))


def confirm(session: Session, account: Account, action_id: int, settings=None) -> ToolResult:
    """Run the action, once, as its owner."""
    action = _own_action(session, account, action_id)
    _claim(session, action, "done")
    result = TOOLS[action.tool].run(ToolContext(session, account, settings), **action.arguments)
    action.result = {"data": result.data, "text": result.text}
    _record(session, action, "tool_result", {"action_id": str(action.id), "tool": action.tool,
                                             "confirmed": True, "text": result.text, "data": result.data})
    return result


def cancel(session: Session, account: Account, action_id: int) -> PendingAction:
    action = _own_action(session, account, action_id)
    _claim(session, action, "cancelled")
    _record(session, action, "text", {"text": f"Cancelled: {action.summary}"})
    return action
