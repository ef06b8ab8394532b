"""A static file shipped inside a package (the console's stylesheet, the sandbox's page)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from aiohttp import web


def packaged_file(package: str, name: str, types: Mapping[str, str], *,
                  cache_control: str) -> web.Response:
    """``name`` from ``package``'s ``static`` folder. Only a bare file name with one of
    ``types``' suffixes is served; anything else (a path, another kind of file) is 404."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or "\\" in name or suffix not in types:
        raise web.HTTPNotFound()
    resource = resources.files(package) / "static" / name
    if not resource.is_file():
        raise web.HTTPNotFound()
    mime = types[suffix]
    return web.Response(body=resource.read_bytes(), content_type=mime,
                        charset="utf-8" if mime.startswith("text/") else None,
                        headers={"Cache-Control": cache_control})
