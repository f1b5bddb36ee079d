"""One module per view or dialog of the console."""
