"""Reminders: rules, quiet hours and deadline mode, the planner that turns events into outbox rows, and previews."""
