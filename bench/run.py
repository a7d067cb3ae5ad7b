"""``nox -s bench``: every benchmark, as Markdown tables and a PNG chart.

1. The engine alone: planning time for initial syncs of 10k and 100k events
   per side and an incremental sync of 100 changes over 100k links.
2. Request counts the issues promise (Outlook ``$batch``, no-op pulls, Odoo calls).
3. The real pair on the emulators: initial syncs of 1k and 10k events per side,
   incremental syncs of 1, 100 and 1,000 changes; requests per side against
   their floor, wall time, peak memory, engine time; and the same pushes sent
   the way Odoo's own module sends them, one Graph request per event.
4. The Odoo side alone (``odoo.py``): polls and one change after a bulk write of
   10k events (right after, and after the overlap), 1,000 updates; the calendar
   listing alone, then through a shared ``OdooDatabase``; on the emulator, and
   with ``--real-odoo`` on the ``CALSYNC_ODOO_*`` server too (its own time per
   step read from ``--odoo-log``).
5. Many users at once (``many.py``): 20 and 50 pairs, each with its own
   mailbox on one Graph emulator at 100 ms a request, each calendar listing
   alone and all through one shared ``OdooDatabase`` (``--real-odoo``: on
   that server too).

Results go to ``bench/results/bench.md`` and ``bench/results/bench.png`` (and
stdout). Performance is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import many  # noqa: E402
import odoo  # noqa: E402
import pair  # noqa: E402
import requests  # noqa: E402

import engine  # noqa: E402


def chart(rows: list[pair.Row], path: Path) -> None:
    """Requests and wall time per scenario, calsync beside Odoo's module (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row.scenario.replace(", ", "\n") for row in rows]
    positions = range(len(rows))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.28
    left.bar(
        [p - width for p in positions], [r.outlook_requests for r in rows], width, label="calsync"
    )
    left.bar(list(positions), [r.outlook_floor for r in rows], width, label="floor")
    left.bar(
        [p + width for p in positions],
        [r.odoo_style_requests or 0 for r in rows],
        width,
        label="Odoo's module",
    )
    left.set_yscale("log")
    left.set_title("Graph requests")
    left.set_xticks(list(positions), names, fontsize=8)
    left.legend()
    right.bar(
        [p - width / 2 for p in positions],
        [r.apply for r in rows],
        width,
        label="calsync (both sides)",
    )
    right.bar(
        [p + width / 2 for p in positions],
        [r.odoo_style_wall or 0 for r in rows],
        width,
        label="Odoo's module (Outlook side)",
    )
    right.set_title(f"Writing time (s), Graph answering in {pair.LATENCY * 1000:.0f} ms")
    right.set_xticks(list(positions), names, fontsize=8)
    right.legend()
    figure.suptitle("calsync on the emulators (loopback)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--real-odoo", action="store_true", help="also the Odoo side on the CALSYNC_ODOO_* server"
    )
    parser.add_argument(
        "--odoo-log", type=Path, default=odoo.env("LOG") or None, help="that server's log"
    )
    args = parser.parse_args()
    sizes, changes = ([1000], [1, 100]) if args.quick else ([1000, 10000], [1, 100, 1000])
    engine_sizes = "10000" if args.quick else "10000,100000"

    sections = [
        f"# calsync benchmarks\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()} on {platform.machine()}, one process per side "
        "(the emulators run in their own process).",
        "## Engine\n\n" + engine.markdown(engine.measure(engine_sizes, repeat=3)),
        "## Request counts\n\n" + requests.markdown(requests.checks()),
    ]
    rows = pair.run(sizes, changes)
    sections.append(
        "## The real pair on the emulators\n\n"
        "Requests per side, with the floor in brackets: one Graph delta page per 50 events "
        "listed plus one `$batch` per 20 Outlook writes; one Odoo page per 1,000 events and "
        'one `load` call per 500 events written. "Odoo\'s module" is the '
        "same Outlook pushes sent the way Odoo's own Outlook sync sends them, one request "
        "per event, in turn, measured in the same run. The Graph emulator adds "
        f"{pair.LATENCY * 1000:.0f} ms to every request (loopback answers in well under a "
        "millisecond, which flatters many small requests). Wall time is the whole sync; "
        '"calsync writes" is its apply stage (both sides at once).\n\n' + pair.markdown(rows)
    )
    bulk = 2000 if args.quick else 10_000
    for shared in (False, True):
        how = "through a shared `OdooDatabase`" if shared else "listing alone"
        sections.append(
            f"## The Odoo side alone, {bulk:,} events, {how}\n\nOn the emulator (its "
            "clock moved on past the overlap rather than waited for):\n\n"
            + odoo.markdown(odoo.run(bulk, shared=shared))
        )
        if args.real_odoo:
            sections.append(
                f"On the real Odoo server at {odoo.env('URL')} (database "
                f"{odoo.env('DB')}), the overlap waited for; the server's own time from "
                "its log:\n\n"
                + odoo.markdown(odoo.run(bulk, real=True, log=args.odoo_log, shared=shared))
            )
    users = [5] if args.quick else [20, 50]
    sections.append(
        "## Many users at once\n\nEach user with their own mailbox on one Graph emulator "
        f"answering in {many.LATENCY * 1000:.0f} ms; `sync_many` at its defaults over "
        "synchronizers kept from round to round; each calendar listing its own changes "
        '("alone") or all through one `OdooDatabase` ("shared"). On the Odoo emulator:\n\n'
        + many.markdown(many.run(users))
    )
    if args.real_odoo:
        real = many.real_odoo(args.odoo_log or many.ODOO_LOG)
        sections.append(
            f"On the real Odoo server at {odoo.env('URL')}, the server's busy time from its "
            "log:\n\n" + many.markdown(many.run(users, real))
        )
    text = "\n\n".join(sections) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text(text)
    chart(rows, args.out / "bench.png")
    print(text)
    print(f"Written to {args.out / 'bench.md'} and {args.out / 'bench.png'}")


if __name__ == "__main__":
    main()
