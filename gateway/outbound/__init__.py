"""gateway.outbound."""
