"""The console's secrets, API tokens and schedules pages over the in-memory runtime: each
page and action, role refusals, workspace isolation, a secret's value never sent back,
a token shown once, and bad input answered as the form with a message at its field."""

from __future__ import annotations

import html
import re
from datetime import date
from itertools import pairwise
from typing import Any

from tests.api.workflows import ECHO
from tests.console.conftest import Console

SECRET_VALUE = "s3cr3t-Value-that-must-never-come-back"


def field_error(page: str, field: str) -> str:
    """The message shown beside a field, checking that the field points at it."""
    control = re.search(rf'<(?:input|textarea|select)\b[^>]*\bid="{field}"[^>]*>', page)
    assert control, f"no field {field}"
    assert 'aria-invalid="true"' in control.group(0)
    assert f"{field}-error" in control.group(0)  # aria-describedby names the message
    found = re.search(rf'<p class="field-error" id="{field}-error" role="alert">(.*?)</p>', page)
    assert found, f"no message beside {field}"
    return html.unescape(found.group(1))


def fire_times(page: str) -> list[str]:
    listed = re.search(r"<ol class=\"fire-times\" data-fire-times\s*>(.*?)</ol>", page, re.S)
    assert listed, "no fire times shown"
    return [html.unescape(text) for text in re.findall(r"<time [^>]*>([^<]*)</time>", listed[1])]


def schedule_id_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = str(response.headers["location"])
    assert location.endswith("?notice=schedule-created")
    return location.split("?")[0].rsplit("/", 1)[1]


def every_text(responses: list[Any]) -> str:
    return "\n".join(f"{r.headers}\n{r.text}" for r in responses)


# ---- Secrets ---------------------------------------------------------------------------


async def test_an_admin_creates_rotates_and_deletes_a_secret_without_its_value_coming_back(
    console: Console,
) -> None:
    await console.sign_in("a_admin")
    seen = [await console.client.get("/console/secrets")]
    assert "No secrets yet" in seen[0].text

    created = await console.post("/console/secrets", name="STRIPE_KEY", value=SECRET_VALUE)
    seen.append(created)
    assert created.status_code == 303
    assert created.headers["location"] == "/console/secrets?notice=secret-created"
    listing = await console.client.get(created.headers["location"])
    seen.append(listing)
    assert 'data-secret="STRIPE_KEY"' in listing.text
    assert "Its value will not be shown again" in listing.text

    # A refused form comes back without the value, in the field or anywhere else.
    taken = await console.post("/console/secrets", name="STRIPE_KEY", value=SECRET_VALUE + "2")
    seen.append(taken)
    assert taken.status_code == 409
    assert "rotate it instead" in field_error(taken.text, "secret-name")
    assert SECRET_VALUE + "2" not in taken.text

    rotated = await console.post("/console/secrets/STRIPE_KEY/rotate", value="next-" + SECRET_VALUE)
    seen.append(rotated)
    assert rotated.headers["location"] == "/console/secrets?notice=secret-rotated"
    seen.append(await console.client.get(rotated.headers["location"]))
    seen.append(await console.client.get("/api/v1/secrets"))

    asked = await console.client.get("/console/secrets/STRIPE_KEY/delete")
    seen.append(asked)
    assert "Delete the secret STRIPE_KEY?" in asked.text
    assert 'action="/console/secrets/STRIPE_KEY/delete"' in asked.text
    # Asking deletes nothing.
    assert 'data-secret="STRIPE_KEY"' in (await console.client.get("/console/secrets")).text
    deleted = await console.post("/console/secrets/STRIPE_KEY/delete")
    assert deleted.headers["location"] == "/console/secrets?notice=secret-deleted"
    after = await console.client.get("/console/secrets")
    seen.append(after)
    assert 'data-secret="STRIPE_KEY"' not in after.text
    assert (await console.client.get("/console/secrets/STRIPE_KEY/delete")).status_code == 404

    everything = every_text(seen)
    assert SECRET_VALUE not in everything
    assert "next-" + SECRET_VALUE not in everything


