"""Time-driven work: deciding *when* to run the services that decide *what*."""
