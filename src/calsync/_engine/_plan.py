"""Planning: from both sides' changes and the links to a list of operations.

:func:`plan` is a pure function: same inputs, same plan. It never performs
I/O and never reads the clock. Each operation says why it is there.
"""

from __future__ import annotations

import enum
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import attrs

from calsync._collector import collector_paused
from calsync._engine._links import (
    Link,
    LinkIndex,
    Links,
    SideRef,
    derive_key,
    key_deriver,
    new_link,
    new_ref,
)
from calsync._engine._merge import (
    KeepBothRequested,
    ResolvedConflict,
    SideView,
    merge,
    normal_title,
)
from calsync._engine._rules import ConflictRule, DeletionRule, LatestWins
from calsync._errors import ConfigurationError, InvalidEventError
from calsync._frozen import builder
from calsync._model._checks import Choice
from calsync._model._event import Event
from calsync._model._projection import FULL, Projection
from calsync._model._values import Response
from calsync._model._window import Window
from calsync._protocol import (
    Notification,
    RemoteEvent,
    Write,
    _to_ids,
    _to_items,
    new_create,
    new_delete,
    new_update,
)

__all__ = [
    "Deferred",
    "DeletionGuard",
    "Operation",
    "OperationKind",
    "Plan",
    "Quarantined",
    "SideInput",
    "plan",
]

#: The provisional ref of a side that a write is about to create.
PENDING = SideRef("")

#: The key of the link that starts from a new event with a uid (Outlook's iCalUId).
_uid_key = key_deriver("uid")

NotificationPolicy = Callable[[Write], "tuple[Notification, ...]"]


@attrs.frozen
class SideInput:
    """One side's input to planning.

    ``items`` are the events the side reported (changed ones, or all of the
    window when ``full``); ``removed`` the ids it reported gone (confirmed
    deleted); ``unreadable`` the ids of events that exist but cannot be read,
    which are never taken for deleted. ``complete`` False means the listing was
    cut short: calsync then concludes nothing from what is missing. ``notifications`` predicts the
    attendee e-mails a write causes on this side.
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    items: tuple[RemoteEvent, ...] = attrs.field(default=(), converter=_to_items)
    removed: frozenset[str] = attrs.field(default=frozenset(), converter=_to_ids)
    unreadable: frozenset[str] = attrs.field(default=frozenset(), converter=_to_ids)
    full: bool = False
    complete: bool = True
    projection: Projection = attrs.field(
        default=FULL, validator=attrs.validators.instance_of(Projection)
    )
    owner_email: str | None = None
    notifications: NotificationPolicy | None = None
    holds_others_meetings: bool = True


@attrs.frozen
class DeletionGuard:
    """Stop a run that would delete too much on one side.

    A side's deletions are blocked when they exceed ``min_count`` *and*
    ``max_fraction`` of the pair's links. The caller may allow them explicitly.
    """

    max_fraction: float = attrs.field(default=0.3, validator=lambda _, __, v: _fraction(v))
    min_count: int = attrs.field(default=5, validator=lambda _, __, v: _count(v))

    def blocks(self, deletions: int, links: int) -> bool:
        """Whether that many deletions out of that many links is too many."""
        return deletions > self.min_count and deletions > self.max_fraction * max(links, 1)


def _fraction(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"max_fraction must be a number, not {type(value).__name__}")
    if not value >= 0:  # NaN too
        raise ConfigurationError(f"max_fraction must be 0 or more, not {value!r}")


def _count(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"min_count must be an int, not {type(value).__name__}")
    if value < 0:
        raise ConfigurationError(f"min_count must be 0 or more, not {value!r}")


class OperationKind(Choice):
    """What an operation does."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LINK = "link"
    UNLINK = "unlink"
    SKIP = "skip"


# The kinds the planner emits once per event, looked up once: on Python 3.11, each
# ``OperationKind.CREATE`` goes through the enum metaclass's ``__getattr__`` hook.
_CREATE, _LINK, _DELETE = OperationKind.CREATE, OperationKind.LINK, OperationKind.DELETE


