"""Emails: what each one says (in the customer's language) and how it leaves (SMTP or .eml files).

Rendering reads the member's state when the email is sent, plus the facts of the event that
asked for it (`emails.context`). Marketing emails (points earned, reminders) carry a one-click
unsubscribe (RFC 8058: `List-Unsubscribe` with an https URL and `List-Unsubscribe-Post`).
`render_reminder` is the reminder's content, for the scheduler.
"""
from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, select

from integration import links
from integration.config import EmailSettings, Settings
from integration.db import repo
from integration.db.tables import redemptions
from integration.i18n import Lang, choose
from integration.ports import LoyaltyError
from integration.summary import MemberSummary, code_line, member_summary

TEMPLATES = Path(__file__).parent / "web" / "templates" / "email"
MARKETING = frozenset({"points_earned", "reminder"})
SMTP_TIMEOUT_SECONDS = 15


class SendError(LoyaltyError):
    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    lang: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Content:
    """An email before layout: a subject, paragraphs, an optional highlighted line (a code) and button."""

    subject: str
    paragraphs: list[str]
    highlight: str | None = None
    button: tuple[str, str] | None = None  # (label, url)


# -- rendering ---------------------------------------------------------------------------------

def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


_ENV = _environment()


def language_for(summary: MemberSummary) -> Lang:
    return Lang(choose(summary.locale, summary.shop.locale))


def _hello(summary: MemberSummary, lang: Lang) -> str:
    if summary.first_name:
        return lang.gettext("Hi %(name)s,", name=summary.first_name)
    return lang.gettext("Hello,")


def _next_reward_line(summary: MemberSummary, lang: Lang) -> str | None:
    if summary.next_reward is None:
        return None
    return lang.gettext("%(points)s to go until %(reward)s.", points=lang.points(summary.next_reward.missing),
                        reward=summary.next_reward.name)


def _content(kind: str, summary: MemberSummary, lang: Lang, context: dict[str, Any], portal: str,
             conn: Connection, now: datetime) -> Content:
    shop, see = summary.shop.name, (lang.gettext("See your rewards"), portal)
    balance = lang.gettext("Your balance: %(points)s.", points=lang.points(summary.balance))
    if kind == "welcome":
        return Content(lang.gettext("Welcome to %(shop)s rewards", shop=shop), [
            _hello(summary, lang),
            lang.gettext("You have joined %(shop)s rewards and earned %(points)s as a welcome gift.",
                         shop=shop, points=lang.points(int(context["points"])))
            if context.get("points") else lang.gettext("You have joined %(shop)s rewards.", shop=shop),
            balance, *filter(None, [_next_reward_line(summary, lang)])], button=see)
    if kind == "points_earned":
        return Content(lang.gettext("You earned %(points)s", points=lang.points(int(context["points"]))), [
            _hello(summary, lang),
            lang.gettext("Thank you for order %(order)s: you earned %(points)s.", order=context.get("order_number"),
                         points=lang.points(int(context["points"]))),
            balance, *_claimable_lines(summary, lang)], button=see)
    if kind == "code_issued":
        row = conn.execute(select(redemptions).where(redemptions.c.id == context["redemption_id"])).one()
        code = code_line(row, summary.shop.platform, summary.shop.domain, now)
        lines = [_hello(summary, lang), lang.gettext("Here is your code for %(reward)s:", reward=code.reward_name)]
        if code.expires_at:
            lines.append(lang.gettext("Valid until %(date)s, once.", date=lang.date(code.expires_at)))
        button = (lang.gettext("Use it in the store"), code.url) if code.url else None
        if button is None:
            lines.append(lang.gettext("Enter the code at checkout."))
        return Content(lang.gettext("Your reward code: %(code)s", code=code.code), lines, code.code, button)
    if kind in ("membership_started", "membership_ending"):
        program = repo.current_program(conn, summary.shop.id)
        plan = next((p.name for p in program.plans if p.plan_id == context.get("plan_id")), context.get("plan_id", ""))
        ends = lang.date(datetime.fromisoformat(context["ends_at"]))
        if kind == "membership_started":
            return Content(lang.gettext("Your %(plan)s membership has started", plan=plan), [
                _hello(summary, lang), lang.gettext("Your membership is active until %(date)s.", date=ends)], button=see)
        return Content(lang.gettext("Your %(plan)s membership ends on %(date)s", plan=plan, date=ends), [
            _hello(summary, lang), lang.gettext("Renew before %(date)s to keep your benefits.", date=ends)], button=see)
    if kind == "membership_ended":
        program = repo.current_program(conn, summary.shop.id)
        plan = next((p.name for p in program.plans if p.plan_id == context.get("plan_id")), context.get("plan_id", ""))
        ends = lang.date(datetime.fromisoformat(context["ends_at"]))
        return Content(lang.gettext("Your %(plan)s membership has ended", plan=plan), [
            _hello(summary, lang), lang.gettext("Your membership ended on %(date)s.", date=ends),
            lang.gettext("Renew it any time to get your benefits back.")], button=see)
    if kind == "points_expiring":
        points, when = lang.points(int(context["points"])), lang.date(datetime.fromisoformat(context["expires_at"]))
        return Content(lang.gettext("%(points)s expire on %(date)s", points=points, date=when), [
            _hello(summary, lang), lang.gettext("%(points)s of your balance expire on %(date)s.", points=points, date=when),
            balance, *_claimable_lines(summary, lang)], button=see)
    if kind == "tier_ending":
        until = lang.date(datetime.fromisoformat(context["until"]))
        tier = context.get("tier") or ""
        return Content(lang.gettext("Keep your %(tier)s tier", tier=tier), [
            _hello(summary, lang), lang.gettext("Your %(tier)s tier lasts until %(date)s.", tier=tier, date=until),
            lang.gettext("Shop before then to keep it.")], button=see)
    if kind == "reminder":
        return reminder_content(summary, lang, portal)
    if kind == "portal_link":
        return Content(lang.gettext("Your %(shop)s rewards link", shop=shop), [
            _hello(summary, lang), lang.gettext("Here is a fresh link to your rewards page."), balance], button=see)
    raise ValueError(f"unknown email kind {kind!r}")


