"""``python -m bot``: the same as the ``workshopbot`` command."""

from bot.cli import main

main()
