"""Development and demonstration: ``gateway demo`` and the simulated SIM bank of ``gateway run
--simulate``. Nothing in production imports it.
"""
