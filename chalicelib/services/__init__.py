"""Use cases: one module per thing a user does. Adapters arrive as arguments (see ``wiring``)."""
