"""The hardware side: one worker per GSM modem, the bank that owns them, and the AT emulator.

``sim_bank`` never imports ``gateway``.
"""
