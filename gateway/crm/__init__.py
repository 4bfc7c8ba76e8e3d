"""CRM sync: push tickets to the organisation's CRM exactly once when the link returns, then
the desk's own changes to them (events), and take the CRM's status updates back.

protocol and events_protocol (the wire format and its rules, pure), client (HTTP with
whole-request timeouts), sync (the daemon's service: lease, batches, updates), push
(tickets), events (the desk's changes), pull (updates), operations (what ``gateway sync``
calls), receiver, receiver_events and receiver_http (the reference CRM endpoint used by the
demo, tests and benchmarks).
"""
