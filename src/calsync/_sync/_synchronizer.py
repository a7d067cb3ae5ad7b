"""The Synchronizer: lock, pull, plan, guard, apply, commit.

One run of a pair:

1. lock the pair in the store, so two workers never sync it at once;
2. pull both sides concurrently, and confirm by id every event that looks
   deleted (a listing that says "gone" may only mean "out of view");
3. plan (pure: :func:`calsync.engine.plan`); :meth:`Synchronizer.preview` stops here;
4. guard: mass deletion and attendee e-mails above their limits stop the run
   before any write;
5. apply: journal each intent, then write; each side batches as its provider allows;
6. commit links and cursors in one transaction, only for writes that succeeded.
   Events whose writes failed are held and retried on the next run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs

from calsync import _arguments as checks
from calsync._blocking import in_running_loop, run_blocking
from calsync._closing import ClosesOnExit
from calsync._engine._links import Link, SideRef, derive_key
from calsync._engine._plan import DeletionGuard, Operation, Plan, SideInput, plan
from calsync._engine._reset import ExistingEvents, NextSync, plan_reset
from calsync._engine._rules import ConflictRule, DeletionRule
from calsync._errors import (
    AuthenticationError,
    ConfigurationError,
    MassDeletionError,
    NotificationLimitError,
    ProviderError,
    SideUnavailableError,
)
from calsync._model._window import Window
from calsync._protocol import CalendarAdapter, Listing, RemoteEvent, WriteResult
from calsync._sync._report import Outcome, Progress, SyncReport, describe
from calsync._sync._status import record_run
from calsync._tasks import gather
from calsync.stores._base import Held, Intent, LinkIndex, MappingStore, PairState

__all__ = ["Synchronizer"]

logger = logging.getLogger("calsync.sync")
T = TypeVar("T")

_WINDOW = "#window"


@attrs.define
class _Pulled:
    """One side's listing after deletions were confirmed."""

    items: dict[str, RemoteEvent]
    removed: set[str]
    listing: Listing
    unreadable: dict[str, str] = attrs.Factory(dict)


