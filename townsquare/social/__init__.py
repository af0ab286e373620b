"""The social core: accounts, posts, media, graph, messages, notifications, moderation, search, events."""
