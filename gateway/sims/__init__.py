"""gateway.sims."""
