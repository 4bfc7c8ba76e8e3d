"""gateway.ops."""
