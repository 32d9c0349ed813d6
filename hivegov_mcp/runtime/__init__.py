"""Tasks a server runs beside its requests: the audit feed and the webhook deliveries."""
