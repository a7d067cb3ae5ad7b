"""``/metrics``: Prometheus' text format, from what the store records of every run.

Metrics come from the store, not from this process's memory, so they are the
same whether runs happen in the service or on RQ workers: at each scrape (and
after each in-process run) the pairs' statuses are read, and every run the
store counted since the last look adds its outcome, writes, requests and
throttled answers to the counters (when several runs of one pair happened
between two looks, all count under the latest one's outcome and its writes
count once). Runs recorded before the service started are not counted.

=============================================  ===========================================
``calsync_runs_total{pair,outcome}``           runs (``ok``, ``held``, ``failed``)
``calsync_writes_total{pair,side}``            writes done
``calsync_provider_requests_total{provider}``  requests sent to Odoo and Graph
``calsync_throttled_total{provider}``          answers asking to slow down (429)
``calsync_held_events{pair}``                  events held for the next run
``calsync_consecutive_failures{pair}``         failed runs in a row
``calsync_last_run_timestamp_seconds{pair}``   when the last run finished
``calsync_next_run_timestamp_seconds{pair}``   when the next run is planned
``calsync_credential_expiry_...{credential}``  when a secret or API key expires (the
                                               full name ends ``_timestamp_seconds``)
``calsync_notifications_received_total``       Graph change notifications accepted
=============================================  ===========================================
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from calsync._app._deploy import Deployment
from calsync.stores._status import PairStatus, StatusStore

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The service's metrics: a Prometheus collector over the store's statuses."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._statuses: dict[str, PairStatus] = {}
        self.runs: Counter[tuple[str, str]] = Counter()
        self.writes: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.notifications = 0
        self.registry = CollectorRegistry(auto_describe=True)
        self.refresh(count=False)
        self.registry.register(self)

    def refresh(self, *, count: bool = True) -> None:
        """Read every pair's status; count the runs recorded since the last look."""
        store = self._deployment.store
        if not isinstance(store, StatusStore):
            return
        statuses = {s.pair: s for s in store.statuses()}
        with self._lock:
            for pair, status in statuses.items():
                run = status.last_run
                before = self._seen.get(pair, 0)
                if run is None or run.runs <= before:
                    continue
                self._seen[pair] = run.runs
                if not count:
                    continue
                self.runs[(pair, run.outcome)] += run.runs - before
                for side, n in run.writes.items():
                    self.writes[(pair, side)] += n
                self.requests.update(run.requests)
                self.throttled.update(run.throttled)
            self._statuses = statuses

    def collect(self) -> Iterator[Any]:
        """The metric families (prometheus_client's collector protocol)."""
        with self._lock:
            yield from self._counters()
            yield from self._gauges()

    def _counters(self) -> Iterator[Any]:
        runs = CounterMetricFamily(
            "calsync_runs", "Sync runs by outcome", labels=["pair", "outcome"]
        )
        for (pair, outcome), n in sorted(self.runs.items()):
            runs.add_metric([pair, outcome], n)
        writes = CounterMetricFamily("calsync_writes", "Writes done", labels=["pair", "side"])
        for (pair, side), n in sorted(self.writes.items()):
            writes.add_metric([pair, side], n)
        requests = CounterMetricFamily(
            "calsync_provider_requests", "Requests sent to a provider", labels=["provider"]
        )
        throttled = CounterMetricFamily(
            "calsync_throttled", "Answers asking to slow down (429)", labels=["provider"]
        )
        for provider in sorted(set(self.requests) | {"odoo", "outlook"}):
            requests.add_metric([provider], self.requests.get(provider, 0))
            throttled.add_metric([provider], self.throttled.get(provider, 0))
        notified = CounterMetricFamily(
            "calsync_notifications_received", "Graph change notifications accepted"
        )
        notified.add_metric([], self.notifications)
        yield from (runs, writes, requests, throttled, notified)

    def _gauges(self) -> Iterator[Any]:
        held = GaugeMetricFamily(
            "calsync_held_events", "Events held for the next run", labels=["pair"]
        )
        failures = GaugeMetricFamily(
            "calsync_consecutive_failures", "Failed runs in a row", labels=["pair"]
        )
        last = GaugeMetricFamily(
            "calsync_last_run_timestamp_seconds", "When the last run finished", labels=["pair"]
        )
        due = GaugeMetricFamily(
            "calsync_next_run_timestamp_seconds", "When the next run is planned", labels=["pair"]
        )
        for pair, status in sorted(self._statuses.items()):
            held.add_metric([pair], status.held)
            if status.last_run is not None:
                failures.add_metric([pair], status.last_run.failures)
                last.add_metric([pair], status.last_run.finished.timestamp())
            if status.next_due is not None:
                due.add_metric([pair], status.next_due.timestamp())
        expiry = GaugeMetricFamily(
            "calsync_credential_expiry_timestamp_seconds",
            "When a configured secret or API key expires",
            labels=["credential"],
        )
        for item in self._deployment.expiries():
            expiry.add_metric([item.what], item.instant.timestamp())
        yield from (held, failures, last, due, expiry)

    def text(self) -> bytes:
        """The exposition, fresh."""
        self.refresh()
        return generate_latest(self.registry)
