"""gateway.inbound."""
