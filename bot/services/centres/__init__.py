"""Job centres, their working-day calendars and closed days, organisation-wide settings."""
