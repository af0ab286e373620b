"""Creator AI studio: creators publish an AI of themselves, grounded in their public posts."""