async def test_a_bad_secret_is_answered_as_the_form_with_the_message_at_its_field(
    console: Console,
) -> None:
    await console.sign_in("a_admin")
    bad_name = await console.post("/console/secrets", name="1-bad name", value=SECRET_VALUE)
    assert bad_name.status_code == 422
    assert "a letter or _" in field_error(bad_name.text, "secret-name")
    assert 'value="1-bad name"' in bad_name.text  # the name comes back to be corrected
    assert SECRET_VALUE not in bad_name.text

    no_value = await console.post("/console/secrets", name="EMPTY", value="")
    assert no_value.status_code == 422
    assert "Give the secret a value" in field_error(no_value.text, "secret-value")

    too_big = await console.post("/console/secrets", name="BIG", value="x" * (64 * 1024 + 1))
    assert too_big.status_code == 422
    assert "at most" in field_error(too_big.text, "secret-value")

    nul = await console.post("/console/secrets", name="NUL", value="a\x00b")
    assert nul.status_code == 422
    assert "NUL" in field_error(nul.text, "secret-value")

    empty_rotation = await console.post("/console/secrets", name="KEEP", value=SECRET_VALUE)
    assert empty_rotation.status_code == 303
    refused = await console.post("/console/secrets/KEEP/rotate", value="")
    assert refused.status_code == 422
    assert 'id="rotate-error" role="alert">Give the secret a value.' in refused.text
    assert SECRET_VALUE not in refused.text
    missing = await console.post("/console/secrets/NOPE/rotate", value="v")
    assert missing.status_code == 404


# ---- Tokens ----------------------------------------------------------------------------


async def test_a_new_token_is_shown_once_and_signs_in_with_its_role(console: Console) -> None:
    await console.sign_in("a_admin")
    created = await console.post("/console/tokens", name="ci-deploy", role="editor")
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    shown = re.findall(r"trd_[A-Za-z0-9_-]{20,}", created.text)
    assert len(shown) == 1, "the token appears exactly once on the page"
    token = shown[0]
    assert "you will not see it again" in created.text
    assert 'data-copy="new-token"' in created.text

    listing = await console.client.get("/console/tokens")
    assert token not in listing.text
    assert "ci-deploy" in listing.text and "editor" in listing.text

    console.tokens["new"] = token
    await console.sign_in("new")
    assert (await console.client.get("/console/workflows")).status_code == 200
    refused = await console.client.get("/console/tokens")
    assert refused.status_code == 403
    assert "admin role" in refused.text


async def test_revoking_a_token_asks_first_then_it_signs_in_no_more(console: Console) -> None:
    await console.sign_in("a_admin")
    created = await console.post("/console/tokens", name="old laptop", role="viewer")
    token = re.findall(r"trd_[A-Za-z0-9_-]{20,}", created.text)[0]
    token_id = re.findall(r'data-token="(tok_[^"]+)"', created.text)[0]
    assert "old laptop" in created.text.split(f'data-token="{token_id}"')[1].split("</tr>")[0]

    asked = await console.client.get(f"/console/tokens/{token_id}/revoke")
    assert asked.status_code == 200
    assert "Revoke the token &#39;old laptop&#39; (viewer)?" in asked.text
    revoked = await console.post(f"/console/tokens/{token_id}/revoke")
    assert revoked.headers["location"] == "/console/tokens?notice=token-revoked"
    listing = await console.client.get(revoked.headers["location"])
    row = listing.text.split(f'data-token="{token_id}"')[1].split("</tr>")[0]
    assert 'class="revoked"' in row.split(">", 1)[0]
    assert "Revoke…" not in row and "—" not in row  # a revocation date, and no button

    signing_in = await console.post("/console/sign-in", token=token)
    assert signing_in.status_code == 401


