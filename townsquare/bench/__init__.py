"""Benchmark harnesses: they drive the app from outside (a real server, real clients) and report
a table and JSON. Domain packages never import from here."""
