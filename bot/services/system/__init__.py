"""Cross-cutting records: the audit log, conversation steps, throttling counters."""
