"""The figures the city follows, computed from the records."""
