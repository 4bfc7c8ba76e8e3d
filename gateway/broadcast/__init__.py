"""gateway.broadcast."""
