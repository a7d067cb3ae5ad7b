"""The README's first command (examples/quickstart.py) and the tutorial's code, run as users do."""

from __future__ import annotations

from pathlib import Path

from tests.examples.support import run_example


def test_the_quickstart_ends_in_sync_having_mailed_only_what_it_showed(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    done = run_example("quickstart.py", "--state", str(state))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Traceback" not in done.stderr

    preview, _, rest = out.partition("After an edit in Alice's Outlook")
    assert preview.count("e-mails carol@client.example") == 2  # one meeting per user
    first = preview.split("\ncalsync ")[1:]
    assert len(first) == 2
    assert all(", ok in " in report for report in first)

    edits, _, third = rest.partition("A third run has nothing to do:")
    assert edits.count("1 write, ok") == 2  # each edit reached the other side
    runs, _, mails = third.partition("E-mails Outlook sent to attendees because of calsync:")
    assert runs.count("in sync, nothing to do") == 2
    sent = sorted(
        line.strip() for line in mails.splitlines() if "->" in line
    )  # both pairs ran at once
    assert sent == [
        "alice@example.com -> carol@client.example: invitation 'Client visit'",
        "bob@example.com -> carol@client.example: invitation 'Client visit'",
    ]
    assert f"State kept in {state}" in out
    assert state.exists()


def test_the_tutorial_code_previews_runs_and_resumes(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    done = run_example("first_sync.py", "--state", str(state))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:5] == [
        "Preview of odoo:ann|outlook:ann@example.com: 3 writes",
        "  create on outlook: 'Project kick-off' (new on odoo)",
        "      Outlook will e-mail carol@client.example: invitation",
        "  update on odoo: 'Dentist' (already on both sides (matched by title, start and end))",
        "  create on odoo: 'Lunch with Dan' (new on outlook)",
    ]
    assert lines[5].startswith("calsync odoo:ann|outlook:ann@example.com: 3 writes, ok in ")
    assert lines[6].startswith("  odoo: 1 create, 1 update; ")
    assert lines[7].startswith("  outlook: 1 create; ")
    assert lines[8] == "  e-mails caused: 1"
    assert "in sync, nothing to do" in lines[9]
    assert lines[-1] == "  ann@example.com -> carol@client.example: invitation 'Project kick-off'"
