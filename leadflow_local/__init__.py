"""The embedded local stack (moto server, resources from ``infra/``, Chalice's HTTP server, a pump
feeding stream and queue records to the same handlers) and the operator CLI."""
