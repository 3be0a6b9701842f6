"""Each channel walks through all tips in its own shuffled order, no repeat until all are shown.

The order is stored with the channel (``TipOrderState``); ``make_picker`` returns the function
the store calls inside the claim transaction to take the next tip and advance. Tips added to
the catalog join the rest of the current walk; removed tips are passed over.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .records import TipOrderState


def shuffled(tip_ids: Sequence[str], *, team: str, channel: str, round_: int) -> list[str]:
    """A channel's order for one round: shuffled, reproducible from (team, channel, round)."""
    order = list(tip_ids)
    random.Random(f"{team}/{channel}/{round_}").shuffle(order)
    return order


def next_tip(
    state: TipOrderState | None, tip_ids: Sequence[str], *, team: str, channel: str
) -> tuple[str, TipOrderState]:
    """The tip to show next and the state after showing it."""
    if not tip_ids:
        raise ValueError("there are no tips to choose from")
    known = set(tip_ids)
    if state is None:
        state = TipOrderState(
            round=1,
            order=tuple(shuffled(tip_ids, team=team, channel=channel, round_=1)),
            position=0,
        )
    shown = list(state.order[: state.position])
    remaining = [t for t in state.order[state.position :] if t in known]
    listed = set(state.order)
    added = [t for t in tip_ids if t not in listed]
    if added:
        remaining += shuffled(added, team=team, channel=channel, round_=state.round)
    if not remaining:
        round_ = state.round + 1
        remaining = shuffled(tip_ids, team=team, channel=channel, round_=round_)
        if len(remaining) > 1 and shown and remaining[0] == shown[-1]:
            remaining.append(remaining.pop(0))  # never the same tip two days running
        return remaining[0], TipOrderState(round=round_, order=tuple(remaining), position=1)
    order = tuple(shown + remaining)
    return remaining[0], TipOrderState(round=state.round, order=order, position=len(shown) + 1)


def make_picker(tip_ids: Sequence[str], *, team: str, channel: str):
    """A ``TipPicker`` for ``Store.claim_post``."""
    ids = tuple(tip_ids)

    def pick(state: TipOrderState | None) -> tuple[str, TipOrderState]:
        return next_tip(state, ids, team=team, channel=channel)

    return pick
