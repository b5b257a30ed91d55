"""Stream and queue entry points: Powertools batch processing with partial-failure answers."""
