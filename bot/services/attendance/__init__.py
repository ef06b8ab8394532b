"""Daily attendance: the centre's policy, check-ins and their codes, absence reports, the daily sweep, coach alerts and follow-up, caseload and statements."""
