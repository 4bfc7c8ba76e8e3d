"""CRM sync: push tickets to the organisation's CRM exactly once when the link returns, and
take its status updates back.

protocol (the wire format, pure), client (HTTP with whole-request timeouts), sync (the
daemon's service: lease, batches, updates), operations (what ``gateway sync`` calls),
receiver (the reference CRM endpoint used by the demo, tests and benchmarks).
"""
