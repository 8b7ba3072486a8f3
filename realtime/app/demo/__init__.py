"""What `repose demo` shows: a drawn reference figure and scripted driver motions."""
