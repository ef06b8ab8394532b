"""The durable outbox of messages the bot sends on its own initiative."""
