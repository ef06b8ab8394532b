"""``jobbot sandbox``: the real bot against the emulated Bot API, with a web page of phones.

Nothing here is used by the bot in production; it exists so anyone can try the bot
on one machine without a bot token or internet, and move its clock forward.
"""
