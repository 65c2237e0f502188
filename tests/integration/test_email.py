"""Emails through a real SMTP server on loopback (aiosmtpd): who gets what, once, with consent."""
from __future__ import annotations

import dataclasses
import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from integration.config import EmailSettings
from integration.db.tables import emails, members
from integration.mail import render_reminder
from integration.notifications import deliver_due_emails, queue_reminder
from tests.integration.portal_helpers import (
    LoopbackController,
    Sink,
    member_with_order,
    paid_order,
)

BASE_URL = "http://127.0.0.1:8000"  # server.base_url in the test settings


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    sink = Sink()
    controller = LoopbackController(sink, hostname="127.0.0.1", port=0)
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def mailed(service, smtp):  # type: ignore[no-untyped-def]
    """The service, sending through the SMTP sink."""
    sink, port = smtp
    service.runtime.settings = dataclasses.replace(service.runtime.settings, email=EmailSettings(
        transport="smtp", smtp_host="127.0.0.1", smtp_port=port, sender="Shop A <rewards@shop-a.example>"))
    return service, sink


def received(sink: Sink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(e.original_content, policy=policy.default) for e in sink.envelopes]


def body_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(("plain",)).get_content()


def send(service) -> int:  # type: ignore[no-untyped-def]
    return deliver_due_emails(service.runtime, service.runtime.clock())


def test_an_order_sends_welcome_and_points_earned_with_one_click_unsubscribe(mailed):
    service, sink = mailed
    # given a member who accepts marketing
    member_with_order(service, "250.00")
    # when
    assert send(service) == 2
    # then
    welcome, earned = received(sink)
    assert [e.rcpt_tos for e in sink.envelopes] == [["ann@example.com"], ["ann@example.com"]]
    assert sink.envelopes[0].mail_from == "rewards@shop-a.example"
    assert welcome["Subject"] == "Welcome to shop-a.example rewards"
    assert "earned 50 points as a welcome gift" in body_of(welcome)
    assert "List-Unsubscribe" not in welcome  # transactional
    assert earned["Subject"] == "You earned 250 points"
    text = body_of(earned)
    assert "Thank you for order #1001: you earned 250 points." in text
    assert "Your balance: 300 points." in text
    assert "You can claim now: $5 off, Free shipping." in text
    assert "200 points to go until $15 off." in text
    assert f"See your rewards: {BASE_URL}/portal/" in text
    assert earned["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/unsubscribe/")
    assert earned["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert earned.get_body(("html",)).get_content().count("/unsubscribe/") == 1


def test_a_retried_event_sends_one_email(mailed):
    service, sink = mailed
    member_with_order(service, "250.00")
    # when the store delivers the same order again (a new delivery id) and everything runs again
    service.deliver("order/paid", paid_order("1001", "c1", "250.00"))
    service.work()
    sent = send(service) + send(service)
    # then
    assert sent == 2
    assert [m["Subject"] for m in received(sink)] == ["Welcome to shop-a.example rewards", "You earned 250 points"]


def test_no_marketing_email_without_consent(mailed):
    service, sink = mailed
    member_with_order(service, "250.00", marketing=False)
    send(service)
    assert [m["Subject"] for m in received(sink)] == ["Welcome to shop-a.example rewards"]
    with service.runtime.db.read() as conn:
        skipped = conn.execute(select(emails.c.kind, emails.c.status, emails.c.last_error)
                               .where(emails.c.kind == "points_earned")).one()
    assert tuple(skipped) == ("points_earned", "skipped", "no marketing consent")


def test_one_click_unsubscribe_stops_marketing_emails(mailed):
    service, sink = mailed
    member_id = member_with_order(service, "250.00")
    send(service)
    link = received(sink)[1]["List-Unsubscribe"].strip().strip("<>")
    # when the mailbox provider posts the one-click body (RFC 8058)
    response = service.session.post(link.replace(BASE_URL, service.base_url),
                                     data="List-Unsubscribe=One-Click", timeout=10,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    service.deliver("order/paid", paid_order("1002", "c1", "20.00"))
    service.work()
    send(service)
    # then
    assert response.status_code == 200
    with service.runtime.db.read() as conn:
        assert conn.execute(select(members.c.unsubscribed).where(members.c.id == member_id)).scalar_one() is True
    assert len(sink.envelopes) == 2


def test_a_redeemed_code_is_emailed_once(mailed):
    service, sink = mailed
    member_id = member_with_order(service, "250.00", marketing=False)
    send(service)
    redemption = service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                             headers={"Idempotency-Key": "k1"}).json()
    service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"},
                headers={"Idempotency-Key": "k1"})
    assert send(service) == 1 and send(service) == 0
    message = received(sink)[-1]
    assert message["Subject"] == f"Your reward code: {redemption['code']}"
    text = body_of(message)
    assert "Here is your code for $5 off:" in text and "Valid until Mar 31, 2026, once." in text
    assert f"Use it in the store: https://shop-a.example/discount/{redemption['code']}" in text


