from realtime.app.cli import entry_point

entry_point()
