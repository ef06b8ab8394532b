"""The edge towards Telegram: what a unit of work decided to say, and saying it."""
