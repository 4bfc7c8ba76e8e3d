"""The desk: reading the tickets customers' SMS opened (``gateway tickets``, ``gateway parse``)."""
