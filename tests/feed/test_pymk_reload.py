"""The people-you-may-know model follows ``townsquare feed train-pymk`` without a restart."""

from __future__ import annotations

import os
import shutil

from townsquare.config import load_settings
from townsquare.feed import pymk
from townsquare.services import Services


def test_a_new_link_model_file_is_picked_up_and_a_broken_one_is_not(tmp_path):
    settings = load_settings(env={}, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}",
                             model_reload_check_s=0)
    settings.ensure_dirs()
    services = Services(settings)
    bundled = services.pymk_model()
    assert bundled is not None and bundled.embedding  # the model bundled with the package
    path = settings.models_dir / pymk.MODEL_FILE
    shutil.copy(pymk.BUNDLED_PLAIN_MODEL, path)  # "trained on this community": the plain variant
    trained = services.pymk_model()
    assert trained is not bundled and not trained.embedding
    assert services.pymk_model() is trained  # unchanged file: not loaded again
    path.write_bytes(b"half a file")
    os.utime(path, (1, 1))
    assert services.pymk_model() is trained  # a file that does not load: the model that served stays
    services.close()