class Synchronizer(ClosesOnExit):
    """Two-way sync of one pair of calendars.

    ``left`` and ``right`` are adapters (their ``name`` labels them: "odoo",
    "outlook"; by convention Odoo is the left side); ``store`` keeps links and
    cursors between runs. ``pair`` names the pair in the store (default: made
    from both adapters' names and accounts). ``window`` fixes the span kept in
    sync (default: one year back, two ahead, re-anchored every
    ``window_refresh``); a given window is used as is, and a run with another
    window than the last one lists both sides in full (an adapter whose cursor
    serves a new window, as the Odoo adapter's does, lists only what it adds). ``rule`` decides
    conflicts (default :class:`~calsync.LatestWins`), ``deletion``
    edit-versus-delete. ``max_deletions`` guards against mass deletion
    (``allow_mass_deletion`` lifts it). ``max_notifications`` caps the
    attendee e-mails each run may cause, except a pair's first run (no links
    and no cursors in the store, as after a reset with "all existing
    events"): that one is held to ``first_sync_max_notifications`` (default
    0: it e-mails no one), whatever ``max_notifications`` says, unless the
    run is given ``allow_notifications`` (the caller's consent to the e-mails
    its preview showed) or ``first_sync_max_notifications`` is None.
    ``progress`` is called as the run advances.
    ``lock_timeout`` is how long to wait for the pair's lock (default: not
    at all, :class:`~calsync.PairLockedError`).

    Keep a Synchronizer for as long as its pair is synced: its adapters keep
    their sessions (one Odoo login for the process's life) and connections
    from run to run. The blocking calls (:meth:`run`, :meth:`preview`, the
    resets) run on their thread's event loop, which stays open between calls.
    """

    def __init__(
        self,
        left: CalendarAdapter,
        right: CalendarAdapter,
        store: MappingStore,
        *,
        pair: str | None = None,
        window: Window | None = None,
        window_refresh: timedelta = timedelta(days=7),
        rule: ConflictRule | None = None,
        deletion: DeletionRule = DeletionRule.EDIT_WINS,
        max_deletions: DeletionGuard | None = None,
        allow_mass_deletion: bool = False,
        max_notifications: int | None = None,
        first_sync_max_notifications: int | None = 0,
        progress: Callable[[Progress], None] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        for label, side in (("left", left), ("right", right)):
            if not isinstance(side, CalendarAdapter):
                raise TypeError(f"{label} must be a calendar adapter, not {type(side).__name__}")
        if not isinstance(store, MappingStore):
            raise TypeError(f"store must be a MappingStore, not {type(store).__name__}")
        if left.name == right.name:
            raise ConfigurationError(
                f"both adapters are named {left.name!r}: give them distinct names"
            )
        for label, given in (("rule", rule), ("progress", progress)):
            if given is not None and not callable(given):
                raise TypeError(f"{label} must be callable, not {type(given).__name__}")
        self.left, self.right, self.store = left, right, store
        self.pair = checks.optional_text("pair", pair) or (
            f"{left.name}:{left.account}|{right.name}:{right.account}"
        )
        self.window = None if window is None else checks.instance("window", window, Window)
        self.window_refresh = checks.instance("window_refresh", window_refresh, timedelta)
        self.rule = rule
        self.deletion = DeletionRule(deletion)
        self.max_deletions = (
            DeletionGuard()
            if max_deletions is None
            else checks.instance("max_deletions", max_deletions, DeletionGuard)
        )
        self.allow_mass_deletion = allow_mass_deletion
        self.max_notifications = _limit("max_notifications", max_notifications)
        self.first_sync_max_notifications = _limit(
            "first_sync_max_notifications", first_sync_max_notifications
        )
        self.progress = progress
        self.lock_timeout = checks.seconds("lock_timeout", lock_timeout, zero=True)
        self._timings: dict[str, float] = {}
        self._stage_started: dict[str, float] = {}

    @property
    def sides(self) -> tuple[CalendarAdapter, CalendarAdapter]:
        """The two adapters, left then right."""
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"Synchronizer(pair={self.pair!r})"

    # -- blocking API --------------------------------------------------------------------------

    def run(self, *, full: bool = False, allow_notifications: int | None = None) -> SyncReport:
        """Run one sync and return its report (blocking; see :meth:`run_async`)."""
        return self._block(self.run_async(full=full, allow_notifications=allow_notifications))

    def preview(self) -> Plan:
        """Plan a sync without writing anything (blocking; see :meth:`preview_async`)."""
        return self._block(self.preview_async())

    def _block(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return run_blocking(coroutine, "run_async()")

    def close(self) -> None:
        """Close both adapters' connections (blocking; in a running event loop, await
        :meth:`aclose`: this does nothing there)."""
        if not in_running_loop():
            run_blocking(self.aclose(), "aclose()")

    async def aclose(self) -> None:
        """Close both adapters."""
        await gather(self.left.aclose(), self.right.aclose())

    # -- async API -----------------------------------------------------------------------------

    async def preview_async(self) -> Plan:
        """Plan a sync and return the plan, with the e-mails it would cause; writes nothing."""
        with self.store.lock(self.pair, timeout=self.lock_timeout):
            state = self.store.load(self.pair)
            _, the_plan, _ = await self._plan(state)
            return the_plan

    async def run_async(
        self, *, full: bool = False, allow_notifications: int | None = None
    ) -> SyncReport:
        """Run one sync: pull, plan, guard, apply, commit. Returns the report.

        ``full`` lists every event of the window on both sides instead of the
        changes since the cursors: for when changes may have been missed (a
        Graph ``missed`` lifecycle notification, a suspected drift). It costs
        a first sync's reads and writes only what differs.

        ``allow_notifications`` is your consent for this run alone, typically
        ``len(preview().notifications)``: the run may make the provider e-mail
        attendees that many times, a first sync included, and stops before
        writing if it would now e-mail more. Without it, ``max_notifications``
        and, on a first sync, ``first_sync_max_notifications`` apply.
        """
        allowed = _limit("allow_notifications", allow_notifications)
        started = time.monotonic()
        started_at = datetime.now(timezone.utc)
        requests_before = self._request_counts()
        self._timings, self._stage_started = {}, {}
        locked = False
        try:
            with self.store.lock(self.pair, timeout=self.lock_timeout):
                locked = True
                state = self.store.load(self.pair)
                pulled, the_plan, window = await self._plan(state, full=full)
                self._check_guards(the_plan, state, allowed)
                results = await self._apply(the_plan)
                held = self._held(the_plan, results, state)
                self._commit(the_plan, results, pulled, window, held)
        except Exception as error:
            if locked:  # a run another worker holds the pair for is not this pair's run
                record_run(self.store, self.pair, started_at, error=error)
            raise
        report = self._report_of(the_plan, results, held, started, requests_before)
        report = attrs.evolve(
            report,
            unreadable=tuple(
                (side.name, event_id, reason)
                for side, p in zip(self.sides, pulled, strict=True)
                for event_id, reason in sorted(p.unreadable.items())
            ),
        )
        record_run(self.store, self.pair, started_at, report=report)
        logger.info("sync finished: %s", report.summary, extra={"calsync_pair": self.pair})
        return report

    def _report_of(
        self,
        the_plan: Plan,
        results: Mapping[int, WriteResult],
        held: tuple[Held, ...],
        started: float,
        requests_before: Mapping[str, int],
    ) -> SyncReport:
        delta = self._request_delta(requests_before)
        return SyncReport(
            pair=self.pair,
            left=self.left.name,
            right=self.right.name,
            outcomes=tuple(
                Outcome(op, results[i].error if i in results else None)
                for i, op in enumerate(the_plan.operations)
            ),
            held=_one_per_event(held),
            conflicts=len(the_plan.conflicts),
            requests={k: v for k, v in delta.items() if not k.endswith(":throttled")},
            throttled={
                k.removesuffix(":throttled"): v
                for k, v in delta.items()
                if k.endswith(":throttled")
            },
            notifications=tuple(
                n
                for i, op in enumerate(the_plan.operations)
                if i not in results or results[i].ok
                for n in op.notifications
            ),
            duration=time.monotonic() - started,
            unknown=the_plan.unknown,
            timings=dict(self._timings),
        )

    # -- reset ---------------------------------------------------------------------------------

    def reset(
        self,
        existing: ExistingEvents | str = ExistingEvents.LEAVE,
        next_sync: NextSync | str = NextSync.NEW_ONLY,
    ) -> SyncReport:
        """Reset the pair as Odoo's "Reset Account" does (blocking; see :meth:`reset_async`)."""
        return self._block(self.reset_async(existing, next_sync))

    def preview_reset(
        self,
        existing: ExistingEvents | str = ExistingEvents.LEAVE,
        next_sync: NextSync | str = NextSync.NEW_ONLY,
    ) -> Plan:
        """The plan of a reset, with the cancellations it would cause; writes nothing."""
        return self._block(self.preview_reset_async(existing, next_sync))

    async def preview_reset_async(
        self,
        existing: ExistingEvents | str = ExistingEvents.LEAVE,
        next_sync: NextSync | str = NextSync.NEW_ONLY,
    ) -> Plan:
        """Async :meth:`preview_reset`."""
        with self.store.lock(self.pair, timeout=self.lock_timeout):
            state = self.store.load(self.pair)
            the_plan, _ = await self._plan_reset(
                state, ExistingEvents(existing), NextSync(next_sync)
            )
            return the_plan

    async def reset_async(
        self,
        existing: ExistingEvents | str = ExistingEvents.LEAVE,
        next_sync: NextSync | str = NextSync.NEW_ONLY,
    ) -> SyncReport:
        """Reset the pair: forget links, cursors and the journal, deleting as chosen.

        ``existing`` says what happens to the events synced so far: left alone,
        or deleted from the Microsoft calendar (the right side), from Odoo (the
        left side), or from both — only events this account organises; meetings
        it only attends are never deleted. ``next_sync`` says what the next sync
        covers: only events created from now on (:attr:`NextSync.NEW_ONLY`), or
        every existing event (:attr:`NextSync.ALL`, matched like a first sync so
        nothing is duplicated). The same plan, journal and commit path as a sync.
        """
        started = time.monotonic()
        requests_before = self._request_counts()
        with self.store.lock(self.pair, timeout=self.lock_timeout):
            state = self.store.load(self.pair)
            the_plan, window = await self._plan_reset(
                state, ExistingEvents(existing), NextSync(next_sync)
            )
            if self.max_notifications is not None:
                self._check_notifications(
                    the_plan, self.max_notifications, "allowed", "set max_notifications={count}"
                )
            results = await self._apply(the_plan)
            links = dict(the_plan.links)
            for index, result in results.items():
                if not result.ok and NextSync(next_sync) is NextSync.NEW_ONLY:
                    links.update(_left_out(self.pair, the_plan, index, result, self.sides))
            cursors: dict[str, str | None] = {side.name: None for side in self.sides}
            cursors[_WINDOW] = _format_window(window)
            done = {intent.key for intent in state.pending} | set(links)
            self.store.commit(self.pair, links=links, cursors=cursors, done=done, held=())
        report = self._report_of(the_plan, results, (), started, requests_before)
        logger.info("reset finished: %s", report.summary, extra={"calsync_pair": self.pair})
        return report

    async def _plan_reset(
        self, state: PairState, existing: ExistingEvents, next_sync: NextSync
    ) -> tuple[Plan, Window]:
        window, _ = self._window(state)
        listings = await self._pull_both({}, window)
        for side, listing in zip(self.sides, listings, strict=True):
            if not listing.complete:
                raise SideUnavailableError(
                    "the listing was cut short; a reset needs every event: try again",
                    pair=self.pair,
                    side=side.name,
                )
        inputs = [
            self._side_input(position, _Pulled({i.id: i for i in listing.items}, set(), listing))
            for position, listing in enumerate(listings)
        ]
        the_plan = plan_reset(
            inputs[0],
            inputs[1],
            state.links,
            existing=existing,
            next_sync=next_sync,
            window=window,
            pair=self.pair,
        )
        return the_plan, window

    # -- pull and plan -------------------------------------------------------------------------

    async def _plan(
        self, state: PairState, *, full: bool = False
    ) -> tuple[list[_Pulled], Plan, Window]:
        window, cursors = self._window(state)
        if full:
            cursors = {}
        self._report("pull", 0, 2)
        listings = await self._pull_both(cursors, window)
        pulled = [
            await self._confirm(position, listing, state, window)
            for position, listing in enumerate(listings)
        ]
        self._report("pull", 2, 2)
        inputs = [self._side_input(position, p) for position, p in enumerate(pulled)]
        self._report("plan", 0, 1)
        the_plan = plan(
            inputs[0],
            inputs[1],
            _prefetched(state.links, pulled),
            window=window,
            pair=self.pair,
            rule=self.rule,
            deletion=self.deletion,
            guard=self.max_deletions,
            pending=[(i.side, i.key) for i in state.pending if i.kind == "create"],
        )
        self._report("plan", 1, 1)
        return pulled, the_plan, window

    async def _pull_both(self, cursors: Mapping[str, str | None], window: Window) -> list[Listing]:
        """Both sides' listings, pulled at once; any failure stops the run before planning.

        Credentials refused (:class:`~calsync.AuthenticationError`) come through as
        they are, since they say what to do; other provider failures become a
        :class:`~calsync.SideUnavailableError` naming the side.
        """
        answers = await asyncio.gather(
            *(side.pull(cursors.get(side.name), window) for side in self.sides),
            return_exceptions=True,
        )
        listings: list[Listing] = []
        for side, answer in zip(self.sides, answers, strict=True):
            if isinstance(answer, (AuthenticationError, SideUnavailableError)):
                answer.pair, answer.side = answer.pair or self.pair, answer.side or side.name
                raise answer
            if isinstance(answer, ProviderError):
                raise SideUnavailableError(
                    f"{side.name} could not be listed, nothing was written: {describe(answer)}",
                    pair=self.pair,
                    side=side.name,
                ) from answer
            if isinstance(answer, BaseException):
                raise answer
            listings.append(answer)
        return listings

    def _window(self, state: PairState) -> tuple[Window, dict[str, str | None]]:
        """The pair's window and the cursors that serve it.

        A new window starts a side over with a full listing, unless its adapter
        says its cursor serves another window too (``keeps_cursor_across_windows``:
        it then lists only what the new window adds).
        """
        cursors = dict(state.cursors)
        stored = _parse_window(cursors.pop(_WINDOW, None))
        wanted = self.window or Window.around()
        keep = stored is not None and (
            stored == wanted
            if self.window is not None
            else abs(wanted.start - stored.start) < self.window_refresh
        )
        if keep and stored is not None:
            return stored, cursors
        spanning = {
            side.name for side in self.sides if getattr(side, "keeps_cursor_across_windows", False)
        }
        return wanted, {name: cursor for name, cursor in cursors.items() if name in spanning}

    async def _confirm(
        self, position: int, listing: Listing, state: PairState, window: Window
    ) -> _Pulled:
        """Check by id every linked event that looks gone, and re-read held ones."""
        side = self.sides[position]
        items = {item.id: item for item in listing.items}
        unreadable = dict(listing.unreadable)
        removed = set(listing.removed) - unreadable.keys()
        suspects = {i for i in removed if state.links.by_id(position, i) is not None}
        if listing.complete and (listing.full or listing.present is not None):
            present = listing.present if listing.present is not None else frozenset()
            for event_id in state.links.ids(position):
                if event_id not in items and event_id not in present and event_id not in removed:
                    link = state.links.by_id(position, event_id)
                    if link is not None and window.contains(link.base):
                        suspects.add(event_id)
        suspects.update(h.id for h in state.held if h.side == side.name and h.id not in items)
        suspects.update(self._recovery_ids(position, items, state))
        suspects -= unreadable.keys()
        if suspects:
            found = await self._fetch(side, sorted(suspects))
            for event_id in suspects:
                if event_id not in found:
                    unreadable.setdefault(event_id, "could not be read")
                    removed.discard(event_id)
                elif found[event_id] is None:
                    removed.add(event_id)
                    items.pop(event_id, None)
                else:
                    items[event_id] = found[event_id]  # type: ignore[assignment]
                    removed.discard(event_id)
        return _Pulled(items, removed, listing, unreadable)

    def _recovery_ids(
        self, position: int, items: Mapping[str, RemoteEvent], state: PairState
    ) -> set[str]:
        """After an interrupted run, re-read this side's unlinked events to learn their keys."""
        name = self.sides[position].name
        if not any(i.kind == "create" and i.side == name for i in state.pending):
            return set()
        return {
            event_id
            for event_id, item in items.items()
            if item.key is None and state.links.by_id(position, event_id) is None
        }

    async def _fetch(
        self, side: CalendarAdapter, ids: Sequence[str]
    ) -> Mapping[str, RemoteEvent | None]:
        try:
            return await side.fetch(ids)
        except AuthenticationError:
            raise
        except ProviderError as error:
            raise SideUnavailableError(
                f"could not confirm {len(ids)} events, nothing was written: {error}",
                pair=self.pair,
                side=side.name,
            ) from error

    def _side_input(self, position: int, pulled: _Pulled) -> SideInput:
        side = self.sides[position]
        return SideInput(
            name=side.name,
            items=tuple(pulled.items.values()),
            removed=frozenset(pulled.removed),
            unreadable=frozenset(pulled.unreadable),
            full=pulled.listing.full,
            complete=pulled.listing.complete,
            projection=side.projection,
            owner_email=side.owner_email,
            notifications=side.notifications,
            holds_others_meetings=side.holds_others_meetings,
        )

    # -- guard ---------------------------------------------------------------------------------

    def _check_guards(self, the_plan: Plan, state: PairState, allowed: int | None) -> None:
        if the_plan.blocked and not self.allow_mass_deletion:
            side = the_plan.blocked[0]
            count = the_plan.deletions[side]
            raise MassDeletionError(
                f"the plan deletes {count} events on {side}, more than the guard allows "
                "(the other side may have been emptied by mistake); nothing was written. "
                "Check the preview(), then pass allow_mass_deletion=True to proceed",
                count=count,
                limit=self.max_deletions.min_count,
                pair=self.pair,
                side=side,
            )
        if allowed is not None:
            self._check_notifications(the_plan, allowed, "you allowed")
            return
        first = not len(state.links) and not any(state.cursors.get(s.name) for s in self.sides)
        if first and self.first_sync_max_notifications is not None:
            self._check_notifications(
                the_plan, self.first_sync_max_notifications, "allowed on a first sync"
            )
        elif self.max_notifications is not None:
            self._check_notifications(the_plan, self.max_notifications, "allowed")

    def _check_notifications(
        self,
        the_plan: Plan,
        limit: int,
        allowed: str,
        consent: str = "run(allow_notifications={count})",
    ) -> None:
        count = len(the_plan.notifications)
        if count > limit:
            raise NotificationLimitError(
                f"the plan would make the provider e-mail attendees {_times(count)}, more than "
                f"the {limit} {allowed}; nothing was written. See its preview's notifications, "
                f"then {consent.format(count=count)} to proceed",
                count=count,
                limit=limit,
                pair=self.pair,
            )

    # -- apply ---------------------------------------------------------------------------------

    async def _apply(self, the_plan: Plan) -> dict[int, WriteResult]:
        """Journal and perform the plan's writes; results by operation index."""
        by_side: dict[str, list[int]] = defaultdict(list)
        for index, op in enumerate(the_plan.operations):
            if op.write is not None and op.side is not None:
                by_side[op.side].append(index)
        if not by_side:
            return {}
        self.store.record_intents(
            self.pair, [_intent(the_plan.operations[i]) for ix in by_side.values() for i in ix]
        )
        total = sum(len(ix) for ix in by_side.values())
        self._report("apply", 0, total)
        sides = {side.name: side for side in self.sides}
        done = 0

        async def apply_side(name: str, indexes: list[int]) -> Sequence[WriteResult]:
            nonlocal done
            side_results = await self._apply_side(
                sides[name], [the_plan.operations[i] for i in indexes]
            )
            done += len(indexes)
            if done < total:  # the other side is still writing
                self._report("apply", done, total)
            return side_results

        outcomes = await gather(*(apply_side(n, ix) for n, ix in by_side.items()))
        results: dict[int, WriteResult] = {}
        for indexes, side_results in zip(by_side.values(), outcomes, strict=True):
            results.update(zip(indexes, side_results, strict=True))
        for index, result in results.items():
            self._log_result(the_plan.operations[index], result)
        self._report("apply", total, total)
        return results

    async def _apply_side(
        self, side: CalendarAdapter, operations: list[Operation]
    ) -> Sequence[WriteResult]:
        writes = [op.write for op in operations if op.write is not None]
        try:
            results = await side.apply(writes)
        except ProviderError as error:
            return [WriteResult(write, error=error) for write in writes]
        if len(results) != len(writes):
            raise ConfigurationError(
                f"adapter {side.name!r} returned {len(results)} results for {len(writes)} writes"
            )
        return results

    def _log_result(self, op: Operation, result: WriteResult) -> None:
        extra = {
            "calsync_pair": self.pair,
            "calsync_side": op.side,
            "calsync_event": op.key,
            "calsync_operation": op.kind.value,
        }
        if result.ok:
            logger.info("%s", op, extra=extra)
        else:
            logger.warning("%s failed: %s", op, result.error, extra=extra)

    # -- commit --------------------------------------------------------------------------------

    def _held(
        self,
        the_plan: Plan,
        results: Mapping[int, WriteResult],
        state: PairState,
    ) -> tuple[Held, ...]:
        """The events to retry next run: those whose writes failed or that could not merge."""
        before = {(h.side, h.id): h for h in state.held}
        now = datetime.now(timezone.utc)
        held: dict[tuple[str, str], Held] = {}

        def hold(side: str, event_id: str, title: str, error: Exception, key: str = "") -> None:
            if not event_id:
                return
            earlier = before.get((side, event_id))
            held[(side, event_id)] = Held(
                side,
                event_id,
                title,
                describe(error),
                earlier.since if earlier else now,
                earlier.attempts + 1 if earlier else 1,
                key or f"{side}:{event_id}",
            )

        failed = {the_plan.operations[i].key: r.error for i, r in results.items() if not r.ok}
        for op in the_plan.operations:
            error = failed.get(op.key)
            if error is None:
                continue
            for side, event_id in self._involved(op, the_plan, state):
                hold(side, event_id, op.title, error, op.key)
        for item in the_plan.quarantined:
            if item.id is not None:
                hold(item.side, item.id, item.title, item.error)
        for deferred in the_plan.deferred:
            hold(
                deferred.side,
                deferred.id,
                deferred.title,
                SideUnavailableError("not created: the other side's listing was incomplete"),
            )
        return tuple(held.values())

    def _involved(self, op: Operation, the_plan: Plan, state: PairState) -> list[tuple[str, str]]:
        """Every (side, id) a failed operation's link touches, to re-read next run."""
        refs: list[tuple[str, str]] = []
        for link in (state.links.get(op.key), the_plan.links.get(op.key)):
            if link is None:
                continue
            for position, side in enumerate(self.sides):
                ref = link.side(position)
                if ref is not None and ref.id:
                    refs.append((side.name, ref.id))
        current = getattr(op.write, "current", None)
        if current is not None and op.side:
            refs.append((op.side, current.id))
        return refs

    def _commit(
        self,
        the_plan: Plan,
        results: Mapping[int, WriteResult],
        pulled: list[_Pulled],
        window: Window,
        held: tuple[Held, ...],
    ) -> None:
        by_key: dict[str, list[tuple[int, WriteResult]]] = defaultdict(list)
        for index, result in results.items():
            by_key[the_plan.operations[index].key].append((index, result))
        links: dict[str, Link | None] = {}
        for key, planned in the_plan.links.items():
            outcomes = by_key.get(key, [])
            if any(not result.ok for _, result in outcomes):
                continue
            links[key] = self._finish_link(planned, the_plan, outcomes)
        cursors: dict[str, str | None] = {_WINDOW: _format_window(window)}
        if all(p.listing.complete for p in pulled):
            # A cut-short listing leaves both cursors where they were: what it did
            # not show, and the creates deferred because of it, come back next run.
            cursors.update(
                {side.name: p.listing.cursor for side, p in zip(self.sides, pulled, strict=True)}
            )
        self._report("commit", 0, 1)
        self.store.commit(self.pair, links=links, cursors=cursors, done=links.keys(), held=held)
        self._report("commit", 1, 1)

    def _finish_link(
        self, planned: Link | None, the_plan: Plan, outcomes: list[tuple[int, WriteResult]]
    ) -> Link | None:
        """The planned link with the written sides' refs taken from the write results."""
        if planned is None:
            return None
        link = planned
        names = [side.name for side in self.sides]
        for index, result in outcomes:
            stored = result.stored
            if stored is None:
                continue
            position = names.index(the_plan.operations[index].side or "")
            seen = None if stored.event == link.base else stored.event
            link = link.with_side(
                position, SideRef(stored.id, stored.version, seen, read_only=stored.read_only)
            )
        return link

    # -- helpers -------------------------------------------------------------------------------

    def _report(self, stage: str, done: int, total: int) -> None:
        """Tell the progress callback, and time each stage for the report."""
        now = time.monotonic()
        if done == 0:
            self._stage_started[stage] = now
        if done == total and stage in self._stage_started:
            elapsed = now - self._stage_started.pop(stage)
            self._timings[stage] = self._timings.get(stage, 0.0) + elapsed
        if self.progress is not None:
            self.progress(Progress(self.pair, stage, done, total))

    def _request_counts(self) -> dict[str, int]:
        counts = {side.name: int(getattr(side, "requests", 0)) for side in self.sides}
        counts.update({f"{s.name}:throttled": int(getattr(s, "throttled", 0)) for s in self.sides})
        return counts

    def _request_delta(self, before: Mapping[str, int]) -> dict[str, int]:
        after = self._request_counts()
        return {name: after[name] - before.get(name, 0) for name in after}


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _limit(name: str, value: int | None) -> int | None:
    """A notification limit as given: None, or a count of e-mails."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < 0:
        raise ConfigurationError(f"{name} must be 0 or more, not {value}")
    return value


def _intent(op: Operation) -> Intent:
    write = op.write
    current = getattr(write, "current", None)
    return Intent(
        key=op.key,
        side=op.side or "",
        kind=op.kind.value,
        title=op.title,
        event_id=current.id if current is not None else None,
    )


def _one_per_event(held: Iterable[Held]) -> tuple[Held, ...]:
    """Held rows, one per event (a failed update holds both sides' ids for re-reading)."""
    return tuple({item.key or f"{item.side}:{item.id}": item for item in held}.values())


def _format_window(window: Window) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"


def _left_out(
    pair: str,
    the_plan: Plan,
    index: int,
    result: WriteResult,
    sides: tuple[CalendarAdapter, CalendarAdapter],
) -> dict[str, Link]:
    """A reset's delete that failed: keep the surviving event left out, not synced again."""
    op = the_plan.operations[index]
    current = getattr(result.write, "current", None)
    if current is None:
        return {}
    position = [side.name for side in sides].index(op.side or "")
    ref = SideRef(current.id, current.version, read_only=current.read_only)
    key = derive_key(pair, op.key, "reset delete failed")
    refs = (ref, None) if position == 0 else (None, ref)
    return {key: Link(key, current.event, refs[0], refs[1], note="left out by a reset")}


def _parse_window(text: str | None) -> Window | None:
    if not text or "/" not in text:
        return None
    start, _, end = text.partition("/")
    try:
        return Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
    except ValueError:
        return None


def _prefetched(links: LinkIndex, pulled: list[_Pulled]) -> LinkIndex:
    """Read the links of every listed id in bulk when the index supports it."""
    prefetch = getattr(links, "prefetch", None)
    if prefetch is not None:
        for position, p in enumerate(pulled):
            ids = list(p.items) + list(p.removed)
            if len(ids) > 20:
                prefetch(position, ids)
    return links
