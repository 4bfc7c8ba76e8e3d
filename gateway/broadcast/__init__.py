"""Broadcasts: outage and restoration notices to groups of customers, within each SIM's limits.

templates (the pre-approved notices), contacts (CSV import), estimate (how long a send
takes on today's SIMs), operations (plan, create, list, pause/resume/cancel), pacing (the
daemon's service that releases each run's messages into the outbox at the allowed rate),
public_copy (the text a supervisor can post elsewhere).
"""
