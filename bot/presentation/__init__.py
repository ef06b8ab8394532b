"""One home for what people see: message texts, keyboards, callback data, and how outbox
rows are worded and drawn. Handlers (replies) and the scheduler (the outbox) both use it;
it uses services and models, never handlers or the scheduler."""
