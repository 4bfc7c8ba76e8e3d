"""SMS/USSD fallback gateway: SMS in -> stored -> ticket -> reply; broadcasts; CRM sync."""

__version__ = "0.1.0"
