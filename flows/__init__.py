"""Conversation logic, platform-neutral: events in, replies out.

Nothing here imports a platform SDK, an HTTP library or anything in ``bot``.
"""
