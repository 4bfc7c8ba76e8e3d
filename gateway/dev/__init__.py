"""Development and demonstration: the simulated SIM bank of ``gateway run --simulate`` and
``gateway demo`` (``simulation``), and the log of what the daemon did that the demo tells
(``events``). Production code imports nothing from it; only the CLI does.
"""