async def test_a_bad_token_form_is_answered_with_the_message_at_its_field(
    console: Console,
) -> None:
    await console.sign_in("a_admin")
    no_name = await console.post("/console/tokens", name="  ", role="viewer")
    assert no_name.status_code == 422
    assert "Give the token a name" in field_error(no_name.text, "token-name")
    bad_role = await console.post("/console/tokens", name="x", role="owner")
    assert bad_role.status_code == 422
    assert "Choose a role" in field_error(bad_role.text, "token-role")
    long_name = await console.post("/console/tokens", name="n" * 201, role="viewer")
    assert long_name.status_code == 422
    assert "at most 200" in field_error(long_name.text, "token-name")
    for refused in (no_name, bad_role, long_name):
        assert not re.search(r"trd_[A-Za-z0-9_-]{20,}", refused.text)
    assert (await console.client.get("/console/tokens/tok_missing/revoke")).status_code == 404


# ---- Roles and navigation --------------------------------------------------------------


async def test_only_admins_reach_secrets_and_tokens_or_see_their_links(console: Console) -> None:
    await console.sign_in("a_admin")
    admin_page = (await console.client.get("/console/schedules")).text
    assert 'href="/console/secrets"' in admin_page and 'href="/console/tokens"' in admin_page
    for who in ("a_editor", "a_viewer"):
        await console.sign_in(who)
        page = (await console.client.get("/console/schedules")).text
        assert 'href="/console/schedules"' in page
        assert 'href="/console/secrets"' not in page and 'href="/console/tokens"' not in page
        for path in ("/console/secrets", "/console/tokens"):
            refused = await console.client.get(path)
            assert refused.status_code == 403
            assert "Not allowed" in refused.text and "admin role" in refused.text
        posts = [
            await console.post("/console/secrets", name="SNEAKY", value=SECRET_VALUE),
            await console.post("/console/secrets/SNEAKY/rotate", value=SECRET_VALUE),
            await console.post("/console/secrets/SNEAKY/delete"),
            await console.post("/console/tokens", name="escalate", role="admin"),
        ]
        assert [response.status_code for response in posts] == [403] * 4
        assert SECRET_VALUE not in every_text(posts)
    await console.sign_in("a_admin")
    assert "SNEAKY" not in (await console.client.get("/console/secrets")).text
    assert "escalate" not in (await console.client.get("/console/tokens")).text


async def test_another_workspace_sees_none_of_it(console: Console) -> None:
    await console.sign_in("a_admin")
    await console.post("/console/secrets", name="A_ONLY", value=SECRET_VALUE)
    workflow_id = await console.workflow(ECHO)
    schedule_id = schedule_id_of(
        await console.post(
            "/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *", enabled="on"
        )
    )
    await console.sign_in("b_admin")
    assert "A_ONLY" not in (await console.client.get("/console/secrets")).text
    assert schedule_id not in (await console.client.get("/console/schedules")).text
    assert (await console.client.get(f"/console/schedules/{schedule_id}")).status_code == 404
    assert (await console.post(f"/console/schedules/{schedule_id}/disable")).status_code == 404
    taken = await console.post(
        "/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *", enabled="on"
    )
    assert taken.status_code == 422
    assert f"no workflow {workflow_id}" in field_error(taken.text, "workflow_id")


# ---- Schedules -------------------------------------------------------------------------


async def test_an_editor_creates_a_schedule_and_sees_its_next_five_fire_times(
    console: Console,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO, name="nightly report")
    form = await console.client.get(f"/console/schedules/new?workflow={workflow_id}")
    assert form.status_code == 200
    assert f'<option value="{workflow_id}" selected>nightly report</option>' in form.text
    assert len(fire_times(form.text)) == 5  # the default cron's times, before saving
    assert re.search(r'<input type="checkbox" name="enabled"\s+checked', form.text)

    schedule_id = schedule_id_of(
        await console.post(
            "/console/schedules/new",
            workflow_id=workflow_id,
            cron="30 9 * * *",
            timezone="Asia/Tokyo",
            input='{"report": "daily"}',
            overlap="skip",
            catch_up="on",
            enabled="on",
        )
    )
    page = await console.client.get(f"/console/schedules/{schedule_id}?notice=schedule-created")
    assert "Schedule created." in page.text
    times = fire_times(page.text)
    assert len(times) == 5
    # Read in Tokyo (no daylight saving time): 09:30 JST on five days in a row.
    assert all(text.endswith("09:30:00 JST") for text in times)
    days = [date.fromisoformat(text.split()[1]) for text in times]
    assert [(b - a).days for a, b in pairwise(days)] == [1, 1, 1, 1]
    assert "&#34;report&#34;: &#34;daily&#34;" in page.text  # the input, back in its field
    assert '<option value="skip" selected>' in page.text
    assert re.search(r'<input type="checkbox" name="catch_up"\s+checked', page.text)
    assert re.search(r'<input type="checkbox" name="enabled"\s+checked', page.text)

    listing = await console.client.get("/console/schedules")
    row = listing.text.split(f'data-schedule="{schedule_id}"')[1].split("</tr>")[0]
    assert f'href="/console/workflows/{workflow_id}">nightly report</a>' in row
    for shown in ("30 9 * * *", "Asia/Tokyo", 'data-enabled="yes"', "skip", times[0]):
        assert shown in row