def _claimable_lines(summary: MemberSummary, lang: Lang) -> list[str]:
    lines = []
    if summary.claimable:
        lines.append(lang.gettext("You can claim now: %(rewards)s.",
                                  rewards=", ".join(r.name for r in summary.claimable)))
    if line := _next_reward_line(summary, lang):
        lines.append(line)
    return lines


def reminder_content(summary: MemberSummary, lang: Lang, portal: str) -> Content:
    lines = [_hello(summary, lang), lang.gettext("Your balance: %(points)s.", points=lang.points(summary.balance)),
             *_claimable_lines(summary, lang)]
    if summary.free_value > 0:
        lines.append(lang.gettext("Free so far with %(shop)s rewards: %(amount)s.", shop=summary.shop.name,
                                  amount=lang.money(summary.free_value, summary.shop.currency)))
    return Content(lang.gettext("You have %(points)s at %(shop)s", points=lang.points(summary.balance),
                                shop=summary.shop.name), lines, button=(lang.gettext("See your rewards"), portal))


def _layout(content: Content, lang: Lang, summary: MemberSummary, unsubscribe: str | None) -> Email:
    footer = lang.gettext("You get this email because you agreed to news from %(shop)s.",
                          shop=summary.shop.name) if unsubscribe else None
    unsubscribe_label = lang.gettext("Unsubscribe")
    html = _ENV.get_template("layout.html").render(content=content, lang=lang, footer=footer,
                                                   unsubscribe=unsubscribe, unsubscribe_label=unsubscribe_label)
    text_parts = [*content.paragraphs]
    if content.highlight:
        text_parts.insert(2, f"    {content.highlight}")
    if content.button:
        text_parts.append(f"{content.button[0]}: {content.button[1]}")
    if unsubscribe:
        text_parts += ["--", footer or "", f"{unsubscribe_label}: {unsubscribe}"]
    headers = {}
    if unsubscribe:
        headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Email(summary.email or "", content.subject, "\n\n".join(text_parts) + "\n", html, lang.code, headers)


