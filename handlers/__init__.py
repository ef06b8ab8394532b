"""Telegram update handlers: parse the update, call a service, render the reply."""
