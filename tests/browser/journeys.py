"""Shared steps for the maintainer-journey browser tests: seed, sign in, screenshots, and
the 390 px check that no table is wider than its container."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from sqlalchemy import select

from bastion.clock import MovableClock
from bastion.packaging.models import Project, Role
from bastion.services import Services
from tests.support.factories import PASSWORD, make_add_release

# Screenshots of the main pages at both widths, for a person to look at.
SCREENSHOTS = Path(tempfile.gettempdir()) / "bastion-screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}

# Every table (and the page itself) fits its container: no sideways scrolling.
OVERFLOW_JS = """() => {
  const bad = [];
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1) bad.push(
      (t.id || t.className || 'table') + ' ' + t.scrollWidth + '>' + box.clientWidth);
    if (box.scrollWidth > box.clientWidth + 1) bad.push(
      'container of ' + (t.id || t.className || 'table') + ' scrolls');
  }
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) bad.push(
    'page ' + root.scrollWidth + '>' + root.clientWidth);
  return bad;
}"""


async def seed_project(
    services: Services,
    clock: MovableClock,
    name: str,
    versions: list[str],
    people: dict[Any, str],
) -> None:
    """A project with ``versions`` (one wheel each) and ``people`` {User: role}."""
    add = make_add_release(services, clock)
    for version in versions:
        await add(
            name,
            version,
            files=[f"{name}-{version}-py3-none-any.whl"],
            summary=f"The {name} project",
        )
    async with services.db.transaction() as session:
        project_id = await session.scalar(
            select(Project.id).where(Project.normalized_name == canonicalize_name(name))
        )
        for user, role in people.items():
            session.add(Role(user_id=user.id, project_id=project_id, role_name=role))


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/account/login/")
    # Sign-in puts the cursor in the username. Chromium applies autofocus in a task after
    # the page has loaded (later still on a busy machine): wait for it, bounded.
    focused = "document.activeElement && document.activeElement.name"
    try:
        await page.wait_for_function(f"({focused}) === 'username'", timeout=5000)
    except Exception:
        raise AssertionError(f"focus is on {await page.evaluate(focused)!r}") from None
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]:has-text('Sign in')")
    await page.wait_for_load_state()


async def fits(page: Any) -> list[str]:
    problems: list[str] = await page.evaluate(OVERFLOW_JS)
    return problems


async def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
