"""The desk: the tickets customers' SMS opened, read and worked by people (``gateway tickets``:
list, show, status, note, assign; ``gateway parse``)."""
