"""Feed and network: candidate sources, value model, blender, explanations, people you may know."""
