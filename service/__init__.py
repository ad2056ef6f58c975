"""rivalwatch: competitive-intelligence alerting over news feeds."""

__version__ = "0.1.0"
