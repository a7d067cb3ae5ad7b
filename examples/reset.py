"""Reset a pair as Odoo's "Reset Account" wizard does, after a preview of what it will do.

Odoo's wizard asks two questions, and so does this script:

- ``--existing``: what happens to the events synced so far (only those this
  account organises; meetings it only attends are never deleted):
  ``leave`` ("Leave them untouched", the default), ``delete-from-microsoft``
  ("Delete from the current Microsoft Calendar account"), ``delete-from-odoo``
  ("Delete from Odoo") or ``delete-from-both`` ("Delete from both");
- ``--next-sync``: what the next sync covers: ``new`` ("Synchronize only new
  events", the default) or ``all`` ("Synchronize all existing events",
  matched like a first sync, so nothing is duplicated).

The script reads both calendars, prints the plan (the links forgotten, the
events deleted on each side, the events left out of later syncs) and the
cancellations Outlook will e-mail to attendees, asks, then resets with a
progress bar and prints the report. Nothing is written before you answer
yes (``--yes`` answers for you).

It uses the same environment variables as ``examples/real_credentials.py``
(the Odoo login, the Outlook mailbox, ``CALSYNC_STATE``), so it resets the
pair that script syncs. Run::

    python examples/reset.py --existing delete-from-microsoft --next-sync all

Exit status: 0 when the reset succeeded (or you declined it), 1 when it
failed, 2 when the configuration is incomplete.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from real_credentials import (  # the example next to this one (python puts its folder on the path)
    Config,
    ConfigError,
    ProgressBar,
    ask,
    explain,
    microsoft_auth,
    plural,
    synchronizer,
)

import calsync
from calsync import ExistingEvents, NextSync

#: The wizard's labels, by the option's value.
EXISTING = {
    ExistingEvents.LEAVE: "Leave them untouched",
    ExistingEvents.DELETE_FROM_MICROSOFT: "Delete from the current Microsoft Calendar account",
    ExistingEvents.DELETE_FROM_ODOO: "Delete from Odoo",
    ExistingEvents.DELETE_FROM_BOTH: "Delete from both",
}
NEXT_SYNC = {
    NextSync.NEW_ONLY: "Synchronize only new events",
    NextSync.ALL: "Synchronize all existing events",
}


def existing_events(text: str) -> ExistingEvents:
    """``delete-from-odoo`` (or ``delete_from_odoo``) as the enum."""
    return ExistingEvents(text.replace("-", "_"))


def show_reset(plan: calsync.Plan, existing: ExistingEvents, next_sync: NextSync) -> None:
    """The reset's plan in words: what is forgotten, deleted, left out; who is e-mailed."""
    kinds = Counter(op.kind for op in plan.operations)
    print(f"Reset: existing events: {EXISTING[existing]}; next sync: {NEXT_SYNC[next_sync]}")
    print(f"  {plural(kinds[calsync.OperationKind.UNLINK], 'synced event')} forgotten")
    for side in (plan.left, plan.right):
        deletes = [op for op in plan.writes if op.side == side]
        print(f"  {plural(len(deletes), 'event')} deleted from {side}")
        for operation in deletes:
            print(f"    {operation.title!r}")
    skipped = kinds[calsync.OperationKind.SKIP]
    if skipped:
        print(f"  {plural(skipped, 'existing event')} left out: only new events will sync")
    if plan.notifications:
        print(f"Outlook will send {plural(len(plan.notifications), 'cancellation')}:")
        for mail in plan.notifications:
            print(f"  {mail.kind.value} to {mail.recipient}: {mail.title!r}")
    else:
        print("Outlook will e-mail no one.")


def run(config: Config, args: argparse.Namespace) -> int:
    """Preview the reset, ask, reset; the exit status."""
    from calsync.stores import SQLiteStore

    auth = microsoft_auth(config) if config.uses_app else None
    store = SQLiteStore(config.state)
    bar = ProgressBar()
    try:
        with synchronizer(config, store, auth, progress=bar) as sync:
            preview = sync.preview_reset(args.existing, args.next_sync)  # writes nothing
            show_reset(preview, args.existing, args.next_sync)
            if not args.yes and not ask("Reset this pair?"):
                print("Nothing was changed.")
                return 0
            # What you agreed to: a reset that would now cancel more stops before writing.
            sync.max_notifications = len(preview.notifications)
            report = sync.reset(args.existing, args.next_sync)
            bar.end()
            print(report)
            return 0 if report.ok else 1
    except calsync.CalsyncError as error:
        bar.end()
        print(explain(error, config), file=sys.stderr)
        return 1
    finally:
        store.close()
        if auth is not None:
            auth.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--existing",
        type=existing_events,
        default=ExistingEvents.LEAVE,
        metavar="{leave,delete-from-microsoft,delete-from-odoo,delete-from-both}",
        help="what happens to the events synced so far (default: leave)",
    )
    parser.add_argument(
        "--next-sync",
        type=NextSync,
        default=NextSync.NEW_ONLY,
        metavar="{new,all}",
        help="what the next sync covers (default: new)",
    )
    parser.add_argument("--yes", action="store_true", help="reset without asking")
    args = parser.parse_args(argv)
    try:
        config = Config.from_env(os.environ)
    except ConfigError as error:
        print("calsync: the environment is missing:", file=sys.stderr)
        print(str(error), file=sys.stderr)
        print("See python examples/real_credentials.py --help.", file=sys.stderr)
        return 2
    return run(config, args)


if __name__ == "__main__":
    sys.exit(main())
