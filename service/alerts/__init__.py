"""Alerts: judging each rule match against its baselines, and what an alert carries."""
