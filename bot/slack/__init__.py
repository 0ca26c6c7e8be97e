"""Slack plumbing: the Bolt app, HTTP entry point, the shared session, reply delivery."""
