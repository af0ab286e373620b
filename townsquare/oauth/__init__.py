"""OAuth 2 for apps (the Mastodon client API): registered apps, authorization codes with PKCE,
scoped tokens, refresh and revocation. The rules live here; the HTTP routes are in
``townsquare/mastodon/oauth.py`` and the consent page in ``townsquare/web/pages_oauth.py``."""
