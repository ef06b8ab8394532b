"""``jobbot admin invite``, ``jobbot centre add``, ``jobbot invite create|import``."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.cli_common import bot_username, expiry_line, os_error, session_factory
from bot.clock import SystemClock
from bot.db import unit_of_work
from bot.errors import DomainError, JobbotError
from bot.models import InfoSession, Role
from bot.services.centres import centres
from bot.services.people import invites
from bot.services.reminders import rules as reminder_rules
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    admin = commands.add_parser("admin", help="administrators")
    admin_actions = admin.add_subparsers(dest="action", metavar="ACTION")
    admin_actions.required = True
    admin_invite = admin_actions.add_parser(
        "invite", help="print a one-time link that makes whoever opens it an admin"
    )
    _link_options(admin_invite)
    admin_invite.set_defaults(run=admin_invite_command)

    centre = commands.add_parser("centre", help="job centres")
    centre_actions = centre.add_subparsers(dest="action", metavar="ACTION")
    centre_actions.required = True
    add = centre_actions.add_parser("add", help="add a job centre")
    add.add_argument("name")
    add.add_argument("--address", default="")
    add.add_argument("--lat", type=float, help="latitude of the entrance")
    add.add_argument("--lon", type=float, help="longitude of the entrance")
    add.add_argument("--timezone", default=None, help="default: JOBBOT_TIMEZONE")
    add.set_defaults(run=centre_add_command)

    invite = commands.add_parser("invite", help="invite links for aspirants and staff")
    invite_actions = invite.add_subparsers(dest="action", metavar="ACTION")
    invite_actions.required = True
    create = invite_actions.add_parser("create", help="create one invite link")
    create.add_argument("--role", choices=[r.value for r in Role], default="aspirant")
    create.add_argument("--centre", help="job centre name (required for aspirants)")
    create.add_argument("--coach", type=int, help="the coach's Telegram user id")
    create.add_argument("--session", type=int, help="information session id")
    create.add_argument("--attendance", action="store_true",
                        help="the aspirant has a daily attendance requirement")
    create.add_argument("--qr", type=Path, help="also write the link as a QR code PNG here")
    _link_options(create)
    create.set_defaults(run=invite_create_command)

    bulk = invite_actions.add_parser(
        "import", help="create aspirant invites from a CSV file, one link per row",
        description="Columns: centre (required), coach (Telegram user id), session (id), "
                    "attendance (yes/no), reference (your own label, copied to the output).",
    )
    bulk.add_argument("file", type=Path)
    bulk.add_argument("--output", type=Path, help="where to write the links (default: stdout)")
    _link_options(bulk)
    bulk.set_defaults(run=invite_import_command)


def _link_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=None,
                        help="days the link stays valid (default: JOBBOT_INVITE_VALID_DAYS)")
    parser.add_argument("--bot-username", default=None,
                        help="bot username for the link (default: JOBBOT_BOT_USERNAME, "
                             "else asked from Telegram)")


# Earlier names, kept for modules written against them.
_sessions = session_factory


def _validity(args: argparse.Namespace, settings: Settings) -> timedelta:
    days = args.days if args.days is not None else settings.invite_valid_days
    if days < 1:
        raise JobbotError("--days must be at least 1")
    return timedelta(days=days)


def admin_invite_command(args: argparse.Namespace, settings: Settings) -> int:
    username = bot_username(args, settings)
    now = SystemClock().now()
    with unit_of_work(session_factory(settings)) as db:
        invite = invites.create(db, now, role=Role.ADMIN, valid_for=_validity(args, settings))
        code, expires = invite.code, invite.expires_at
    print(invites.deep_link(username, code))
    print(expiry_line(expires, settings, once=True), file=sys.stderr)
    return 0


def centre_add_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(session_factory(settings)) as db:
        centre = centres.create(db, now, name=args.name, address=args.address,
                                latitude=args.lat, longitude=args.lon,
                                timezone=args.timezone or settings.timezone)
        # A new installation starts with the recommended reminders (once; admins change them).
        installed = reminder_rules.install_defaults(db, now)
        print(f"job centre {centre.id}: {centre.name}")
        if installed:
            print(f"{len(installed)} default reminder rules installed (see 'jobbot rule list')")
    return 0


def _invite_from_fields(db, now, fields: dict[str, str], role: Role,  # type: ignore[no-untyped-def]
                        validity: timedelta):
    centre = None
    if fields.get("centre"):
        centre = centres.by_name(db, fields["centre"])
        if centre is None:
            raise DomainError("unknown job centre {name!r}", name=fields["centre"])
    coach = None
    if fields.get("coach"):
        from bot.services.people import people

        coach = people.by_telegram_id(db, int(fields["coach"]))
        if coach is None:
            raise DomainError("no person with Telegram id {id}", id=fields["coach"])
    session = None
    if fields.get("session"):
        session = db.get(InfoSession, int(fields["session"]))
        if session is None:
            raise DomainError("no information session {id}", id=fields["session"])
    attendance = fields.get("attendance", "").strip().lower() in ("yes", "y", "true", "1", "ja")
    return invites.create(db, now, role=role, job_centre=centre, coach=coach,
                          info_session=session, attendance_required=attendance,
                          valid_for=validity)


def invite_create_command(args: argparse.Namespace, settings: Settings) -> int:
    username = bot_username(args, settings)
    now = SystemClock().now()
    fields = {"centre": args.centre or "", "coach": str(args.coach or ""),
              "session": str(args.session or ""), "attendance": "yes" if args.attendance else ""}
    with unit_of_work(session_factory(settings)) as db:
        invite = _invite_from_fields(db, now, fields, Role(args.role), _validity(args, settings))
        link = invites.deep_link(username, invite.code)
        expires = invite.expires_at
    print(link)
    print(expiry_line(expires, settings, once=True), file=sys.stderr)
    if args.qr:
        from bot.qr import qr_png

        try:
            args.qr.write_bytes(qr_png(link))
        except OSError as error:
            raise os_error(error, str(args.qr)) from None
        print(f"QR code written to {args.qr}", file=sys.stderr)
    return 0


def invite_import_command(args: argparse.Namespace, settings: Settings) -> int:
    """All rows or none: a bad row anywhere creates no invite at all."""
    username = bot_username(args, settings)
    try:
        with args.file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise JobbotError(f"cannot read {args.file}: {error.strerror}") from None
    if not rows or "centre" not in rows[0]:
        raise JobbotError(f"{args.file}: needs a header row with at least the column 'centre'")
    now = SystemClock().now()
    validity = _validity(args, settings)
    results = []
    errors = []
    with unit_of_work(session_factory(settings)) as db:
        for number, row in enumerate(rows, start=2):
            try:
                with db.begin_nested():
                    invite = _invite_from_fields(db, now, row, Role.ASPIRANT, validity)
                results.append((row, invites.deep_link(username, invite.code), invite.expires_at))
            except (DomainError, ValueError) as error:
                message = (error.message.format(**error.params)
                           if isinstance(error, DomainError) else str(error))
                errors.append(f"{args.file}:{number}: {message}")
        if errors:
            db.rollback()
            raise JobbotError(f"{len(errors)} bad row(s), no invite created; first: {errors[0]}")
    out = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(["reference", "centre", "link", "expires_utc"])
        for row, link, expires in results:
            writer.writerow([row.get("reference", ""), row["centre"], link,
                             expires.strftime("%Y-%m-%d %H:%M")])
    finally:
        if args.output:
            out.close()
    print(f"{len(results)} invite(s) created", file=sys.stderr)
    return 0