def render(conn: Connection, settings: Settings, kind: str, shop_id: int, member_id: int,
           context: dict[str, Any], now: datetime, *, marketing: bool | None = None) -> Email:
    """The email of `kind` for the member as they are now (language, balance, links); a marketing
    email (by default: points earned, reminders) carries the one-click unsubscribe."""
    summary = member_summary(conn, shop_id, member_id, now, with_history=False)
    lang = language_for(summary)
    server = settings.server
    portal = links.portal_url(server.base_url, server.secret_key, shop_id, member_id, now)
    unsubscribe = links.unsubscribe_url(server.base_url, server.secret_key, shop_id, member_id) \
        if (kind in MARKETING if marketing is None else marketing) else None
    content = _with_referral_link(conn, settings, _content(kind, summary, lang, context, portal, conn, now), lang,
                                  shop_id, member_id)
    email = _layout(content, lang, summary, unsubscribe)
    return _with_sender(email, repo.current_program(conn, shop_id), summary.shop.name, settings.email.sender)


def _with_sender(email: Email, program: Any, shop_name: str, sender: str) -> Email:
    """From: the program's sender name (else the configured one, else the shop's) at the
    configured address (`email.sender`); Reply-To when the program sets one."""
    from dataclasses import replace
    from email.utils import parseaddr
    configured_name, address = parseaddr(sender)
    headers = {**email.headers, "From": formataddr((program.email_from_name or configured_name or shop_name, address))}
    if program.email_reply_to:
        headers["Reply-To"] = program.email_reply_to
    return replace(email, headers=headers)


def _with_referral_link(conn: Connection, settings: Settings, content: Content, lang: Lang, shop_id: int,
                        member_id: int) -> Content:
    """The member's referral link under the email's text, while the referral program runs."""
    from dataclasses import replace

    from integration import referrals
    program = repo.current_program(conn, shop_id)
    code = referrals.link_code(conn, shop_id, member_id)
    if code is None or not program.referrals.enabled:
        return content
    line = lang.gettext("Invite friends with your link: they get a welcome gift, you earn %(points)s when they order.",
                        points=lang.points(program.referrals.referrer_points))
    return replace(content, paragraphs=[*content.paragraphs, line, referrals.link_url(settings.server.base_url, code)])


def render_reminder(conn: Connection, settings: Settings, shop_id: int, member_id: int, now: datetime) -> Email:
    """The periodic reminder: balance, rewards claimable now, points to the next reward and the
    money's worth of rewards had so far, with the portal link and a one-click unsubscribe.
    Rendering does not check consent: queue it with `notifications.queue_reminder`, which does."""
    return render(conn, settings, "reminder", shop_id, member_id, {}, now, marketing=True)


# -- transports --------------------------------------------------------------------------------

def to_message(email: Email, sender: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.headers.get("From", sender)
    message["To"] = formataddr(("", email.to))
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    for name, value in email.headers.items():
        if name != "From":
            message[name] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    message["Content-Language"] = Lang(email.lang).html_lang  # after set_content, which drops Content-*
    return message


class FileTransport:
    """The embedded default: each email is a `.eml` file under `directory`, written atomically."""

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_") + ".eml"
        with tempfile.NamedTemporaryFile("wb", dir=self.directory, delete=False, suffix=".tmp") as handle:
            handle.write(bytes(message))
        os.replace(handle.name, self.directory / name)


class SmtpTransport:
    def __init__(self, settings: EmailSettings):
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as client:
                if s.smtp_starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    client.login(s.smtp_user, s.smtp_password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise SendError(f"recipient refused: {error.recipients}", retryable=False) from None
        except smtplib.SMTPResponseException as error:
            raise SendError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", retryable=error.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as error:
            raise SendError(f"SMTP: {error}", retryable=True) from None


def transport_for(settings: EmailSettings) -> FileTransport | SmtpTransport:
    return SmtpTransport(settings) if settings.transport == "smtp" else FileTransport(settings.directory)
