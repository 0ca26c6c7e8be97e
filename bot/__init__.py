"""Slack app that looks up a customer's Ropo One invoices and shows them privately."""

__version__ = "0.1.0"
