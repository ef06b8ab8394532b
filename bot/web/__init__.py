"""The staff web console: server-rendered pages (aiohttp + Jinja2) beside the bot.

Coaches, team leads and admins sign in from the chat (``/web``) and work at a desk:
reminder rules with a preview, information sessions, the caseload and the figures.
Operators get ``/healthz``, ``/readyz`` and ``/metrics``. Every database step runs
through ``runtime.database.run`` (never on the event loop), and every page checks the
viewer's role and job centre again through the services the chat uses.
"""
