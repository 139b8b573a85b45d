from listener.settings import Secret, Settings


def test_env_overrides_dotenv_and_secrets_never_print(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("UNDERTOW_X_BEARER_TOKEN=from-file-123\nUNDERTOW_SMTP_PORT=2525\n")
    s = Settings.load(env={"UNDERTOW_SMTP_PORT": "465", "UNDERTOW_HOME": str(tmp_path)},
                      env_file=env_file)
    assert s.smtp_port == 465  # the environment wins over .env
    assert s.x_bearer_token.get() == "from-file-123"
    assert "from-file-123" not in repr(s) and "from-file-123" not in str(s)
    assert s.secret_values() == ["from-file-123"]
    assert s.db_url == f"sqlite:///{tmp_path / 'undertow.db'}"


def test_secret_repr():
    assert repr(Secret("x")) == "Secret('***')" and not Secret("")


def test_sentiment_int8_flag_reaches_the_scorer(tmp_path):
    from listener.jobs.score import default_scorer

    off = Settings.load(env={"UNDERTOW_HOME": str(tmp_path)}, env_file=tmp_path / "none")
    on = Settings.load(env={"UNDERTOW_HOME": str(tmp_path), "UNDERTOW_SENTIMENT_INT8": "true"},
                       env_file=tmp_path / "none")
    assert (off.sentiment_int8, on.sentiment_int8) == (False, True)
    # The quantised model is a different model version, so its scores never mix with fp32 ones.
    assert default_scorer(on).model_version == default_scorer(off).model_version + "+int8"


def test_values_that_cannot_be_right_are_refused_by_name(tmp_path):
    import pytest

    from listener.errors import ConfigError

    def load(**env):
        return Settings.load(env={"UNDERTOW_HOME": str(tmp_path), **env},
                             env_file=tmp_path / "none")

    for env, says in [
        ({"UNDERTOW_SMTP_PORT": "abc"}, "UNDERTOW_SMTP_PORT='abc' is not a whole number"),
        ({"UNDERTOW_RETENTION_DAYS": "-1"}, "UNDERTOW_RETENTION_DAYS='-1' must be 0 or more"),
        ({"UNDERTOW_RETENTION_DAYS_X": "ten"}, "UNDERTOW_RETENTION_DAYS_X='ten'"),
        # An unknown security mode must not fall back to a plain-text login.
        ({"UNDERTOW_SMTP_SECURITY": "tls"}, "is not one of starttls, ssl, none"),
    ]:
        with pytest.raises(ConfigError, match=says):
            load(**env)
    assert load(UNDERTOW_SMTP_SECURITY=" SSL ").smtp_security == "ssl"
    assert load(UNDERTOW_RETENTION_DAYS_X="30").retention_for("x") == 30
    with pytest.raises(ConfigError, match="UNDERTOW_ENV_FILE='/no/such.env': no such file"):
        Settings.load(env={"UNDERTOW_ENV_FILE": "/no/such.env"})
    assert Settings.load(env={"UNDERTOW_ENV_FILE": "/dev/null"}).log_level == "INFO"  # .env off