async def test_a_schedule_is_edited_switched_off_and_on_and_deleted(console: Console) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    schedule_id = schedule_id_of(
        await console.post(
            "/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *", enabled="on"
        )
    )
    path = f"/console/schedules/{schedule_id}"
    saved = await console.post(
        path, cron="0 18 * * 1-5", timezone="Asia/Tokyo", input="", overlap="allow", enabled="on"
    )
    assert saved.headers["location"] == f"{path}?notice=schedule-saved"
    page = (await console.client.get(path)).text
    assert 'value="0 18 * * 1-5"' in page
    times = fire_times(page)
    assert len(times) == 5 and all(t.endswith("18:00:00 JST") for t in times)
    assert not any(t.startswith(("Sat", "Sun")) for t in times)

    off = await console.post(f"{path}/disable", back="list")
    assert off.headers["location"] == "/console/schedules?notice=schedule-disabled"
    listing = (await console.client.get(off.headers["location"])).text
    assert "Schedule disabled." in listing and 'data-enabled="no"' in listing
    on = await console.post(f"{path}/enable")
    assert on.headers["location"] == f"{path}?notice=schedule-enabled"
    assert 'data-enabled="yes"' in (await console.client.get(path)).text

    asked = await console.client.get(f"{path}/delete")
    assert "Delete the schedule &#39;0 18 * * 1-5&#39; (Asia/Tokyo)?" in asked.text
    gone = await console.post(f"{path}/delete")
    assert gone.headers["location"] == "/console/schedules?notice=schedule-deleted"
    assert (await console.client.get(path)).status_code == 404
    assert "No schedules yet" in (await console.client.get("/console/schedules")).text


async def test_a_viewer_reads_schedules_but_cannot_change_them(console: Console) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    schedule_id = schedule_id_of(
        await console.post(
            "/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *", enabled="on"
        )
    )
    await console.sign_in("a_viewer")
    listing = await console.client.get("/console/schedules")
    assert listing.status_code == 200 and schedule_id in listing.text
    assert "New schedule" not in listing.text and "/disable" not in listing.text
    page = await console.client.get(f"/console/schedules/{schedule_id}")
    assert page.status_code == 200 and len(fire_times(page.text)) == 5
    assert "<fieldset" in page.text and "disabled>" in page.text
    assert "Save schedule" not in page.text and "Delete…" not in page.text
    path = f"/console/schedules/{schedule_id}"
    refusals = [
        await console.client.get("/console/schedules/new"),
        await console.post("/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *"),
        await console.post(path, cron="0 10 * * *"),
        await console.post(f"{path}/disable"),
        await console.client.get(f"{path}/delete"),
        await console.post(f"{path}/delete"),
    ]
    assert [response.status_code for response in refusals] == [403] * 6
    assert "editor role" in refusals[0].text
    assert 'data-enabled="yes"' in (await console.client.get(path)).text


