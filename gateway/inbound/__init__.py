"""What arrives from the SIMs: intake (commit each SMS before it leaves the SIM, reassemble,
route to a ticket and a reply) and reports (delivery reports for what we sent).
"""
