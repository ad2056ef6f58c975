"""Feed sources: declarations, fetching, parsing, normalising and de-duplicating entries."""
