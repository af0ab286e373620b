"""Running Townsquare: backups and restores, the background worker."""
