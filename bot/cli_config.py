"""``jobbot config export|import|example``: the whole configuration as a YAML file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.errors import JobbotError
from bot.settings import Settings

IMPORT_HELP = """\
Checks the whole file first: its form and values, then every change against the
database, in a transaction. If anything is wrong, nothing is changed, every problem
is listed as FILE:LINE: PATH: what is wrong, where PATH is e.g.
centres[0].attendance_policy.window_start, and the command exits with status 1.

A good file is applied in one transaction, and audited. Things are matched by name:
a job centre by its name; a reminder rule by its job centre (none: a general rule),
event, audience and offset with its time of day; an information session by its job
centre and local start time; a closed day by its date. What the file names is created,
or changed to what the file says; a field the file leaves out keeps its value.

What the file does not mention is left as it is: nothing is deleted, so importing
adds and updates. Turn things off in the file instead: "disabled: true" on a job
centre, "enabled: false" on a reminder rule. Cancel an information session in chat
or with 'jobbot session cancel'.

A centre's "schedule" makes information sessions on the given weekdays for the
given number of weeks after the day of the import, skipping public holidays and the
centre's closed days. 'jobbot config export' writes the concrete sessions instead.
Importing the same file twice changes nothing the second time."""


def add_commands(commands: Any) -> None:
    config = commands.add_parser(
        "config", help="the whole configuration as a YAML file (export, import, example)",
        description="Organisation settings, reminder rules and job centres (closed days, "
                    "quiet hours, attendance policy, information sessions) as one YAML file. "
                    "No personal data.")
    actions = config.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    export = actions.add_parser(
        "export", help="write the configuration as YAML",
        description="Writes the configuration as YAML, in the form 'config import' reads, "
                    "with the information sessions that have not started yet. Two exports of "
                    "the same configuration are identical.")
    export.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write to FILE (default: standard output)")
    export.set_defaults(run=export_command)

    load = actions.add_parser(
        "import", help="check a YAML configuration and apply it (all or nothing)",
        description=IMPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("file", type=Path, metavar="FILE", help="the YAML file ('-': standard input)")
    load.add_argument("--dry-run", action="store_true",
                      help="check everything and say what would change, but change nothing")
    load.set_defaults(run=import_command)

    example = actions.add_parser(
        "example", help="print an example configuration to start from",
        description="Prints an example configuration: the job centre Jobbtorg Kista with "
                    "information sessions for the coming weeks, the default reminder rules, "
                    "an attendance policy, quiet hours and closed days.")
    example.add_argument("--output", "-o", type=Path, metavar="FILE",
                         help="write to FILE (default: standard output)")
    example.set_defaults(run=example_command)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise JobbotError(f"cannot write {output}: {error.strerror}") from None
    print(f"written to {output}", file=sys.stderr)


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_common import session_factory
    from bot.config.export import export_config

    db = session_factory(settings)()
    try:
        text = export_config(db, SystemClock().now())
    finally:
        db.rollback()  # reading only
        db.close()
    _write(text, args.output)
    return 0


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_common import session_factory
    from bot.config.importer import import_config
    from bot.config.schema import ConfigRejected
    from bot.config.yaml_text import ConfigUnreadable

    name = "<stdin>" if str(args.file) == "-" else str(args.file)
    try:
        data = sys.stdin.buffer.read() if name == "<stdin>" else args.file.read_bytes()
    except OSError as error:
        raise JobbotError(f"cannot read {args.file}: {error.strerror}") from None
    db = session_factory(settings)()
    try:
        summary = import_config(db, SystemClock().now(), data, dry_run=args.dry_run)
        if args.dry_run:
            db.rollback()
        else:
            db.commit()
    except ConfigUnreadable as error:
        raise JobbotError(f"{name}: {error}") from None
    except ConfigRejected as rejected:
        for problem in rejected.problems:
            print(f"{name}:{problem.line}: {problem.path}: {problem.message}", file=sys.stderr)
        raise JobbotError(f"{name}: {len(rejected.problems)} problem(s); nothing was changed"
                          ) from None
    finally:
        db.rollback()
        db.close()
    if args.dry_run:
        print("dry run: the file is valid; importing it would change this:")
    for line in summary.lines():
        print(("  " if args.dry_run else "") + line)
    return 0


def example_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.config import example_text

    _write(example_text(), args.output)
    return 0
