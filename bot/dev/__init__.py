"""The demo console and its Slack stand-ins; never imported by production code."""
