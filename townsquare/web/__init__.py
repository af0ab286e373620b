"""The web app: server-rendered pages (Jinja2), one stylesheet and one script served from the package."""
