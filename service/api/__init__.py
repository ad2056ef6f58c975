"""The HTTP API: health, feed status and metrics."""
