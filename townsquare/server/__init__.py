"""The HTTP server around the app: ``create_app`` composes the native API (``townsquare.api``) and
the web pages (``townsquare.web``), and the helpers both share live here (sessions and sign-in,
cookies, CSRF, rate limits, cursors, errors, body limits). ``api`` and ``web`` import from here,
never from each other."""
