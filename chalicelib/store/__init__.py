"""Storage: PynamoDB records, keys and conditional writes. The rest of the code never builds a key."""
