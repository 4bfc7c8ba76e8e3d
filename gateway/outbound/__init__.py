"""What leaves through the SIMs: choice (which SIM sends a message, pure), quotas (each SIM's
daily and per-minute use), dispatcher (the daemon's service that claims outbox rows and sends
them, replies first).
"""
