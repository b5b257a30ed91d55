"""Adapters to the outside: SQS queues, provider payloads and signatures, CSV."""
