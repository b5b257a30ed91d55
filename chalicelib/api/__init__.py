"""HTTP entry points: Chalice blueprints. Each view parses, calls one use case, shapes the answer."""
