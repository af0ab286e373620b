"""The built-in shield used when no guard model is configured: high-precision patterns that catch
the clear cases of each Llama Guard 3 category. It is deliberately conservative (it must not block
"this climb killed me" or "kill the process"); a real guard model catches the subtle cases.
"""

from __future__ import annotations

import re

_GROUPS = (
    r"(?:jews|muslims|christians|blacks|black people|whites|asians|arabs|gays|gay people|lesbians|"
    r"trans people|immigrants|refugees|women|mexicans|hindus|sikhs|roma|disabled people)"
)

_PATTERNS: dict[str, list[str]] = {
    "S1": [
        r"\bhow (?:do|can|could|would|should) (?:i|we|you|one)\b.{0,30}\b(?:kill|murder|stab|strangle|shoot|"
        r"poison|kidnap|torture)\b.{0,20}\b(?:someone|somebody|a person|people|him|her|them|my (?:wife|husband|"
        r"boss|neighbou?r|teacher|mother|father|brother|sister|ex|friend|coworker))\b",
        r"\b(?:hire|find) (?:a )?hit ?man\b",
        r"\bget away with (?:murder|killing)\b",
        r"\bi(?:'m| am) going to (?:kill|shoot|stab) (?:him|her|them|you|everyone)\b",
    ],
    "S2": [
        r"\bhow (?:do|can|to|could) (?:i |we )?(?:steal|shoplift|launder (?:money|cash)|cook meth|make meth|"
        r"counterfeit|hack into (?:someone|my ex|an?|her|his|their)|break into (?:a|someone|my neighbou?r)|"
        r"evade taxes|sell (?:drugs|cocaine|heroin))\b",
        r"\bwrite (?:me )?(?:a )?phishing (?:e-?mail|page|message)\b",
        r"\bstolen credit card (?:numbers|details)\b",
    ],
    "S3": [
        r"\b(?:rape|sexually assault|molest)\b.{0,20}\b(?:someone|her|him|a woman|a girl|a man)\b",
        r"\bdrug (?:her|his|someone'?s|a girl'?s) drink\b",
        r"\bsextort",
    ],
    "S4": [
        r"\b(?:child|children|minor|minors|underage|preteen|kid|kids|(?:1[0-5]|[5-9]) ?(?:yo|year[- ]old))\b.{0,25}"
        r"\b(?:porn|nudes?|naked|erotic|sexual (?:images?|photos?|pictures?|content|videos?))\b",
        r"\b(?:porn|nudes?|erotic)\b.{0,25}\b(?:child|children|minors?|underage|preteen)\b",
        r"\b(?:sex|sexual|intercourse) with (?:a |an )?(?:child|minor|kid|underage|preteen|(?:1[0-5]|[5-9]) ?year[- ]old)",
        r"\bcsam\b",
    ],
    "S5": [
        r"\b(?:write|make up|invent)\b.{0,30}\b(?:fake|false)\b.{0,30}\b(?:claiming|saying|that)\b.{0,60}"
        r"\b(?:is|was) a (?:pedophile|rapist|murderer|criminal|fraud)\b",
    ],
    "S6": [
        r"\b(?:lethal|fatal) dose\b",
        r"\bhow much\b.{0,40}\bto (?:overdose|kill (?:a person|someone|myself))\b",
    ],
    "S7": [
        r"\b(?:dox|doxx)(?:ing)?\b",
        r"\b(?:home address|social security number|ssn|credit card number|passport number)\b.{0,10}\bof\b",
        r"\bfind (?:out )?where\b.{0,20}\blives\b",
    ],
    "S8": [
        r"\b(?:keygen|crack(?:ed)? (?:version|copy) of|bypass (?:the )?drm|pirated? (?:copy|movie|game))\b",
        r"\b(?:full|entire|complete) (?:text|lyrics) of\b.{0,40}\b(?:book|novel|song)\b",
    ],
    "S9": [
        r"\b(?:make|build|synthesi[sz]e|create|assemble|produce)\b.{0,20}\b(?:(?:pipe |nail |dirty )?bomb|"
        r"explosives?|ied|nerve agent|sarin|vx gas|anthrax|ricin|bioweapon|chemical weapon|nuclear weapon|"
        r"napalm)\b",
        r"\benrich(?:ing)? uranium\b",
    ],
    "S10": [
        rf"\b(?:all )?{_GROUPS} (?:should|must|deserve to|need to) (?:die|be killed|be exterminated|be gassed|burn)\b",
        rf"\b{_GROUPS} are (?:vermin|subhuman|animals|parasites|cockroaches)\b",
        rf"\bexterminate (?:the |all )?{_GROUPS}\b",
    ],
    "S11": [
        r"\b(?:kill|hurt|cut|harm) myself\b",
        r"\b(?:want|going|plan(?:ning)?) to (?:die|end (?:it all|my life)|commit suicide)\b",
        r"\bsuicide (?:method|methods|note)\b",
        r"\bbest way to (?:die|commit suicide)\b",
    ],
    "S12": [
        r"\b(?:write|describe|send|generate)\b.{0,30}\b(?:explicit|graphic|hardcore)\b.{0,15}\b(?:sex|sexual|porn)",
        r"\b(?:porn(?:ographic)? (?:story|video|image)s?)\b",
    ],
    "S13": [
        r"\b(?:tell|convince) (?:people|voters)\b.{0,40}\bvote on the wrong day\b",
        r"\b(?:fake|false|fabricated) (?:ballots?|election results|voter fraud evidence)\b",
        r"\bvoting (?:is|happens) (?:by text|online only)\b",
    ],
    "S14": [
        r"\brm -rf /(?:\s|$)",
        r":\(\)\s*\{\s*:\|:&\s*\};:",
        r"\breverse shell\b",
        r"\bos\.system\(|\bsubprocess\.(?:run|popen|call)\(",
        r"\bfork bomb\b",
    ],
}

_COMPILED = {code: [re.compile(p, re.IGNORECASE) for p in pats] for code, pats in _PATTERNS.items()}


def classify(text: str) -> list[str]:
    """Categories whose clear-case patterns match ``text`` (empty = nothing found)."""
    text = " ".join((text or "").split())
    return [code for code, patterns in _COMPILED.items() if any(p.search(text) for p in patterns)]
