"""The SIMs themselves: monitor (signal, registration, health published to the store) and ussd
(USSD requests and balance checks, one session per modem at a time).
"""
