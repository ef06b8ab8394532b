"""Rotating check-in codes: six digits from the centre's secret and the current time step.

The code is an HMAC of the time step (as in TOTP, RFC 6238), so the venue screen
and the bot agree without talking to each other, and a code photographed
yesterday is worthless. The current and the previous step are accepted, so a
code typed or scanned just as it changes still works.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.models import AttendancePolicy

DIGITS = 6
# Steps further back than the accepted two are recognised as stale (not wrong) this far.
STALE_LOOKBACK_STEPS = 240
START_PREFIX = "ci_"
_START_PARAM = re.compile(r"^ci_(\d{1,9})_(\d{6})$")


class CodeCheck(StrEnum):
    VALID = "valid"
    STALE = "stale"
    WRONG = "wrong"


def step_of(policy: AttendancePolicy, now: datetime) -> int:
    return int(now.timestamp()) // policy.code_step_seconds


def code_at(secret: str, job_centre_id: int, step: int) -> str:
    digest = hmac.new(bytes.fromhex(secret), f"{job_centre_id}:{step}".encode(),
                      hashlib.sha256).digest()
    # Dynamic truncation as in RFC 4226.
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_code(policy: AttendancePolicy, now: datetime) -> str:
    return code_at(policy.code_secret, policy.job_centre_id, step_of(policy, now))


def seconds_left(policy: AttendancePolicy, now: datetime) -> int:
    """Seconds until the code shown now is replaced on the screen."""
    elapsed = int(now.timestamp()) % policy.code_step_seconds
    return policy.code_step_seconds - elapsed


def normalise(text: str) -> str | None:
    """The six digits in what was typed (spaces and dashes allowed), or None."""
    digits = re.sub(r"[\s\-]", "", text or "")
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def check(policy: AttendancePolicy, code: str, now: datetime) -> CodeCheck:
    step = step_of(policy, now)
    for back in range(2):
        if hmac.compare_digest(code, code_at(policy.code_secret, policy.job_centre_id,
                                             step - back)):
            return CodeCheck.VALID
    for back in range(2, STALE_LOOKBACK_STEPS):
        if hmac.compare_digest(code, code_at(policy.code_secret, policy.job_centre_id,
                                             step - back)):
            return CodeCheck.STALE
    return CodeCheck.WRONG


@dataclass(frozen=True)
class StartParam:
    job_centre_id: int
    code: str


def start_param(job_centre_id: int, code: str) -> str:
    return f"{START_PREFIX}{job_centre_id}_{code}"


def parse_start_param(value: str) -> StartParam | None:
    match = _START_PARAM.match(value or "")
    if match is None:
        return None
    return StartParam(int(match.group(1)), match.group(2))


def deep_link(bot_username: str, job_centre_id: int, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={start_param(job_centre_id, code)}"
