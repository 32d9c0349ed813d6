"""Tasks a server runs beside its requests: the audit feed, the deadline ticker and the webhook
deliveries."""
