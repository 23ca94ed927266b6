"""Channels: each turns a platform's updates into neutral events and renders neutral replies."""
