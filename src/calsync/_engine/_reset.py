"""Planning a reset: Odoo's "Reset Account" choices, as a plan like any other.

Odoo's own Outlook module offers two choices when a user resets their sync:
what to do with the events already synced (leave them, delete them from the
Microsoft calendar, from Odoo, or from both) and what the next sync covers
(only events created from now on, or every existing event). calsync plans
the same thing, so a reset can be previewed — with the cancellations Outlook
will e-mail — before it runs.

By convention the left side is Odoo and the right side Microsoft, as in
``Synchronizer(odoo, outlook, store)``.
"""

from __future__ import annotations

from calsync._engine._links import Link, LinkIndex, derive_key, new_link, new_ref
from calsync._engine._plan import Operation, OperationKind, Plan, SideInput, new_operation
from calsync._model._checks import Choice
from calsync._model._window import Window
from calsync._protocol import Notification, RemoteEvent, new_delete

__all__ = ["ExistingEvents", "NextSync", "plan_reset"]


class ExistingEvents(Choice):
    """What a reset does with the events synced so far (those this account organises)."""

    LEAVE = "leave"
    DELETE_FROM_MICROSOFT = "delete_from_microsoft"
    DELETE_FROM_ODOO = "delete_from_odoo"
    DELETE_FROM_BOTH = "delete_from_both"

    @property
    def positions(self) -> tuple[int, ...]:
        """The sides to delete from: 0 is Odoo (left), 1 is Microsoft (right)."""
        return {
            ExistingEvents.LEAVE: (),
            ExistingEvents.DELETE_FROM_ODOO: (0,),
            ExistingEvents.DELETE_FROM_MICROSOFT: (1,),
            ExistingEvents.DELETE_FROM_BOTH: (0, 1),
        }[self]


class NextSync(Choice):
    """What the first sync after a reset covers."""

    NEW_ONLY = "new"
    ALL = "all"


def plan_reset(
    left: SideInput,
    right: SideInput,
    links: LinkIndex,
    *,
    existing: ExistingEvents,
    next_sync: NextSync,
    window: Window,
    pair: str,
) -> Plan:
    """Plan a reset from full listings of both sides and the pair's links.

    Every link is forgotten. The synced events of the chosen sides are deleted,
    except meetings this account only attends (read-only on either side): a
    copy of such a meeting may be shared with other users, and deleting it is
    the organiser's decision. With :attr:`NextSync.NEW_ONLY`, every event that
    remains in the window is recorded as "left out", so only events created
    after the reset will sync; with :attr:`NextSync.ALL` the next sync starts
    from nothing and matches what both sides already hold, like a first sync.
    """
    sides = (left, right)
    items = [{item.id: item for item in side.items} for side in sides]
    operations: list[Operation] = []
    new_links: dict[str, Link | None] = {}
    deleted: list[set[str]] = [set(), set()]
    for link in links:
        new_links[link.key] = None
        operations.append(
            new_operation(OperationKind.UNLINK, link.key, link.base.title, "reset: forget the link")
        )
        attended = any(ref is not None and ref.read_only for ref in (link.left, link.right))
        for position in existing.positions:
            ref = link.side(position)
            if ref is None or attended:
                continue
            current = items[position].get(ref.id) or RemoteEvent(
                ref.id, ref.content(link.base), ref.version
            )
            if current.archived:
                continue
            deleted[position].add(ref.id)
            write = new_delete(link.key, current)
            notifications: tuple[Notification, ...] = ()
            if sides[position].notifications is not None:
                notifications = sides[position].notifications(write)  # type: ignore[misc]
            operations.append(
                new_operation(
                    OperationKind.DELETE,
                    link.key,
                    current.event.title,
                    f"reset: delete the synced events from {sides[position].name}",
                    sides[position].name,
                    write,
                    notifications,
                )
            )
    if next_sync is NextSync.NEW_ONLY:
        for position, side in enumerate(sides):
            for item in sorted(side.items, key=lambda i: i.id):
                if item.id in deleted[position] or item.archived or not window.contains(item.event):
                    continue
                key = derive_key(pair, side.name, item.id, "left out by a reset")
                ref = new_ref(item.id, item.version, read_only=item.read_only)
                link = new_link(
                    key, item.event, ref if position == 0 else None, ref if position == 1 else None
                )
                new_links[key] = link
                operations.append(
                    new_operation(
                        OperationKind.SKIP,
                        key,
                        item.event.title,
                        f"reset: existing event on {side.name} left out; only new events will sync",
                    )
                )
    deletions = {side.name: len(deleted[position]) for position, side in enumerate(sides)}
    return Plan(left.name, right.name, tuple(operations), new_links, deletions=deletions)
