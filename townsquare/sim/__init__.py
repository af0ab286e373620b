"""The synthetic community: people with hidden preferences, their graph, their posts, and a simulator
of how they behave in front of a feed. ``townsquare seed`` writes it into the app's tables; the
hidden preferences stay here (and in ``<data_dir>/sim/``), never in the app's tables."""
