"""gateway.dev."""
