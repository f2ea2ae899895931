"""The Flask application, the staff API and the command line."""
