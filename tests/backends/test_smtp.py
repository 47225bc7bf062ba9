"""The SMTP backend against a real local SMTP server (aiosmtpd): a plain-text email
arrives with its headers, a login is used when configured, and each way of failing is
classified (try again later, or not)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.backends.smtp import SmtpMailer, SmtpSettings
from bot.errors import PermanentError, RetryableError
from tests.backends.fake_smtp import FakeSmtp, free_port


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


def mailer(fake: FakeSmtp, **env: str) -> SmtpMailer:
    settings = SmtpSettings.from_env({**fake.env(), **env})
    assert settings is not None
    return SmtpMailer(settings, timeout=5)


def test_an_email_arrives_with_its_headers_and_body(smtp: FakeSmtp) -> None:
    mailer(smtp).send(sender="deploybot@acme.test", to=["ops@acme.test", "cto@acme.test"],
                      subject="deploybot daily summary — Wed", body="production: 2 ✅\n")
    (got,) = smtp.messages
    assert got.sender == "deploybot@acme.test"
    assert got.recipients == ("ops@acme.test", "cto@acme.test")
    assert got.message["Subject"] == "deploybot daily summary — Wed"
    assert got.message["To"] == "ops@acme.test, cto@acme.test"
    assert got.message["Message-ID"].endswith("@acme.test>")
    assert got.body == "production: 2 ✅\n"
    assert got.login is None


def test_it_logs_in_with_the_username_and_password_from_the_environment() -> None:
    with FakeSmtp(users={"bot": "s3cret"}) as fake:
        mailer(fake, SMTP_USERNAME="bot", SMTP_PASSWORD="s3cret").send(
            sender="d@acme.test", to=["o@acme.test"], subject="s", body="b")
        assert [m.login for m in fake.messages] == ["bot"]
        with pytest.raises(PermanentError, match="refused the login"):
            mailer(fake, SMTP_USERNAME="bot", SMTP_PASSWORD="wrong").send(
                sender="d@acme.test", to=["o@acme.test"], subject="s", body="b")
        assert len(fake.messages) == 1


def test_try_later_is_retryable_and_a_refusal_is_not(smtp: FakeSmtp) -> None:
    smtp.fail(1, "451 4.3.0 try again later")
    with pytest.raises(RetryableError, match="451"):
        mailer(smtp).send(sender="d@acme.test", to=["o@acme.test"], subject="s", body="b")
    smtp.fail(1, "554 5.7.1 rejected")
    with pytest.raises(PermanentError, match="554"):
        mailer(smtp).send(sender="d@acme.test", to=["o@acme.test"], subject="s", body="b")
    assert smtp.messages == [] and smtp.refused == 2


def test_a_server_that_is_down_is_retryable() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())
    with pytest.raises(RetryableError, match="unreachable"):
        SmtpMailer(settings, timeout=2).send(sender="d@acme.test", to=["o@acme.test"],
                                             subject="s", body="b")


def test_settings_come_from_the_environment_and_never_print_the_password() -> None:
    assert SmtpSettings.from_env({}) is None
    s = SmtpSettings.from_env({"SMTP_HOST": "mail.acme.test", "SMTP_STARTTLS": "true",
                               "SMTP_USERNAME": "bot", "SMTP_PASSWORD": "s3cret"})
    assert s == SmtpSettings(host="mail.acme.test", port=587, username="bot",
                             password="s3cret", starttls=True)
    assert "s3cret" not in repr(s)
    ssl_ = SmtpSettings.from_env({"SMTP_HOST": "mail.acme.test", "SMTP_SSL": "1"})
    assert ssl_ is not None and (ssl_.port, ssl_.ssl) == (465, True)
    with pytest.raises(ValueError, match="choose one"):
        SmtpSettings.from_env({"SMTP_HOST": "h", "SMTP_SSL": "1", "SMTP_STARTTLS": "1"})
    with pytest.raises(ValueError, match="SMTP_PORT='x'"):
        SmtpSettings.from_env({"SMTP_HOST": "h", "SMTP_PORT": "x"})
