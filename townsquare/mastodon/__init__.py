"""The Mastodon client API (``/api/v1``, ``/api/v2``) and OAuth 2 (``/oauth``), so that existing
Mastodon apps (Tusky, Ivory, Elk, Phanpy, Ice Cubes, Mona, Mastodon.py...) work with Townsquare.

Thin routes over the domain services: every read goes through the same visibility and block rules
as the native API. How Townsquare's model maps onto Mastodon's is written down in docs/mastodon.md.
"""
