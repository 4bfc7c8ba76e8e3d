"""gateway.crm."""