async def test_bad_schedule_input_comes_back_as_the_form_with_messages_at_the_fields(
    console: Console,
) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    cases = [
        ({"cron": "61 * * * *"}, "cron", "is not a cron expression"),
        ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({"cron": ""}, "cron", "Give a cron expression"),
        ({"cron": "* " * 150}, "cron", "at most 200 characters"),
        ({"cron": "0 9 * * *\x00"}, "cron", "NUL"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "is not an IANA time zone"),
        ({"input": "{not json"}, "input", "not valid JSON"),
        ({"overlap": "queue"}, "overlap", "allow or skip"),
        ({"workflow_id": ""}, "workflow_id", "Choose the workflow"),
        ({"workflow_id": "wf_missing"}, "workflow_id", "no workflow wf_missing"),
    ]
    for change, field, message in cases:
        fields = {"workflow_id": workflow_id, "cron": "0 9 * * *", "timezone": "UTC", **change}
        response = await console.post("/console/schedules/new", **fields)
        assert response.status_code == 422, (change, response.text[:300])
        assert message in field_error(response.text, field), change
        assert "was not saved" in response.text
    # The form keeps what was typed, so it can be corrected.
    kept = await console.post(
        "/console/schedules/new", workflow_id=workflow_id, cron="61 * * * *", input='{"a": 1'
    )
    assert 'value="61 * * * *"' in kept.text and "{&#34;a&#34;: 1</textarea>" in kept.text
    assert "No schedules yet" in (await console.client.get("/console/schedules")).text

    schedule_id = schedule_id_of(
        await console.post(
            "/console/schedules/new", workflow_id=workflow_id, cron="0 9 * * *", enabled="on"
        )
    )
    edit = await console.post(f"/console/schedules/{schedule_id}", cron="0 0 31 4 *", enabled="on")
    assert edit.status_code == 422
    assert "never fires" in field_error(edit.text, "cron")
    assert (
        'value="0 9 * * *"' in (await console.client.get(f"/console/schedules/{schedule_id}")).text
    )


async def test_preview_shows_the_times_without_saving(console: Console) -> None:
    await console.sign_in("a_editor")
    workflow_id = await console.workflow(ECHO)
    shown = await console.post(
        "/console/schedules/new",
        intent="preview",
        workflow_id=workflow_id,
        cron="15 7 * * *",
        timezone="Asia/Tokyo",
    )
    assert shown.status_code == 200
    times = fire_times(shown.text)
    assert len(times) == 5 and all(t.endswith("07:15:00 JST") for t in times)
    assert 'value="15 7 * * *"' in shown.text
    assert "No schedules yet" in (await console.client.get("/console/schedules")).text

    problem = await console.post(
        "/console/schedules/new", intent="preview", workflow_id=workflow_id, cron="nope"
    )
    assert problem.status_code == 200
    assert 'data-field="cron"' in problem.text and "is not a cron expression" in problem.text


async def test_the_preview_endpoint_answers_five_times_or_the_problem(console: Console) -> None:
    preview = "/console/schedules/preview"
    assert (await console.client.get(f"{preview}?cron=0+9+*+*+*")).status_code == 303
    await console.sign_in("a_viewer")
    good = await console.client.get(
        preview, params={"cron": "0 12 * * 1", "timezone": "Asia/Tokyo"}
    )
    assert good.status_code == 200
    answer = good.json()
    assert answer["problems"] == {} and answer["timezone"] == "Asia/Tokyo"
    assert [t["text"][:3] for t in answer["times"]] == ["Mon"] * 5
    assert all(t["iso"].endswith("T12:00:00+09:00") for t in answer["times"])

    blank_zone = await console.client.get(preview, params={"cron": "@daily", "timezone": ""})
    assert blank_zone.json()["times"][0]["text"].endswith("00:00:00 UTC")

    bad = await console.client.get(preview, params={"cron": "0 0 30 2 *", "timezone": "Nowhere"})
    assert bad.status_code == 422
    problems = bad.json()["problems"]
    assert "never fires" in problems["cron"] and "IANA" in problems["timezone"]
    assert bad.json()["times"] == []
    huge = await console.client.get(preview, params={"cron": "*" * 5000, "timezone": "x" * 5000})
    assert huge.status_code == 422 and len(huge.text) < 1000
