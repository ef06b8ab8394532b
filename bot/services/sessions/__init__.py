"""Group information sessions: the schedule, bookings, calendar files."""
