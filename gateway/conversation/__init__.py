"""The conversation with a customer: reading their text (text, phones, catalogue, router),
carrying a turn (turns), and the reply in their language (replies, fill, refs).

Pure: no I/O, no store. Intake calls it; replies leave through the outbox.
"""