@attrs.frozen
class Operation:
    """One step of a plan: a write on a side, or a change to the links only.

    ``key`` is the link it belongs to, ``side`` the side written (None for
    link bookkeeping), ``reason`` why calsync does it, ``notifications`` the
    attendee e-mails the provider will send because of it.
    """

    kind: OperationKind
    key: str
    title: str
    reason: str
    side: str | None = None
    write: Write | None = None
    notifications: tuple[Notification, ...] = ()

    def __str__(self) -> str:
        where = f" on {self.side}" if self.side else ""
        return f"{self.kind.value}{where}: {self.title!r} ({self.reason})"


#: ``Operation(...)`` the engine's way: the same objects, built faster.
new_operation = builder(Operation)


@attrs.frozen
class Quarantined:
    """An event left out of this run because of an error; it is retried next run."""

    side: str
    id: str | None
    title: str
    error: Exception


@attrs.frozen
class Deferred:
    """A new event not created this run because the target's listing was incomplete.

    It may already exist there unseen; creating it could duplicate it. The
    synchronizer keeps the cursors where they were, so it comes back next run.
    """

    side: str
    id: str
    title: str


@attrs.frozen
class Plan:
    """What a sync will do, and why.

    ``links`` holds, per touched link key, the link to store once the key's
    writes succeed (None: forget the link). A side written by an operation
    holds a provisional :class:`SideRef` that the write's result replaces.
    """

    left: str
    right: str
    operations: tuple[Operation, ...]
    links: Mapping[str, Link | None]
    conflicts: tuple[tuple[str, ResolvedConflict], ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    deferred: tuple[Deferred, ...] = ()
    deletions: Mapping[str, int] = attrs.field(factory=dict)
    blocked: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def writes(self) -> tuple[Operation, ...]:
        """The operations that write to a provider."""
        return tuple(op for op in self.operations if op.write is not None)

    @property
    def notifications(self) -> tuple[Notification, ...]:
        """Every attendee e-mail the plan will cause, in operation order."""
        return tuple(n for op in self.operations for n in op.notifications)

    def count(self, kind: OperationKind, side: str | None = None) -> int:
        """How many operations of that kind (on that side)."""
        return sum(
            1 for op in self.operations if op.kind is kind and (side is None or op.side == side)
        )

    def __bool__(self) -> bool:
        return bool(self.operations)


class _Status(enum.Enum):
    SAME = "same"
    CHANGED = "changed"
    DELETED = "deleted"
    ARCHIVED = "archived"


@attrs.frozen
class _State:
    status: _Status
    item: RemoteEvent | None = None


@attrs.define
class _Planner:
    sides: tuple[SideInput, SideInput]
    links: LinkIndex
    window: Window
    rule: ConflictRule
    deletion: DeletionRule
    guard: DeletionGuard
    pair: str
    operations: list[Operation] = attrs.Factory(list)
    new_links: dict[str, Link | None] = attrs.Factory(dict)
    conflicts: list[tuple[str, ResolvedConflict]] = attrs.Factory(list)
    quarantined: list[Quarantined] = attrs.Factory(list)
    deferred: list[Deferred] = attrs.Factory(list)
    unknown: list[str] = attrs.Factory(list)
    #: new events that carry a calsync key: what an interrupted run created, by key
    orphans: tuple[dict[str, RemoteEvent], dict[str, RemoteEvent]] = attrs.Factory(lambda: ({}, {}))
    adopted: set[tuple[int, str]] = attrs.Factory(set)
    #: (side, key) of the creates an interrupted run journaled and never committed
    pending: frozenset[tuple[str, str]] = frozenset()
    #: deletions planned, per side name
    deletions: dict[str, int] = attrs.Factory(
        lambda self: {side.name: 0 for side in self.sides}, takes_self=True
    )
    #: per side, the key of the link that starts from a new event there, from its id
    origin_keys: tuple[Callable[[str], str], ...] = attrs.Factory(
        lambda self: tuple(key_deriver(self.pair, side.name) for side in self.sides),
        takes_self=True,
    )

    # -- entry -----------------------------------------------------------------------------

    def run(self) -> Plan:
        touched: dict[str, dict[int, _State]] = defaultdict(dict)
        new: tuple[list[RemoteEvent], list[RemoteEvent]] = ([], [])
        for position, side in enumerate(self.sides):
            self._classify(position, side, touched, new[position])
            self.orphans[position].update((item.key, item) for item in new[position] if item.key)
        for key in sorted(touched):
            self._reconcile(key, touched[key])
        self._place_new(new)
        deletions = self.deletions
        blocked = tuple(
            name for name, count in deletions.items() if self.guard.blocks(count, len(self.links))
        )
        return Plan(
            left=self.sides[0].name,
            right=self.sides[1].name,
            operations=tuple(self.operations),
            links=self.new_links,
            conflicts=tuple(self.conflicts),
            quarantined=tuple(self.quarantined),
            deferred=tuple(self.deferred),
            deletions=deletions,
            blocked=blocked,
            unknown=tuple(self.unknown),
        )

    # -- step 1: what happened on each side -----------------------------------------------

    def _classify(
        self,
        position: int,
        side: SideInput,
        touched: dict[str, dict[int, _State]],
        new: list[RemoteEvent],
    ) -> None:
        listed: set[str] = set()
        by_id = self.links.by_id
        for item in sorted(side.items, key=_by_id):
            listed.add(item.id)
            link = by_id(position, item.id)
            if link is None:
                if not item.archived:
                    new.append(item)
                continue
            ref = link.side(position)
            assert ref is not None
            if item.archived:
                touched[link.key][position] = _State(_Status.ARCHIVED, item)
            elif item.version is not None and item.version == ref.version:
                continue
            else:
                same = item.event == ref.content(link.base)
                touched[link.key][position] = _State(
                    _Status.SAME if same else _Status.CHANGED, item
                )
        for event_id in sorted(side.removed - listed):
            link = self.links.by_id(position, event_id)
            if link is not None:
                touched[link.key][position] = _State(_Status.DELETED)
        if side.full and side.complete:
            self._absent(position, side, listed, touched)
        elif not side.complete:
            self.unknown.append(side.name)

    def _absent(
        self,
        position: int,
        side: SideInput,
        listed: set[str],
        touched: dict[str, dict[int, _State]],
    ) -> None:
        """Linked events missing from a full listing are deleted, unless the listing is suspect."""
        missing = [
            i
            for i in self.links.ids(position)
            if i not in listed and i not in side.removed and i not in side.unreadable
        ]
        if not missing:
            return
        if not listed and len(self.links):
            self.unknown.append(side.name)
            return
        for event_id in sorted(missing):
            link = self.links.by_id(position, event_id)
            assert link is not None
            if _in_window(link.base, self.window):
                touched[link.key][position] = _State(_Status.DELETED)

    # -- step 2: linked events ------------------------------------------------------------

    def _reconcile(self, key: str, states: dict[int, _State]) -> None:
        link = self.links.get(key)
        assert link is not None
        left, right = (states.get(p, _State(_Status.SAME)) for p in (0, 1))
        if link.left is None or link.right is None:
            self._reconcile_half(link, left, right)
            return
        gone = [s.status in (_Status.DELETED, _Status.ARCHIVED) for s in (left, right)]
        if all(gone):
            self._emit(OperationKind.UNLINK, link, "deleted on both sides")
            self.new_links[key] = None
        elif any(gone):
            position = 0 if gone[0] else 1
            self._deleted_on_one_side(link, position, (left, right))
        else:
            self._merge_linked(link, (left, right))

    def _reconcile_half(self, link: Link, left: _State, right: _State) -> None:
        """A link with one side left out on purpose: follow the other side, write nothing."""
        position = 0 if link.left is not None else 1
        state = (left, right)[position]
        if state.status in (_Status.DELETED, _Status.ARCHIVED):
            self._emit(OperationKind.UNLINK, link, f"deleted on {self.sides[position].name}")
            self.new_links[link.key] = None
        elif state.item is not None:
            ref = link.side(position)
            assert ref is not None
            self.new_links[link.key] = attrs.evolve(
                link.with_side(position, attrs.evolve(ref, version=state.item.version, seen=None)),
                base=state.item.event,
            )

    def _deleted_on_one_side(
        self, link: Link, position: int, states: tuple[_State, _State]
    ) -> None:
        other = 1 - position
        deleter = self.sides[position]
        ref = link.side(other)
        assert ref is not None
        verb = "archived" if states[position].status is _Status.ARCHIVED else "deleted"
        other_state = states[other]
        if other_state.status is _Status.CHANGED and self.deletion is DeletionRule.EDIT_WINS:
            assert other_state.item is not None
            self._recreate(link, position, other_state.item, verb)
            return
        current = other_state.item or RemoteEvent(
            ref.id, ref.content(link.base), ref.version, read_only=ref.read_only
        )
        self.new_links[link.key] = None
        if current.read_only:
            self._decline_instead(link, other, current, f"{verb} on {deleter.name}")
            return
        self._emit(
            OperationKind.DELETE,
            link,
            f"{verb} on {deleter.name}",
            side=other,
            write=new_delete(link.key, current),
        )

    def _decline_instead(self, link: Link, position: int, current: RemoteEvent, why: str) -> None:
        """This account only attends the event there: decline it rather than delete it for all."""
        side = self.sides[position]
        declined = _with_response(current.event, side.owner_email, Response.DECLINED)
        kept = link.with_side(1 - position, None)
        self.new_links[link.key] = attrs.evolve(kept, base=current.event)
        if declined is None or declined == current.event:
            self._emit(
                OperationKind.SKIP, link, f"{why}; this account does not organise it on {side.name}"
            )
            return
        self._emit(
            OperationKind.UPDATE,
            link,
            f"{why}; declined, since this account only attends it on {side.name}",
            side=position,
            write=new_update(link.key, declined, current),
        )

    def _recreate(self, link: Link, position: int, survivor: RemoteEvent, verb: str) -> None:
        """Edit beats delete: put the edited event back where it was deleted."""
        other = 1 - position
        # Not the survivor's version: a run stopped after this create, then an edit of the
        # survivor, must find the copy it made under the same key (no second copy).
        key = derive_key(self.pair, "recreate", link.key)
        self.new_links[link.key] = None
        reason = (
            f"{verb} on {self.sides[position].name} but edited on {self.sides[other].name}: "
            "the edit wins"
        )
        self._create(key, other, survivor, reason, uid=link.uid)

    def _merge_linked(self, link: Link, states: tuple[_State, _State]) -> None:
        views: list[SideView] = []
        currents: list[RemoteEvent] = []
        for position, state in enumerate(states):
            ref = link.side(position)
            assert ref is not None
            seen = ref.content(link.base)
            item = state.item or RemoteEvent(ref.id, seen, ref.version, read_only=ref.read_only)
            currents.append(item)
            views.append(
                SideView(
                    self.sides[position].name,
                    item.event,
                    seen,
                    self.sides[position].projection,
                    item.event.modified,
                )
            )
        if all(state.status is _Status.SAME for state in states):
            self.new_links[link.key] = self._settled(link, link.base, currents, written=())
            return
        changed = [self.sides[p].name for p, s in enumerate(states) if s.status is _Status.CHANGED]
        reason = f"changed on {' and '.join(changed)}"
        self._merge_and_write(link, link.base, views, currents, reason)

    def _merge_and_write(
        self,
        link: Link,
        base: Event | None,
        views: list[SideView],
        currents: list[RemoteEvent],
        reason: str,
    ) -> None:
        try:
            outcome = merge(base, views[0], views[1], self.rule, link_key=link.key)
        except KeepBothRequested as request:
            self._keep_both(link, currents, str(request))
            return
        except InvalidEventError as error:
            self.quarantined.append(
                Quarantined(self.sides[0].name, currents[0].id, currents[0].event.title, error)
            )
            return
        self.conflicts.extend((link.key, c) for c in outcome.conflicts)
        if outcome.conflicts:
            fields = ", ".join(sorted({c.field for c in outcome.conflicts}))
            reason += f"; conflict on {fields} resolved for " + ", ".join(
                sorted({c.winner for c in outcome.conflicts})
            )
        merged = outcome.event
        written: list[int] = []
        for position, current in enumerate(currents):
            target = self._target_content(position, current, merged, first=base is None)
            if target is None:
                continue
            written.append(position)
            self._emit(
                OperationKind.UPDATE,
                link,
                reason,
                side=position,
                write=new_update(link.key, target, current),
            )
        if not written and base is None:
            self._emit(OperationKind.LINK, link, reason)
        self.new_links[link.key] = self._settled(link, merged, currents, written=tuple(written))

    def _target_content(
        self, position: int, current: RemoteEvent, merged: Event, *, first: bool = False
    ) -> Event | None:
        """What to write to a side so it holds ``merged``; None when it already does.

        On a first match, a title that differs only in case or spacing is left as
        each side has it: rewriting it would be a write for nothing.
        """
        side = self.sides[position]
        if current.read_only:
            answer = _response_of(merged, side.owner_email)
            if answer is None or answer == _response_of(current.event, side.owner_email):
                return None
            return _with_response(current.event, side.owner_email, answer)
        wanted, held = side.projection(merged), side.projection(current.event)
        if first and signature(wanted)[0] == signature(held)[0]:
            wanted = attrs.evolve(wanted, title=held.title)
        if wanted == held:
            return None
        return merged

    def _settled(
        self, link: Link, base: Event, currents: list[RemoteEvent], written: tuple[int, ...]
    ) -> Link:
        """The link after this run: written sides get provisional refs the results replace."""
        refs = [
            _ref(current, base, written=position in written)
            for position, current in enumerate(currents)
        ]
        return new_link(link.key, base, refs[0], refs[1], link.uid, link.note)

    def _keep_both(self, link: Link, currents: list[RemoteEvent], field: str) -> None:
        """The rule asked to keep both versions: each side gets a copy of the other's event."""
        self.new_links[link.key] = None
        self._emit(OperationKind.UNLINK, link, f"conflict on {field}: keeping both versions")
        for position, current in enumerate(currents):
            self._create_from(
                position, current, f"copy kept after a conflict on {field}", copy_of=link.key
            )

    # -- step 3: new events ------------------------------------------------------------------

    def _place_new(self, new: tuple[list[RemoteEvent], list[RemoteEvent]]) -> None:
        self._adopt_new_orphans(new)
        fresh = self._unadopted(new)
        candidates = _Matcher(fresh[1])
        reasons = [f"new on {side.name}" for side in self.sides]
        for item in fresh[0]:
            match = candidates.take(item)
            if match is not None:
                self._link_match(item, *match)
            elif self._abandoned(0, item):
                self._remove_abandoned(0, item)
            elif _in_window(item.event, self.window):
                self._create_from(0, item, reasons[0])
        for item in candidates.remaining():
            if self._abandoned(1, item):
                self._remove_abandoned(1, item)
            elif _in_window(item.event, self.window):
                self._create_from(1, item, reasons[1])

    def _unadopted(
        self, new: tuple[list[RemoteEvent], list[RemoteEvent]]
    ) -> tuple[list[RemoteEvent], list[RemoteEvent]]:
        """The new events whose copy no interrupted run made (usually all of them)."""
        if not self.adopted:
            return new
        left, right = ([i for i in new[p] if (p, i.id) not in self.adopted] for p in (0, 1))
        return left, right

    def _abandoned(self, position: int, item: RemoteEvent) -> bool:
        """A copy an interrupted run made whose original is gone.

        The event carries the key of a create the journal holds as pending, and
        nothing on the other side claims it. The cursors did not move past the
        interrupted run, so an original that still existed would be listed
        again, as new, and would have claimed its copy: it was deleted since.
        A copy of it made back on that side would bring the deleted event back.
        """
        return (
            item.key is not None
            and (self.sides[position].name, item.key) in self.pending
            and self.sides[1 - position].complete
        )

    def _remove_abandoned(self, position: int, item: RemoteEvent) -> None:
        """Delete the copy of a deleted event (an event this account only attends stays)."""
        assert item.key is not None
        link = _link(item.key, item.event, new_ref(item.id, item.version), position, None, uid=None)
        self.new_links[item.key] = None
        reason = (
            f"created on {self.sides[position].name} by an interrupted run; "
            f"deleted on {self.sides[1 - position].name} since"
        )
        if item.read_only:
            self._emit(OperationKind.SKIP, link, f"{reason}; this account does not organise it")
            return
        self._emit(
            OperationKind.DELETE, link, reason, side=position, write=new_delete(item.key, item)
        )

    def _adopt_new_orphans(self, new: tuple[list[RemoteEvent], list[RemoteEvent]]) -> None:
        """A new event whose copy an interrupted run already made on the other side: link them.

        The copy carries the key of the create that made it, derived from the
        original's id, so the two are found again whatever happened in between.
        """
        for target in (0, 1):
            if not self.orphans[target]:
                continue
            source = 1 - target
            for item in new[source]:
                if (source, item.id) in self.adopted:
                    continue
                key = self._origin_key(source, item)
                orphan = self._adopt(target, key)
                if orphan is not None:
                    self.adopted.add((source, item.id))
                    reason = f"new on {self.sides[source].name}; created by an interrupted run"
                    self._settle_creation(key, source, item, orphan, item.event, reason)

    def _adopt(self, position: int, key: str) -> RemoteEvent | None:
        """The event an interrupted run created on that side under ``key``, claimed once."""
        orphan = self.orphans[position].pop(key, None)
        if orphan is not None:
            self.adopted.add((position, orphan.id))
        return orphan

    def _origin_key(self, position: int, item: RemoteEvent) -> str:
        """The key of the link (and of the create) that starts from this new event.

        An event with a uid (Outlook's iCalUId, the same in every attendee's
        mailbox) gets a key of its uid alone: the organiser's and the attendees'
        syncs then create one event in a shared calendar (Odoo), not one each.
        """
        if item.uid:
            return _uid_key(item.uid)
        return self.origin_keys[position](item.id)

    def _link_match(self, left: RemoteEvent, right: RemoteEvent, how: str) -> None:
        key = self._origin_key(0, left)
        reason = f"already on both sides ({how})"
        uid = left.uid or right.uid
        settled = self._same_content(left, right)
        if settled is not None:
            link = new_link(key, settled, _ref(left, settled), _ref(right, settled), uid)
            self.new_links[key] = link
            self._emit(_LINK, link, reason)
            return
        refs = [new_ref(i.id, i.version, read_only=i.read_only) for i in (left, right)]
        link = new_link(key, left.event, refs[0], refs[1], uid=uid)
        views = [
            SideView(side.name, item.event, None, side.projection, item.event.modified)
            for side, item in zip(self.sides, (left, right), strict=True)
        ]
        self._merge_and_write(link, None, views, [left, right], reason)

    def _same_content(self, left: RemoteEvent, right: RemoteEvent) -> Event | None:
        """The shared content when one side holds just what it can of the other's event.

        The common case of a first sync, decided without a field-by-field merge.
        """
        if _same(left.event, right.event) or self.sides[1].projection(left.event) == right.event:
            return left.event
        if self.sides[0].projection(right.event) == left.event:
            return right.event
        return None

    def _create_from(
        self, position: int, item: RemoteEvent, reason: str, *, copy_of: str | None = None
    ) -> None:
        """Create a new event of one side on the other (or record why not).

        ``copy_of``: the key of the link this copy leaves (a conflict kept both
        versions). The copy's key derives from it, not from the item's version,
        so that the copy a stopped run made is found again after an edit.
        """
        if copy_of is not None:
            key = derive_key(self.pair, self.sides[position].name, item.id, "copy", copy_of)
        else:
            key = self._origin_key(position, item)
        self._create(key, position, item, reason, uid=item.uid)

    def _organised_elsewhere(self, source: int, item: RemoteEvent) -> bool:
        """This account does not organise the event: read-only, or someone else organises it."""
        organizer = item.event.organizer
        owner = self.sides[source].owner_email
        return item.read_only or (
            organizer is not None and owner is not None and organizer.email != owner.lower()
        )

    def _create(
        self, key: str, source: int, item: RemoteEvent, reason: str, *, uid: str | None
    ) -> None:
        """Create ``item`` on the other side under ``key``, unless an interrupted run did.

        Never on a side that cannot hold others' meetings when this account does
        not organise it: there it would become this account's own meeting, and
        its provider would invite every attendee, the organiser included.
        """
        target = 1 - source
        if not self.sides[target].holds_others_meetings and self._organised_elsewhere(source, item):
            origin = new_ref(item.id, item.version, read_only=item.read_only)
            link = _link(key, item.event, origin, source, None, uid=item.uid)
            self.new_links[key] = link
            self._emit(
                OperationKind.SKIP,
                link,
                f"{reason}, but this account does not organise it: on "
                f"{self.sides[target].name} it would become this account's own meeting",
            )
            return
        orphan = self._adopt(target, key) if self.orphans[target] else None
        if orphan is not None:
            self._settle_creation(
                key, source, item, orphan, item.event, f"{reason}; created by an interrupted run"
            )
            return
        if not self.sides[target].complete:
            self.deferred.append(Deferred(self.sides[source].name, item.id, item.event.title))
            return
        origin = new_ref(item.id, item.version, None, item.read_only)
        link = _link(key, item.event, origin, source, PENDING, uid=uid)
        self.new_links[key] = link
        self._emit(_CREATE, link, reason, side=target, write=new_create(key, item.event))

    def _settle_creation(
        self,
        key: str,
        source: int,
        item: RemoteEvent,
        orphan: RemoteEvent,
        content: Event,
        reason: str,
    ) -> None:
        """Link a source event to the copy an interrupted run made; update the copy if needed."""
        target = 1 - source
        wanted = self._target_content(target, orphan, content)
        currents = [item, orphan] if source == 0 else [orphan, item]
        written = (target,) if wanted is not None else ()
        link = self._settled(
            new_link(key, content, None, None, uid=item.uid), content, currents, written
        )
        self.new_links[key] = link
        if wanted is None:
            self._emit(OperationKind.LINK, link, reason)
        else:
            self._emit(
                OperationKind.UPDATE,
                link,
                reason,
                side=target,
                write=new_update(key, wanted, orphan),
            )

    # -- output ------------------------------------------------------------------------------

    def _emit(
        self,
        kind: OperationKind,
        link: Link,
        reason: str,
        *,
        side: int | None = None,
        write: Write | None = None,
    ) -> None:
        notifications: tuple[Notification, ...] = ()
        side_name = None
        if side is not None:
            side_input = self.sides[side]
            side_name = side_input.name
            if write is not None and side_input.notifications is not None:
                notifications = side_input.notifications(write)
            if kind is _DELETE:
                self.deletions[side_name] += 1
        content = getattr(write, "event", link.base)
        self.operations.append(
            new_operation(kind, link.key, content.title, reason, side_name, write, notifications)
        )


def _ref(item: RemoteEvent, base: Event, *, written: bool = False) -> SideRef:
    """A side's ref after this run; a side about to be written gets its version from the write."""
    return new_ref(
        item.id,
        None if written else item.version,
        None if _same(item.event, base) else item.event,
        item.read_only,
    )


def _link(
    key: str,
    base: Event,
    origin: SideRef,
    position: int,
    other: SideRef | None,
    *,
    uid: str | None,
) -> Link:
    """A link whose ``position`` side is ``origin`` and whose other side is ``other``."""
    if position == 0:
        return new_link(key, base, origin, other, uid)
    return new_link(key, base, other, origin, uid)


class _Matcher:
    """Finds, among one side's new events, the one a new event of the other side already is.

    By uid first, else by :func:`signature`. Signatures are looked up by title
    and start day, then start and end compared: hashing an aware datetime calls
    its ``utcoffset()`` (3,400 instructions, most of a signature's cost), where
    comparing two UTC instants, as every event holds, takes a few.
    """

    def __init__(self, items: Iterable[RemoteEvent]) -> None:
        self._items = list(items)
        self._taken: set[int] = set()
        self._by_uid: dict[str, list[int]] = defaultdict(list)
        self._by_title_day: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index, item in enumerate(self._items):
            if item.uid:
                self._by_uid[item.uid].append(index)
            self._by_title_day[_title_day(item.event)].append(index)

    def take(self, item: RemoteEvent) -> tuple[RemoteEvent, str] | None:
        """The unmatched candidate that is the same event as ``item`` (consumed), and why."""
        if not self._items:
            return None
        event = item.event
        if item.uid and self._by_uid:
            candidate = self._claim(self._by_uid.get(item.uid, ()), event, same_time=False)
            if candidate is not None:
                return candidate, _BY_UID
        indexes = self._by_title_day.get(_title_day(event), ())
        candidate = self._claim(indexes, event, same_time=True)
        return None if candidate is None else (candidate, _BY_SIGNATURE)

    def _claim(
        self, indexes: Iterable[int], event: Event, *, same_time: bool
    ) -> RemoteEvent | None:
        """The first untaken candidate among ``indexes`` with the same organizer (consumed).

        ``same_time``: it must also have the same start and end.
        """
        for index in indexes:
            candidate = self._items[index]
            other = candidate.event
            if index in self._taken or not _same_organizer(event, other):
                continue
            if same_time and (other.start != event.start or other.end != event.end):
                continue
            self._taken.add(index)
            return candidate
        return None

    def remaining(self) -> list[RemoteEvent]:
        """The candidates nobody matched."""
        return [item for index, item in enumerate(self._items) if index not in self._taken]


def _title_day(event: Event) -> tuple[str, int]:
    """Where to look for an event's signature: its normalised title and (UTC) start day."""
    return normal_title(event.title), event.start.toordinal()


_by_id = operator.attrgetter("id")
_BY_UID = "matched by uid"
_BY_SIGNATURE = "matched by title, start and end"


def signature(event: Event) -> tuple[object, ...]:
    """The first-sync match key: normalised title, start and end."""
    return (normal_title(event.title), event.start, event.end)


def _same_organizer(a: Event, b: Event) -> bool:
    if a.organizer is None or b.organizer is None:
        return True
    return a.organizer.email == b.organizer.email


def _same(a: Event, b: Event) -> bool:
    """``a == b``, at once when they are one object (a link's base is often a side's event)."""
    return a is b or a == b


def _in_window(event: Event, window: Window) -> bool:
    if event.recurrence is None:
        start, end = event.start, event.end
        if not isinstance(start, datetime):
            start, end = event.span()
        return (
            end > window.start and start < window.end
            if end > start
            else window.start <= start < window.end
        )
    return window.contains(event)


def _response_of(event: Event, email: str | None) -> Response | None:
    if email is None:
        return None
    for attendee in event.attendees:
        if attendee.email == email.lower():
            return attendee.response
    return None


def _with_response(event: Event, email: str | None, response: Response) -> Event | None:
    if email is None or _response_of(event, email) is None:
        return None
    attendees = tuple(
        attrs.evolve(a, response=response) if a.email == email.lower() else a
        for a in event.attendees
    )
    return attrs.evolve(event, attendees=attendees)


def plan(
    left: SideInput,
    right: SideInput,
    links: LinkIndex | Iterable[Link],
    *,
    window: Window,
    pair: str = "default",
    rule: ConflictRule | None = None,
    deletion: DeletionRule = DeletionRule.EDIT_WINS,
    guard: DeletionGuard | None = None,
    pending: Iterable[tuple[str, str]] = (),
) -> Plan:
    """Plan a sync of two sides.

    ``links`` are the pair's links from the last run; ``window`` bounds what
    is in scope (events outside it are neither created nor deleted); ``rule``
    decides conflicts (default :class:`LatestWins`); ``deletion`` decides
    delete-versus-edit; ``guard`` marks the plan ``blocked`` when a side would
    lose too many events; ``pending`` holds the (side, key) of creates an
    interrupted run journaled but never committed: a copy such a run made of
    an event deleted since is deleted, not copied back. Same inputs, same plan.

    Python's cyclic garbage collector is paused while planning (and turned back
    on after, if it was on): a large plan's objects would otherwise set off
    repeated collections of everything the process holds, nearly doubling its
    CPU time at 100,000 events per side.
    """
    for side in (left, right):
        if not isinstance(side, SideInput):
            raise TypeError(f"plan() takes two SideInputs, not {type(side).__name__}")
    if left.name == right.name:
        raise ConfigurationError(f"both sides are named {left.name!r}: give them distinct names")
    index: LinkIndex = links if hasattr(links, "by_id") else Links(links)  # type: ignore[assignment]
    planner = _Planner(
        sides=(left, right),
        links=index,
        window=window,
        rule=rule or LatestWins(),
        deletion=deletion,
        guard=guard or DeletionGuard(),
        pair=pair,
        pending=frozenset(pending),
    )
    with collector_paused():
        return planner.run()
