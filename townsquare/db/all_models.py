"""Imports every domain's storage models so ``Base.metadata`` is complete (for Alembic and tests)."""

from townsquare.assistant import models as assistant_models  # noqa: F401
from townsquare.feed import models as feed_models  # noqa: F401
from townsquare.oauth import models as oauth_models  # noqa: F401
from townsquare.social import models as social_models  # noqa: F401
from townsquare.studio import models as studio_models  # noqa: F401
from townsquare.voice import models as voice_models  # noqa: F401
