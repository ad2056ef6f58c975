"""Delivery: the outbox, the notifiers (Slack, email, console) and the daily digest."""
