"""Running the gateway: doctor (is everything ready), stats and metrics (what is happening),
maintenance (backups and exports).
"""
