"""The running application: channels, outbox, dispatcher, web server, CLI and their wiring."""
