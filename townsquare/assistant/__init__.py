"""The assistant: an agent that acts in the app for a person, with their permissions, safely."""
