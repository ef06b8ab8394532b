"""The python-telegram-bot application: wiring only, no business rules."""

from __future__ import annotations

import gc
import logging

from telegram import LinkPreviewOptions
from telegram.ext import Application, ApplicationBuilder, Defaults, JobQueue
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.concurrency import PerPersonUpdateProcessor
from bot.db import make_engine, make_session_factory
from bot.i18n import LANGUAGES, translator
from bot.runtime import Runtime
from bot.settings import Settings
from bot.transport.aiohttp_request import AiohttpRequest
from bot.transport.budget import (
    DEFAULT_RATE,
    TELEGRAM_PER_SECOND,
    LocalSlots,
    SendBudget,
    SharedSlots,
)
from bot.transport.ratelimit import BudgetRateLimiter

log = logging.getLogger(__name__)

# Telegram's documented limits: 30 messages a second overall, about one a second per chat
# (the dispatcher keeps to that). The budget runs a little below, against network jitter.
OVERALL_PER_SECOND = TELEGRAM_PER_SECOND
SEND_RATE = DEFAULT_RATE
# Connections to the Bot API kept open for sending: the dispatcher's sends at once, and
# room for replies beside them.
CONNECTION_POOL = 96


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
    start_scheduler: bool = True,
) -> Application:
    if not settings.telegram_token:
        from bot.errors import SettingsError

        raise SettingsError("setting JOBBOT_TELEGRAM_TOKEN is missing")
    if runtime is None:
        engine = make_engine(settings.database_url)
        runtime = Runtime(settings=settings, clock=clock or SystemClock(),
                          sessions=make_session_factory(engine))
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.bot_base_url)
        .base_file_url(settings.bot_file_base_url)
        .defaults(Defaults(tzinfo=settings.zone,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .post_init(_post_init)
        .post_stop(_post_stop)
        # Different people at once, one person's updates in order (bot/concurrency.py).
        .concurrent_updates(PerPersonUpdateProcessor())
        .job_queue(JobQueue())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # aiohttp: several times the throughput of the default HTTPX request class.
        builder = (builder.request(AiohttpRequest(connection_pool_size=CONNECTION_POOL))
                   .get_updates_request(AiohttpRequest(connection_pool_size=1)))
    if rate_limit:
        builder = builder.rate_limiter(BudgetRateLimiter(send_budget(runtime)))
    application = builder.build()
    application.bot_data["runtime"] = runtime
    application.bot_data["start_scheduler"] = start_scheduler
    _register_handlers(application)
    return application


def send_budget(runtime: Runtime, rate: float = SEND_RATE) -> SendBudget:
    """The bot's one budget: kept in the database when instances may share it
    (PostgreSQL), in this process otherwise (SQLite serves one instance)."""
    if runtime.database.dialect == "postgresql":
        return SendBudget(SharedSlots(runtime.database, rate))
    return SendBudget(LocalSlots(rate))


def _register_handlers(application: Application) -> None:
    from handlers import registry

    registry.register_all(application)


async def _post_init(application: Application) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    runtime.bot_username = application.bot.username
    from bot.presentation.keyboards import NEWCOMER_COMMANDS, commands

    # The default menu, per language, is for people the bot does not know yet: they can
    # only start. Each known person's chat gets the list for their roles (show_home).
    for code in LANGUAGES:
        t = translator(code, runtime.settings.timezone)
        await application.bot.set_my_commands(commands(t, NEWCOMER_COMMANDS), language_code=code)
    default = translator(runtime.settings.default_language, runtime.settings.timezone)
    await application.bot.set_my_commands(commands(default, NEWCOMER_COMMANDS))
    if application.bot_data.get("start_scheduler", True):
        from scheduler import jobs

        jobs.install(application)
    console = application.bot_data.get("console")
    if console is not None:
        await console.start(runtime)  # the web console, beside the bot (bot/web)
    # What is loaded by now (modules, mappers, catalogs, templates) lives as long as the
    # process: keep it out of the collector's full passes, each of which would otherwise
    # stop every conversation for ~100 ms to walk it again.
    gc.collect()
    gc.freeze()
    log.info("bot @%s ready", application.bot.username)


async def _post_stop(application: Application) -> None:
    """Stopped (SIGINT/SIGTERM): write the outcomes of messages already sent."""
    console = application.bot_data.get("console")
    if console is not None:
        await console.stop()
    dispatcher = application.bot_data.get("dispatcher")
    if dispatcher is not None:
        await dispatcher.close()
