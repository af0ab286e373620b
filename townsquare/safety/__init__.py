"""Safety shields on what people send to the AIs and on what the AIs answer (Llama Guard 3 categories)."""

from townsquare.safety.categories import CATEGORIES, category_name
from townsquare.safety.shields import BuiltinShield, LlamaGuardShield, Shield, Verdict

__all__ = ["CATEGORIES", "category_name", "Shield", "Verdict", "BuiltinShield", "LlamaGuardShield"]
