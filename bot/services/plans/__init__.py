"""Job plan milestones: first plan, deepened plan, reviews."""
