"""Emails about collaborators, written as plain-text Jinja templates under
``templates/email/``: the first line is ``Subject: ...``, the rest the body.

One call per email (:func:`send_notice`), through the existing mail helper, so the lead
can move it into the accounts notices module without touching the routes' logic.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bastion.accounts.mail import send_or_log
from bastion.services import Services
from bastion.web.templating import TEMPLATES_DIR

# Plain-text .txt emails are not escaped (HTML escaping would mangle quotes); anything
# .html stays escaped.
_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    keep_trailing_newline=True,
)


def render_notice(template: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of ``email/<template>.txt``."""
    text = _env.get_template(f"email/{template}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"email/{template}.txt must start with 'Subject: '")
    return first.removeprefix("Subject: ").strip(), body.lstrip("\n")


async def send_notice(
    services: Services, to: str, user_id: int, template: str, **context: Any
) -> bool:
    """Render and send one notice; a mail server that cannot be reached is logged, not fatal."""
    subject, body = render_notice(
        template, site_name=services.settings.site_name,
        base_url=services.settings.base_url.rstrip("/"), **context,
    )
    return await send_or_log(services.mailer, to, subject, body, what=f"the {template} email",
                             user_id=user_id)