def test_the_reminder_tells_balance_rewards_next_reward_and_what_was_free(service):
    # given 300 points, then $5 off redeemed (100 left)
    member_id = member_with_order(service, "250.00")
    service.api("POST", f"/members/{member_id}/redemptions", json={"reward_id": "r200"})
    # when
    with service.runtime.db.read() as conn:
        reminder = render_reminder(conn, service.runtime.settings, service.shop_id, member_id, service.runtime.clock())
    # then
    assert reminder.subject == "You have 100 points at shop-a.example"
    assert reminder.to == "ann@example.com"
    assert "Your balance: 100 points." in reminder.text
    assert "100 points to go until $5 off." in reminder.text
    assert "Free so far with shop-a.example rewards: $5.00." in reminder.text
    assert reminder.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_reminders_are_queued_once_per_period_and_only_with_consent(service):
    consenting = member_with_order(service, "250.00")
    declined = member_with_order(service, "10.00", customer="c2", order="1002", email="bob@example.com",
                                 marketing=False)
    now = service.runtime.clock()
    with service.runtime.db.write() as conn:
        first = queue_reminder(conn, service.shop_id, consenting, now, period="2026-03")
        again = queue_reminder(conn, service.shop_id, consenting, now, period="2026-03")
        queue_reminder(conn, service.shop_id, declined, now, period="2026-03")
    with service.runtime.db.read() as conn:
        rows = conn.execute(select(emails.c.member_id, emails.c.status).where(emails.c.kind == "reminder")
                            .order_by(emails.c.member_id)).all()
    assert first is not None and again is None
    assert [tuple(r) for r in rows] == [(consenting, "pending"), (declined, "skipped")]


def test_emails_speak_the_members_language(mailed):
    service, sink = mailed
    member_with_order(service, "250.00", locale="fr")
    send(service)
    _welcome, earned = received(sink)
    assert earned["Subject"] == "Vous avez gagné 250 points"
    assert "Votre solde : 300 points." in body_of(earned)
    assert earned["Content-Language"] == "fr"


def test_a_refused_smtp_connection_is_retried_later(service):
    service.runtime.settings = dataclasses.replace(service.runtime.settings, email=EmailSettings(
        transport="smtp", smtp_host="127.0.0.1", smtp_port=1))
    member_with_order(service, "250.00", marketing=False)
    assert send(service) == 1
    with service.runtime.db.read() as conn:
        row = conn.execute(select(emails).where(emails.c.kind == "welcome")).one()
    assert row.status == "pending" and row.attempts == 1 and "SMTP" in row.last_error
    assert send(service) == 0  # not due yet
    service.runtime.clock.now += timedelta(minutes=2)
    assert send(service) == 1


def test_the_file_transport_writes_eml_files(service, tmp_path: Path):
    service.runtime.settings = dataclasses.replace(service.runtime.settings, email=EmailSettings(
        transport="file", directory=str(tmp_path / "mail")))
    member_with_order(service, "250.00")
    send(service)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    subjects = sorted(email.message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"] for f in files)
    assert subjects == ["Welcome to shop-a.example rewards", "You earned 250 points"]


def test_a_bought_membership_is_announced_once(mailed):
    service, sink = mailed
    program = service.api("GET", "/program").json()
    program["plans"] = [{"plan_id": "vip", "name": "VIP Club", "product_ids": ["p-vip"], "period_months": 12}]
    service.api("PUT", "/program", json=program)
    body = paid_order("1001", "c1", "120.00", marketing=False).replace(
        b'"lines": []', b'"lines": [{"product_id": "p-vip", "amount": "120"}]')
    service.deliver("order/paid", body)
    service.deliver("order/paid", body)
    service.work()
    send(service)
    subjects = [m["Subject"] for m in received(sink)]
    assert subjects == ["Welcome to shop-a.example rewards", "Your VIP Club membership has started"]
    assert "Your membership is active until Mar 1, 2027." in body_of(received(sink)[1])


def test_the_schedulers_warnings_are_rendered(mailed):
    from integration.notifications import queue
    service, sink = mailed
    member_id = member_with_order(service, "250.00", marketing=False)
    send(service)
    with service.runtime.db.write() as conn:
        queue(conn, service.shop_id, member_id, "points_expiring", "expiring:1",
              {"points": 120, "expires_at": "2026-04-01T00:00:00+00:00"}, service.runtime.clock())
        queue(conn, service.shop_id, member_id, "membership_ended", "ended:1",
              {"plan_id": "vip", "ends_at": "2026-03-01T00:00:00+00:00"}, service.runtime.clock())
        queue(conn, service.shop_id, member_id, "tier_ending", "tier:1",
              {"tier": "Gold", "until": "2026-03-20T00:00:00+00:00"}, service.runtime.clock())
    assert send(service) == 3
    assert [m["Subject"] for m in received(sink)[1:]] == [
        "120 points expire on Apr 1, 2026", "Your vip membership has ended", "Keep your Gold tier"]
    assert "Your Gold tier lasts until Mar 20, 2026." in body_of(received(sink)[-1])


def test_the_program_names_the_sender_sets_reply_to_and_the_language(mailed, clock):  # type: ignore[no-untyped-def]
    from integration.db import repo
    from integration.program import program_to_dict
    from integration.redemption import update_program
    service, sink = mailed
    with service.runtime.db.write() as conn:
        program = program_to_dict(repo.current_program(conn, service.shop_id))
        update_program(conn, service.shop_id, dict(program, email_from_name="Ann's Shop",
                                                    email_reply_to="help@shop-a.example", language="fr"), clock())
    member_with_order(service, "20.00")
    send(service)
    welcome = received(sink)[0]
    sender = welcome["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Ann's Shop", "rewards@shop-a.example")
    assert welcome["Reply-To"] == "help@shop-a.example"
    assert welcome["Content-Language"] == "fr"
