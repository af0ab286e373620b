from pathlib import Path

import pytest

from townsquare.config import ConfigError, load_settings


def test_defaults_are_embedded(tmp_path):
    settings = load_settings(env={})
    assert settings.data_dir == Path("./townsquare-data")
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.sqlalchemy_url.endswith("townsquare-data/townsquare.db")
    assert settings.llm_backend == "embedded"


def test_environment_overrides_file(tmp_path):
    config = tmp_path / "townsquare.toml"
    config.write_text('port = 9000\nllm_model = "from-file"\nunknown_key = 1\n')
    settings = load_settings(env={"TOWNSQUARE_CONFIG": str(config), "TOWNSQUARE_LLM_MODEL": "from-env"})
    assert settings.port == 9000
    assert settings.llm_model == "from-env"
    assert settings.extra == {"unknown_key": 1}


def test_database_url_from_environment():
    settings = load_settings(env={"TOWNSQUARE_DATABASE_URL": "postgresql://u@h/db"})
    assert settings.sqlalchemy_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    "env, message",
    [({"TOWNSQUARE_PORT": "eighty"}, "port"), ({"TOWNSQUARE_CONFIG": "/nonexistent.toml"}, "does not exist")],
)
def test_bad_settings_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_invalid_toml_is_a_clear_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={"TOWNSQUARE_CONFIG": str(config)})


def test_secret_key_is_generated_once(tmp_path):
    settings = load_settings(env={}, data_dir=tmp_path)
    first = settings.resolved_secret_key()
    assert len(first) > 20
    assert load_settings(env={}, data_dir=tmp_path).resolved_secret_key() == first
