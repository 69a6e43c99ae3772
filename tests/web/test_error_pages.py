"""Disabled Yank/Delete with the reason for a maintainer without 2FA on a critical project,
and error pages (403, 404, 405, 422, 400) that keep the signed-in header, start with a
capital and make addresses links."""

from __future__ import annotations

from datetime import timedelta

from bastion.clock import today
from tests.support.index import Index
from tests.support.types import MakeUser
from tests.support.web import csrf_from, sign_in

SIGNED_IN = 'action="/account/logout/"'


async def test_mandate_turns_yank_and_delete_off_with_the_reason(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await index.make_critical("demo")
    index.services.settings = index.services.settings.model_copy(
        update={"mandate_enforced_from": today(index.services.clock) - timedelta(days=1)}
    )
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/demo/")
    assert page.status_code == 200
    assert 'id="actions-blocked"' in page.text
    assert "Yank and Delete are turned off for you." in page.text
    assert 'href="/account/two-factor/">Enable two-factor authentication</a>' in page.text
    assert 'disabled aria-describedby="actions-blocked">Yank</button>' in page.text
    assert 'disabled aria-describedby="actions-blocked">Delete project…</button>' in page.text
    release = await index.client.get("/manage/project/demo/release/1.0/")
    assert 'id="actions-blocked"' in release.text
    # A forced POST is still refused, and the refusal keeps the signed-in header.
    refused = await index.client.post(
        "/manage/project/demo/release/1.0/yank/",
        data={"csrf_token": csrf_from(page.text), "reason": "x"},
    )
    assert refused.status_code == 403 and SIGNED_IN in refused.text
    message = refused.text.split('id="error-message">', 1)[1].split("</p>", 1)[0]
    assert message.startswith("Project demo is critical")
    assert '<a href="http://testserver/account/two-factor/">' in message


async def test_with_two_factor_the_actions_stay_on(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/demo/")
    assert 'id="actions-blocked"' not in page.text and " disabled" not in page.text


async def test_error_pages_keep_the_signed_in_header(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    await sign_in(index.client, "alice")
    for path, status in (
        ("/project/nothing-here/", 404),
        ("/account/two-factor/keys/abc/remove/", 422),
        ("/search?q=x&page=zero", 400),
        ("/admin/", 403),
    ):
        response = await index.client.get(path)
        assert response.status_code == status, path
        assert SIGNED_IN in response.text, path
        assert "Sign in</a>" not in response.text, path
        message = response.text.split('id="error-message">', 1)[1]
        assert message[0].isupper(), (path, message[:40])
    token = csrf_from((await index.client.get("/account/")).text)
    posted = await index.client.post(
        "/account/two-factor/keys/abc/remove/", data={"csrf_token": token}
    )
    assert posted.status_code == 422 and SIGNED_IN in posted.text
    assert "text/html" in posted.headers["content-type"]


async def test_form_errors_sit_next_to_their_field(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    page = await index.client.get("/account/register/")
    response = await index.client.post(
        "/account/register/",
        data={
            "csrf_token": csrf_from(page.text),
            "username": "bob",
            "email": "bob@example.org",
            "password": "a long enough password 1",
            "password_confirm": "something else entirely",
        },
    )
    assert response.status_code == 400
    assert (
        'id="f-password_confirm" name="password_confirm" type="password" value="" '
        'autocomplete="new-password" required aria-invalid="true" '
        'aria-describedby="f-password_confirm-error"'
    ) in response.text
    assert '<p class="field-error" id="f-password_confirm-error">' in response.text
    assert '<a href="#f-password_confirm">' in response.text  # the summary links the field
    login = await index.client.get("/account/login/")
    assert 'autocomplete="username" required autofocus' in login.text


def test_error_field_picks_the_field_a_message_is_about() -> None:
    from bastion.web.templating import error_field

    fields = (("username", "username"), ("email", "email"), ("password", ""))
    assert error_field("That username is taken.", *fields) == "username"
    assert error_field("Not a valid email address.", *fields) == "email"
    assert error_field("Too short.", *fields) == "password"
    assert error_field(None, *fields) == ""
