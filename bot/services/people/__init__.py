"""People and their place at a job centre: invites, onboarding, enrolment, exits, erasure and retention, what is stored about them."""
